// The JSON that eventing's HTTP APIs answer: the dead-letter API and its redrive, and a Trigger replay. Plain
// types with no imports, so that a browser page type-checked with the DOM library only (the dashboard's) can
// `import type` them from `@tributary/eventing/wire` rather than keep a copy. The server modules that produce
// them (deadletters/store.ts, deadletters/redrive.ts, log/types.ts, replay/route.ts) re-export them.

export type DeadLetterStatus = 'pending' | 'redriven';

/** One stored dead letter: the failed event and why it failed. */
export interface DeadLetter {
  id: string;
  namespace: string;
  broker: string;
  /** The event's `id`, `source`, `type`, `subject`. */
  eventId: string;
  source: string;
  type: string;
  subject: string | null;
  /** Every context attribute as received (string form), `knativeerror*` included. */
  attributes: Record<string, string>;
  /** `knativeerrordest`: the subscriber that failed. */
  errorDest: string | null;
  /** `knativeerrorcode`: its last HTTP status (absent on a timeout / connection error). */
  errorCode: number | null;
  /** `knativeerrordata`, base64-decoded: the start of the subscriber's response body. */
  errorData: string | null;
  dataContentType: string | null;
  /** The event's data bytes, base64. */
  dataBase64: string | null;
  /** The data as text when it is UTF-8 (JSON, text), for display. */
  dataText: string | null;
  /** How many times this event was dead-lettered to this destination. */
  times: number;
  firstReceivedAt: string;
  receivedAt: string;
  status: DeadLetterStatus;
  redrivenAt: string | null;
  redriveCount: number;
  lastRedriveStatus: number | null;
}

export type DeadLetterSummary = Omit<DeadLetter, 'attributes' | 'dataBase64' | 'dataText'>;

/** A page of `DeadLetterStore.list`: the newest dead letters that match, and how many match in all. */
export interface DeadLetterPage {
  items: DeadLetterSummary[];
  total: number;
}

export interface RedriveResult {
  id: string;
  ok: boolean;
  /** The ingress' status, when it answered. */
  status?: number | undefined;
  error?: string | undefined;
  /** Another redrive of this dead letter is running (it was not sent again). */
  inProgress?: true | undefined;
}

export interface RedriveAllResult {
  redriven: number;
  failed: number;
  results: RedriveResult[];
}

/** One partition of a replay: where the group was, where it restarts, and how much is delivered again. */
export interface PartitionReplay {
  partition: number;
  /** The group's committed position before the replay; null when it has none stored yet. */
  current: string | null;
  /**
   * Where the group restarts. Never after `current`: a replay only moves back, so a partition already
   * before `from` keeps its position and nothing is skipped.
   */
  target: string;
  /** Events between `target` and `current`, which are delivered again. */
  events: number;
}

export interface ReplayResult {
  groupId: string;
  partitions: PartitionReplay[];
  /**
   * How the new position was stored: `none` (a dry run, or nothing to move), `offsets` (the stored position
   * itself; a running subscriber picks it up), `seek` (Kafka: this process' running consumers sought and
   * committed it as members of the group).
   */
  applied: 'none' | 'offsets' | 'seek';
}

/** What `POST /-/replay/<namespace>/<trigger>` answers (replay/route.ts; `tributary replay` prints it). */
export interface ReplayResponse extends ReplayResult {
  trigger: string;
  broker: string;
  from: string;
  dryRun: boolean;
  /** Sum of `events` over the partitions. */
  events: number;
}
