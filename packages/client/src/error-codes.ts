/**
 * The error catalogue (after fastify's `FST_ERR_*` list): every code a Tributary error or error body may carry,
 * with the HTTP status it is answered with, whether retrying can help, and what it means. A code that is not
 * here does not compile (`ErrorCode`), and `docs/ERRORS.md` is generated from this list
 * (`pnpm --filter @tributary/client errors:doc`; a test fails when the two disagree).
 *
 * `status` is the default status of a `TributaryError` with that code (a site may give a more exact one, e.g.
 * `PUBLISH_REJECTED` carries the sink's own 4xx). `retriable` is the default of `TributaryError.retriable`,
 * which maps straight to the broker's retry decision and to the reconnect loops' "retry or give up".
 */
export interface ErrorCodeInfo {
  /** HTTP status when the error reaches a server boundary. */
  readonly status: number;
  /** True when retrying the same operation later may succeed. */
  readonly retriable: boolean;
  /** One line: what went wrong and, where it helps, what to do. */
  readonly meaning: string;
}

/** Grouped by area, as `docs/ERRORS.md` lists them. */
export const ERROR_AREAS = {
  'HTTP requests (every service)': {
    BAD_REQUEST: {
      status: 400,
      retriable: false,
      meaning: 'the request was refused for a reason that has no code of its own; the message says which',
    },
    INVALID_INPUT: {
      status: 400,
      retriable: false,
      meaning: 'a value in the request is out of range, too large, or holds characters that cannot be stored',
    },
    INVALID_JSON: { status: 400, retriable: false, meaning: 'the request body is not valid JSON' },
    JSON_TOO_DEEP: {
      status: 400,
      retriable: false,
      meaning: 'the JSON body nests deeper than the limit (256 levels by default)',
    },
    NUL_IN_URL: { status: 400, retriable: false, meaning: 'the URL contains a NUL byte (%00)' },
    UNAUTHORIZED: {
      status: 401,
      retriable: false,
      meaning:
        'credentials (a Bearer JWT, an operator session, a Standard Webhooks signature) are missing, malformed, expired, replayed or do not verify',
    },
    TOKEN_REQUIRED: {
      status: 400,
      retriable: false,
      meaning: 'dashboard sign-in needs a body `{"token": "<operator JWT>"}`',
    },
    FORBIDDEN: {
      status: 403,
      retriable: false,
      meaning: 'the credentials are valid but lack a role allowed here',
    },
    CROSS_ORIGIN: {
      status: 403,
      retriable: false,
      meaning: 'a state-changing dashboard request that does not come from the dashboard itself',
    },
    METHOD_NOT_ALLOWED: {
      status: 405,
      retriable: false,
      meaning: 'wrong HTTP method; `Allow` lists the right ones',
    },
    PAYLOAD_TOO_LARGE: {
      status: 413,
      retriable: false,
      meaning: 'the body is over the size limit (1 MiB by default)',
    },
    UNSUPPORTED_MEDIA_TYPE: {
      status: 415,
      retriable: false,
      meaning: 'the server takes no body of that `Content-Type`',
    },
    JSON_REQUIRED: {
      status: 415,
      retriable: false,
      meaning: 'the dashboard takes state changes only as `application/json`',
    },
    INTERNAL: {
      status: 500,
      retriable: true,
      meaning: 'an unexpected failure; the details are in the server log, never in the response',
    },
    NOT_READY: {
      status: 503,
      retriable: true,
      meaning: 'a component was used before it finished starting; try again shortly',
    },
  },
  'Events and the catalog': {
    CLOUDEVENT_DECODE: {
      status: 400,
      retriable: false,
      meaning:
        'not a valid CloudEvents 1.0 event (message, batch or attributes); `issues` lists every problem',
    },
    EVENT_SCHEMA: {
      status: 400,
      retriable: false,
      meaning:
        "the event's data does not match the schema of its type (the catalog's, or the function's own)",
    },
    EVENT_TYPE_REGISTERED: {
      status: 409,
      retriable: false,
      meaning: 'the event type already has a schema in the catalog; pass `{ replace: true }` to replace it',
    },
    TTL_EXPIRED: {
      status: 400,
      retriable: false,
      meaning: "the event's `knativebrokerttl` reached 0: it went round the broker too often (a reply loop?)",
    },
  },
  'Broker and its log': {
    BROKER_NOT_FOUND: {
      status: 404,
      retriable: false,
      meaning: 'no Broker `<namespace>/<name>` is configured',
    },
    PARTITION_NOT_FOUND: { status: 404, retriable: false, meaning: 'the broker log has no such partition' },
    LOG_UNAVAILABLE: {
      status: 503,
      retriable: true,
      meaning: 'the broker log (Kafka or Postgres) cannot take the operation now',
    },
    LOG_TIMEOUT: {
      status: 503,
      retriable: true,
      meaning: 'the broker log did not acknowledge in time (10 s by default)',
    },
    LOG_CLOSED: {
      status: 503,
      retriable: true,
      meaning: 'the broker log is shutting down; another replica may take it',
    },
    LOG_WRITE_FAILED: {
      status: 500,
      retriable: false,
      meaning: 'the broker log refused the write for a reason retrying cannot fix',
    },
    TAIL_FILTER_INVALID: {
      status: 400,
      retriable: false,
      meaning: 'the tail filter is not a valid CESQL expression',
    },
    BROKER_REQUIRED: {
      status: 400,
      retriable: false,
      meaning: 'the request must name a namespace and a broker',
    },
    INVALID_REVEAL: { status: 400, retriable: false, meaning: '`reveal` takes one value: `secrets`' },
    NO_LOG: { status: 503, retriable: false, meaning: 'the dashboard has no broker log configured' },
  },
  'Resources, Triggers and serving': {
    RESOURCES_INVALID: {
      status: 400,
      retriable: false,
      meaning: 'a Broker, Trigger or Knative Service YAML is invalid; the message names the file and field',
    },
    DESTINATION_UNRESOLVABLE: {
      status: 400,
      retriable: false,
      meaning: 'a subscriber or dead-letter sink cannot be resolved to a URL',
    },
    UNKNOWN_SERVICE: {
      status: 404,
      retriable: false,
      meaning: 'the local activator serves no Knative Service of that name',
    },
  },
  'Dead letters': {
    DEAD_LETTER_NOT_FOUND: { status: 404, retriable: false, meaning: 'no dead letter with that id' },
    DEAD_LETTER_UNSTORABLE: {
      status: 400,
      retriable: false,
      meaning:
        'Postgres cannot store this dead letter as it is (a value too large, or characters it refuses)',
    },
    DEAD_LETTER_STORE_UNAVAILABLE: {
      status: 503,
      retriable: true,
      meaning: 'the dead-letter store (Postgres) cannot take the write now',
    },
    DEAD_LETTER_SINK_FAILED: {
      status: 503,
      retriable: true,
      meaning: 'the dead-letter sink did not accept the dead letter',
    },
    REDRIVE_NOT_CONFIGURED: {
      status: 409,
      retriable: false,
      meaning: 'no broker ingress URL is configured, so dead letters cannot be redriven',
    },
    NO_DEAD_LETTER_STORE: {
      status: 503,
      retriable: false,
      meaning: 'the dashboard has no dead-letter store (no `DATABASE_URL`)',
    },
  },
  'Backfill and replay': {
    BACKFILL_TABLE_NOT_FOUND: {
      status: 400,
      retriable: false,
      meaning: 'the table to backfill does not exist',
    },
    BACKFILL_NO_PRIMARY_KEY: {
      status: 400,
      retriable: false,
      meaning: 'the table has no primary key: a backfill pages through a table by its key',
    },
    BACKFILL_KEY_NOT_ORDERABLE: {
      status: 400,
      retriable: false,
      meaning: "a key column's type has no default btree operator class, so its values have no total order",
    },
    BACKFILL_TABLE_NOT_PUBLISHED: {
      status: 400,
      retriable: false,
      meaning: "the table is not in db-events' publication, so its changes during a chunk would not be seen",
    },
    BACKFILL_REPLICA_IDENTITY: {
      status: 400,
      retriable: false,
      meaning:
        'REPLICA IDENTITY NOTHING, or an identity index without the key columns: deletes would not name the key',
    },
    BACKFILL_KEY_CHANGED: {
      status: 400,
      retriable: false,
      meaning: "the table's primary key changed between the backfill's start and its resumption",
    },
    BACKFILL_INVALID_WHERE: {
      status: 400,
      retriable: false,
      meaning: 'the backfill WHERE condition does not parse or names unknown columns',
    },
    BACKFILL_SESSION_ENDED: {
      status: 503,
      retriable: true,
      meaning: 'the replication session ended during a backfill chunk; the chunk is read again',
    },
    BACKFILL_NOT_FOUND: { status: 404, retriable: false, meaning: 'no backfill with that id' },
    BACKFILL_NOT_ACTIVE: {
      status: 409,
      retriable: false,
      meaning:
        'the backfill already finished, failed or was cancelled; only pending or running ones can be cancelled',
    },
    BACKFILLS_UNAVAILABLE: {
      status: 404,
      retriable: false,
      meaning: 'the dashboard has no DATABASE_URL, so it cannot reach db-events backfills',
    },
    TRIGGER_NOT_FOUND: {
      status: 404,
      retriable: false,
      meaning: 'no Trigger `<namespace>/<name>` on this broker',
    },
    GROUP_ACTIVE: {
      status: 409,
      retriable: true,
      meaning:
        "the Trigger's consumer group has members in another process; replay through the broker that runs it, or stop them",
    },
  },
  'Publishing (the client SDK)': {
    PUBLISH_REJECTED: {
      status: 400,
      retriable: false,
      meaning:
        'the sink refused the event(s) for good (400, 401, 403, 413, ...); `status` and `body` say why',
    },
    PUBLISH_FAILED: {
      status: 503,
      retriable: true,
      meaning: 'every attempt failed with a retryable outcome; publishing again later may succeed',
    },
    PUBLISH_TIMEOUT: { status: 503, retriable: true, meaning: 'the sink did not answer within the timeout' },
  },
  Functions: {
    NON_RETRIABLE: {
      status: 400,
      retriable: false,
      meaning: 'the function refused the event for good (`NonRetriableError`); the broker does not retry it',
    },
    HANDLER_ERROR: {
      status: 500,
      retriable: true,
      meaning: "the function's handler threw; the broker retries as the Trigger's delivery says",
    },
    FUNCTION_BAD_EXPORT: {
      status: 500,
      retriable: false,
      meaning:
        'the function module does not export `handle(context, event)`, or `init`/`shutdown`/`schema` are wrong',
    },
  },
  'Services: configuration and dependencies': {
    CONFIG_INVALID: {
      status: 500,
      retriable: false,
      meaning: 'invalid configuration found at start-up; the message names the variable or option',
    },
    METRICS_SOURCE_FAILED: {
      status: 502,
      retriable: true,
      meaning:
        "a metrics source the dashboard reads (Prometheus, an activator, a service `/metrics`) failed or answered an error; the page shows it as that source's status",
    },
    KAFKA_INCOMPATIBLE: {
      status: 500,
      retriable: false,
      meaning: 'a Kafka broker needs a newer API version than kafkajs sends; the message names the API',
    },
    REPLICATION_SLOT_MISMATCH: {
      status: 500,
      retriable: false,
      meaning:
        'the replication slot exists with another output plugin or on another database; drop it or set DB_EVENTS_SLOT',
    },
    REPLICATION_DECODE: {
      status: 500,
      retriable: true,
      meaning:
        'a replication message could not be decoded; db-events reconnects and resumes from the last acknowledged commit',
    },
    PG_INCOMPATIBLE: {
      status: 500,
      retriable: false,
      meaning:
        "the installed pg (node-postgres) lacks the private Client#connection that logical replication uses; install the workspace's pg",
    },
    INVALID_LSN: { status: 400, retriable: false, meaning: 'not a Postgres LSN of the form `16/B374D848`' },
    CLAIMS_QUERY_FAILED: {
      status: 503,
      retriable: true,
      meaning: 'the custom-claims query failed or took too long (auth-hooks)',
    },
    HOOK_ERROR: {
      status: 500,
      retriable: true,
      meaning: 'an auth hook failed; Auth reports it as a hook failure',
    },
    STORAGE_BUCKET_MISSING: {
      status: 503,
      retriable: true,
      meaning: 'a bucket named in STORAGE_EVENTS_BUCKETS does not exist (yet); setup retries',
    },
    STORAGE_SETUP_FAILED: {
      status: 503,
      retriable: true,
      meaning: "MinIO refused reading or writing a bucket's notification configuration",
    },
  },
  'CLI: deploy and Kubernetes': {
    MANIFEST_INVALID: {
      status: 400,
      retriable: false,
      meaning: 'a manifest to deploy cannot be read, renders no objects, or is not a valid Kubernetes object',
    },
    KUBECONFIG_MISSING: {
      status: 500,
      retriable: false,
      meaning: 'no kubeconfig found (KUBECONFIG, ~/.kube/config, or in-cluster)',
    },
    KUBECONFIG_CONTEXT: {
      status: 500,
      retriable: false,
      meaning: 'the kubeconfig has no such context, or no current cluster',
    },
    KUSTOMIZE_UNAVAILABLE: {
      status: 500,
      retriable: false,
      meaning: 'kustomize is neither on PATH nor installable',
    },
    KUSTOMIZE_BUILD_FAILED: {
      status: 500,
      retriable: false,
      meaning: '`kustomize build` failed; the message has its output',
    },
    KUBERNETES_API: {
      status: 502,
      retriable: true,
      meaning: 'the Kubernetes API failed or refused the request (retriable on 5xx and 429)',
    },
    PREREQUISITES_MISSING: {
      status: 500,
      retriable: false,
      meaning: 'the cluster lacks a kind or namespace the manifests need; the message says what installs it',
    },
    SECRETS_MISSING: {
      status: 500,
      retriable: false,
      meaning: 'a Secret the manifests refer to does not exist; `tributary keys` creates them',
    },
  },
  'CLI: dev': {
    CLI_PACKAGE_MISSING: {
      status: 500,
      retriable: false,
      meaning:
        'a package the CLI starts is not installed next to it; reinstall the CLI, or `pnpm install` in a clone',
    },
    CLI_PACKAGE_NOT_BUILT: {
      status: 500,
      retriable: false,
      meaning:
        'a package the CLI starts is not built; `pnpm build` (in a clone, `pnpm tributary dev` builds what is stale)',
    },
  },
  'Embedded servers (`tributary dev` and the test harness)': {
    EMBEDDED_TOOL_MISSING: {
      status: 500,
      retriable: false,
      meaning:
        'a tool needed to build or run a local server (java, mvn, go, etcd, openssl) is not installed; the message names what to install',
    },
    EMBEDDED_BUILD_FAILED: {
      status: 500,
      retriable: true,
      meaning:
        'downloading or building a local server (Kafka, MinIO, Prometheus, kube-apiserver) failed; the message ends with its output',
    },
    EMBEDDED_START_FAILED: {
      status: 500,
      retriable: false,
      meaning:
        'a local server exited or was not ready in time, or could not be prepared (data dir, certificates, OS user); the message ends with its log',
    },
  },
  'CLI: validate': {
    CLI_NOTHING_TO_VALIDATE: {
      status: 400,
      retriable: false,
      meaning:
        'no paths given and the working directory has no eventing/config or services/functions/*/trigger.yaml; run it in the project folder or name what to check',
    },
  },
} as const satisfies Record<string, Record<string, ErrorCodeInfo>>;

type Areas = typeof ERROR_AREAS;
/** Every error code there is; a string outside this union does not compile as a code. */
export type ErrorCode = { [A in keyof Areas]: keyof Areas[A] }[keyof Areas] & string;

/** The catalogue, flat: code -> status, retriable, meaning. */
export const ERROR_CODES: Readonly<Record<ErrorCode, ErrorCodeInfo>> = Object.freeze(
  Object.assign({}, ...Object.values(ERROR_AREAS)) as Record<ErrorCode, ErrorCodeInfo>,
);

/** True when `code` is in the catalogue. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/**
 * The JSON body of every non-2xx answer of a Tributary HTTP server: `error` is the status text, `code` from the
 * catalogue, `message` says what is wrong; some codes add fields (`issues`, `details`, `excerpt`).
 * Write bodies as `{ ... } satisfies ErrorBody` so their code is checked.
 */
export interface ErrorBody {
  error: string;
  code: ErrorCode;
  message: string;
  [extra: string]: unknown;
}

/** `docs/ERRORS.md`, rendered from the catalogue. */
export function renderErrorsMarkdown(): string {
  const lines = [
    '# Error codes',
    '',
    '<!-- Generated from packages/client/src/error-codes.ts by `pnpm --filter @tributary/client errors:doc`; do not edit. -->',
    '',
    'Every Tributary error carries one of these codes: a `TributaryError` (`code`, `retriable`, `statusCode`) in',
    'process, and an HTTP error body `{ "error": "<status text>", "code": "<CODE>", "message": "..." }` on the wire.',
    '',
    '**Retriable** says whether the same operation may succeed later. In process it is the decision (`isRetriable`)',
    "of the reconnect and start-up loops (db-events exits non-zero on an error that is not retriable, the broker's",
    'start-up gives up), of appending replies, of auth-hooks publishing and of the function runtime (a function',
    'error that is not retriable answers 4xx, so the broker does not retry it). Over HTTP, the dispatcher and the',
    'publisher decide by status as Knative does (retry on transport errors, 5xx, 404, 408, 409 and 429), so a code',
    'answered with one of those statuses is retried on the wire even where it is marked "no" here.',
    '',
    'To add or change a code, edit `ERROR_AREAS` in packages/client/src/error-codes.ts and run the command above; a',
    'code that is not in the catalogue does not compile, and `error-codes.test.ts` fails while this file disagrees.',
    '',
  ];
  for (const [area, codes] of Object.entries(ERROR_AREAS)) {
    lines.push(`## ${area}`, '', '| code | HTTP | retriable | meaning |', '| --- | --- | --- | --- |');
    for (const [code, info] of Object.entries(codes) as [string, ErrorCodeInfo][]) {
      lines.push(
        `| \`${code}\` | ${info.status} | ${info.retriable ? 'yes' : 'no'} | ${info.meaning.replaceAll('|', '\\|')} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}
