// Compile-time check that the page's view of the dashboard server's own answers (src/ui/wire.ts) is what the
// server sends: a change to `eventJson`, to the replay panel's Trigger list or to the backfills API (and
// db-events' backfill states) that the page does not follow fails `tsc`. (The dead-letter and replay bodies
// need no check: the page imports them from @tributary/eventing/wire.)
import type { BackfillState } from '@tributary/db-events';
import type { eventJson } from './app.js';
import type { BackfillCancelled, BackfillList, BackfillView } from './backfills.js';
import type { ReplayTriggerList } from './replay.js';
import type * as Wire from './ui/wire.js';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

export type UiContract = [
  Assert<ReturnType<typeof eventJson> extends Omit<Wire.TailEvent, 'attributes'> ? true : false>,
  Assert<Same<Wire.ReplayTriggerList, ReplayTriggerList>>,
  Assert<Same<Wire.BackfillState, BackfillState>>,
  Assert<Same<Wire.BackfillView, BackfillView>>,
  Assert<Same<Wire.BackfillList, BackfillList>>,
  Assert<Same<Wire.BackfillCancelled, BackfillCancelled>>,
];
