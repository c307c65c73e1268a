// What the dashboard's API answers, as the page reads it. The dead-letter, redrive and replay bodies are
// @tributary/eventing's own types (`@tributary/eventing/wire` has no imports, so the page, type-checked with the
// DOM library only, can import it; esbuild erases `import type`); so are the backfills API's (src/backfills-wire.ts).
// The shapes below are the dashboard server's own; src/ui-contract.ts checks at compile time that they are what it
// sends.

export type {
  DeadLetter,
  DeadLetterPage,
  RedriveAllResult,
  RedriveResult,
  ReplayResponse as ReplayPlan,
} from '@tributary/eventing/wire';

/** A live-tail event (`event: cloudevent` on /api/tail), as app.ts's `eventJson` writes it. */
export interface TailEvent {
  attributes: Record<string, unknown> & {
    id: string;
    type: string;
    source: string;
    time?: string;
    subject?: string;
  };
  data: unknown;
  dataBase64?: string;
  redacted?: number;
}

/** What `GET /api/replay/triggers` answers (src/replay.ts' `ReplayTriggerList`). */
export interface ReplayTriggerList {
  available: boolean;
  triggers: { namespace: string; name: string; broker: string }[];
}

export type { BackfillCancelled, BackfillList, BackfillState, BackfillView } from '../backfills-wire.js';
