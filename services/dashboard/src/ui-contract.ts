// Compile-time check that the page's view of the API (src/ui/wire.ts) is what the server sends: a change to
// @tributary/eventing's dead-letter or replay types, to `eventJson` or to the replay panel's Trigger list that
// the page does not follow fails `tsc`.
import type {
  DeadLetter,
  DeadLetterStatus,
  DeadLetterStore,
  RedriveAllResult,
  RedriveResult,
  ReplayResponse,
} from '@tributary/eventing';
import type { eventJson } from './app.js';
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
];
