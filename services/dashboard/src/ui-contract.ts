// Compile-time check that the page's view of the dashboard server's own answers (src/ui/wire.ts) is what the
// server sends: a change to `eventJson`, to the replay panel's Trigger list or to db-events' backfill states that
// the page does not follow fails `tsc`. (The dead-letter, replay and backfills bodies need no check: the page
// imports them from @tributary/eventing/wire and src/backfills-wire.ts, as the server does.)
import type { BackfillState } from '@tributary/db-events';
import type { eventJson } from './app.js';
import type { ReplayTriggerList } from './replay.js';
import type * as Wire from './ui/wire.js';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

export type UiContract = [
  Assert<ReturnType<typeof eventJson> extends Omit<Wire.TailEvent, 'attributes'> ? true : false>,
  Assert<Same<Wire.ReplayTriggerList, ReplayTriggerList>>,
  Assert<Same<Wire.BackfillState, BackfillState>>,
];
