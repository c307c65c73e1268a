// Compile-time check that the page's view of the dashboard server's own answers (src/ui/wire.ts) is what the
// server sends: a change to `eventJson` or to the replay panel's Trigger list that the page does not follow fails
// `tsc`. (The dead-letter and replay bodies need no check: the page imports them from @tributary/eventing/wire.)
import type { eventJson } from './app.js';
import type { ReplayTriggerList } from './replay.js';
import type * as Wire from './ui/wire.js';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

export type UiContract = [
  Assert<ReturnType<typeof eventJson> extends Omit<Wire.TailEvent, 'attributes'> ? true : false>,
  Assert<Same<Wire.ReplayTriggerList, ReplayTriggerList>>,
];
