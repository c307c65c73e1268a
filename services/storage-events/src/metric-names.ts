// storage-events' metric vocabulary (docs/METRICS.md), exported as `@tributary/storage-events/metrics`: the
// names, types and labels app.ts registers (metric-names.test.ts checks they agree).
// Type-only imports: importing these names loads nothing else.
import type { MetricDef } from '@tributary/shared';

export const STORAGE_EVENTS_METRICS = {
  received: { name: 'storage_events_notifications_received_total', type: 'counter', labels: [] },
  /** By reason: unauthorized, invalid_body, publish_failed, unpublishable. */
  rejected: { name: 'storage_events_notifications_rejected_total', type: 'counter', labels: ['reason'] },
  published: { name: 'storage_events_events_published_total', type: 'counter', labels: ['type'] },
  publishDuration: {
    name: 'storage_events_publish_duration_seconds',
    type: 'histogram',
    labels: ['outcome'],
  },
  /** By reason: refused, unmappable. */
  deadLetters: { name: 'storage_events_dead_letters_total', type: 'counter', labels: ['reason'] },
} as const satisfies Record<string, MetricDef>;
