// Compile-time check that the page's view of the API (src/ui/wire.ts) is what the server sends: a change to
// @tributary/eventing's dead-letter or replay types, to `eventJson`, to the replay panel's Trigger list or to
// the backfills API (and db-events' backfill states) that the page does not follow fails `tsc`.
import type { BackfillState } from '@tributary/db-events';
import type {
  DeadLetter,
  DeadLetterStatus,
  DeadLetterStore,
  RedriveAllResult,
  RedriveResult,
  ReplayResponse,
} from '@tributary/eventing';
import type { eventJson } from './app.js';
import type { BackfillCancelled, BackfillList, BackfillView } from './backfills.js';
import type { ReplayTriggerList } from './replay.js';
import type * as Wire from './ui/wire.js';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

export type UiContract = [
  Assert<Same<Wire.DeadLetter, DeadLetter>>,
  Assert<Same<Wire.DeadLetterStatus, DeadLetterStatus>>,
  Assert<Same<Wire.DeadLetterPage, Awaited<ReturnType<DeadLetterStore['list']>>>>,
  Assert<Same<Wire.RedriveResult, RedriveResult>>,
  Assert<Same<Wire.RedriveAllResult, RedriveAllResult>>,
  Assert<ReturnType<typeof eventJson> extends Omit<Wire.TailEvent, 'attributes'> ? true : false>,
  Assert<Same<Wire.ReplayPlan, ReplayResponse>>,
  Assert<Same<Wire.ReplayTriggerList, ReplayTriggerList>>,
  Assert<Same<Wire.BackfillState, BackfillState>>,
  Assert<Same<Wire.BackfillView, BackfillView>>,
  Assert<Same<Wire.BackfillList, BackfillList>>,
  Assert<Same<Wire.BackfillCancelled, BackfillCancelled>>,
];
