// What the dead-letter API answers, as the page reads it. src/ui-contract.ts checks at compile time that these
// are exactly @tributary/eventing's types (the page is type-checked with the DOM library only, so it does not
// import the server's packages).

export type DeadLetterStatus = 'pending' | 'redriven';

export interface DeadLetter {
  id: string;
  namespace: string;
  broker: string;
  eventId: string;
  source: string;
  type: string;
  subject: string | null;
  attributes: Record<string, string>;
  errorDest: string | null;
  errorCode: number | null;
  errorData: string | null;
  dataContentType: string | null;
  dataBase64: string | null;
  dataText: string | null;
  times: number;
  firstReceivedAt: string;
  receivedAt: string;
  status: DeadLetterStatus;
  redrivenAt: string | null;
  redriveCount: number;
  lastRedriveStatus: number | null;
}

export type DeadLetterSummary = Omit<DeadLetter, 'attributes' | 'dataBase64' | 'dataText'>;

export interface DeadLetterPage {
  items: DeadLetterSummary[];
  total: number;
}

export interface RedriveResult {
  id: string;
  ok: boolean;
  status?: number | undefined;
  error?: string | undefined;
  inProgress?: true | undefined;
}

export interface RedriveAllResult {
  redriven: number;
  failed: number;
  results: RedriveResult[];
}

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

/** One partition of a replay plan (@tributary/eventing's `PartitionReplay`). */
export interface ReplayPartition {
  partition: number;
  current: string | null;
  target: string;
  events: number;
}

/** What `POST /api/replay/<namespace>/<trigger>` answers (@tributary/eventing's `ReplayResponse`). */
export interface ReplayPlan {
  groupId: string;
  partitions: ReplayPartition[];
  applied: 'none' | 'offsets' | 'seek';
  trigger: string;
  broker: string;
  from: string;
  dryRun: boolean;
  events: number;
}

/** What `GET /api/replay/triggers` answers (src/replay.ts' `ReplayTriggerList`). */
export interface ReplayTriggerList {
  available: boolean;
  triggers: { namespace: string; name: string; broker: string }[];
}

/** A backfill's state (@tributary/db-events' `BackfillState`). */
export type BackfillState = 'pending' | 'running' | 'completed' | 'cancelled' | 'failed';

/** One of db-events' table backfills (src/backfills.ts' `BackfillView`). */
export interface BackfillView {
  id: string;
  table: string;
  where: string | null;
  chunkSize: number;
  state: BackfillState;
  rowsDone: number;
  events: number;
  totalEstimate: number | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  updatedAt: string;
  finishedAt: string | null;
}

/** What `GET /api/backfills` answers (src/backfills.ts' `BackfillList`). */
export interface BackfillList {
  available: boolean;
  backfills: BackfillView[];
}

/** What `POST /api/backfills/<id>/cancel` answers when it cancelled (src/backfills.ts' `BackfillCancelled`). */
export interface BackfillCancelled {
  ok: true;
  id: string;
  state: 'cancelled';
}
