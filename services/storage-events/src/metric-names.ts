// storage-events' metric vocabulary (docs/METRICS.md), exported as `@tributary/storage-events/metrics`: the
// names, types and labels app.ts registers (metric-names.test.ts checks they agree).
import { metric } from '@tributary/shared';

export const STORAGE_EVENTS_METRICS = {
  received: metric('storage_events_notifications_received_total', 'counter'),
  /** By reason: unauthorized, invalid_body, publish_failed, unpublishable. */
  rejected: metric('storage_events_notifications_rejected_total', 'counter', ['reason']),
  published: metric('storage_events_events_published_total', 'counter', ['type']),
  publishDuration: metric('storage_events_publish_duration_seconds', 'histogram', ['outcome']),
  /** By reason: refused, unmappable. */
  deadLetters: metric('storage_events_dead_letters_total', 'counter', ['reason']),
} as const;
