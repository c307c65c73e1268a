/**
 * The event catalog: a zod schema for the `data` of each known event type. Built-in types (DESIGN.md §3) are
 * registered up front; apps add theirs with `catalog.register(type, schema)`. The broker ingress validates
 * known types with `validateEvent` and answers 400 with the issues; unknown types pass.
 */
import type { CloudEvent } from 'cloudevents';
import type { z } from 'zod';
import { isJsonContentType } from '../cloudevents/content-type.js';
import { InvalidCloudEventError } from '../cloudevents/errors.js';
import { type CloudEventLike, cloudEventIssues } from '../cloudevents/event.js';
import { TributaryError } from '../errors.js';
import {
  authEmailRequestedSchema,
  authMfaAttemptedSchema,
  authPasswordAttemptedSchema,
  authSmsRequestedSchema,
  authTokenIssuedSchema,
  authUserCreatedSchema,
  authUserCreatingSchema,
} from './auth.js';
import {
  dbMessageInvalidSchema,
  dbRowDeletedSchema,
  dbRowInsertedSchema,
  dbRowReadSchema,
  dbRowUpdatedSchema,
  dbTableTruncatedSchema,
} from './db.js';
import { redactPaths, secretPaths } from './secrets.js';
import { storageEventSchema } from './storage.js';
import { EVENT_TYPES } from './types.js';

/** The built-in schemas, by type. */
export const BUILTIN_SCHEMAS = {
  [EVENT_TYPES.dbRowInserted]: dbRowInsertedSchema,
  [EVENT_TYPES.dbRowUpdated]: dbRowUpdatedSchema,
  [EVENT_TYPES.dbRowDeleted]: dbRowDeletedSchema,
  [EVENT_TYPES.dbTableTruncated]: dbTableTruncatedSchema,
  [EVENT_TYPES.dbRowRead]: dbRowReadSchema,
  [EVENT_TYPES.dbMessageInvalid]: dbMessageInvalidSchema,
  [EVENT_TYPES.storageObjectCreated]: storageEventSchema,
  [EVENT_TYPES.storageObjectRemoved]: storageEventSchema,
  [EVENT_TYPES.storageObjectAccessed]: storageEventSchema,
  [EVENT_TYPES.storageObjectRestored]: storageEventSchema,
  [EVENT_TYPES.storageObjectTransitioned]: storageEventSchema,
  [EVENT_TYPES.storageObjectReplication]: storageEventSchema,
  [EVENT_TYPES.storageBucketCreated]: storageEventSchema,
  [EVENT_TYPES.storageBucketRemoved]: storageEventSchema,
  [EVENT_TYPES.storageEvent]: storageEventSchema,
  [EVENT_TYPES.authTokenIssued]: authTokenIssuedSchema,
  [EVENT_TYPES.authEmailRequested]: authEmailRequestedSchema,
  [EVENT_TYPES.authSmsRequested]: authSmsRequestedSchema,
  [EVENT_TYPES.authMfaAttempted]: authMfaAttemptedSchema,
  [EVENT_TYPES.authPasswordAttempted]: authPasswordAttemptedSchema,
  [EVENT_TYPES.authUserCreating]: authUserCreatingSchema,
  [EVENT_TYPES.authUserCreated]: authUserCreatedSchema,
} as const;

type BuiltinDataMap = { [K in keyof typeof BUILTIN_SCHEMAS]: z.infer<(typeof BUILTIN_SCHEMAS)[K]> };

/**
 * Event type -> type of its `data`. Apps add their own types by declaration merging:
 * `declare module '@tributary/client' { interface EventDataMap { 'com.example.order.placed': Order } }`
 * (or `'@tributary/shared'` in code that imports the catalog from there: its re-export merges too).
 */
export interface EventDataMap extends BuiltinDataMap {}

export type EventType = keyof EventDataMap & string;

/** A CloudEvent whose `type` names a catalog type, with `data` typed accordingly. */
export type TypedCloudEvent<T extends keyof EventDataMap> = CloudEvent<EventDataMap[T]> & { type: T };

export type ValidationResult = { ok: true } | { ok: false; issues: string[] };

export interface ValidateOptions {
  /** Also check the CloudEvents context attributes (already done by `decodeHttp`/`fromKafkaMessage`). */
  attributes?: boolean;
  /** Fail events whose type the catalog does not know (default: they pass). */
  requireKnownType?: boolean;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Uint8Array) return 'bytes';
  return typeof value;
}

/** Keeps issue messages short: `expected string, got number` instead of zod's `Invalid input: ...`. */
const errorMap = (iss: {
  code?: string;
  expected?: unknown;
  input?: unknown;
  values?: unknown[];
}): string | undefined => {
  if (iss.code === 'invalid_value' && Array.isArray(iss.values)) {
    const got = JSON.stringify(iss.input);
    return `expected ${iss.values.map((v) => JSON.stringify(v)).join(' | ')}, got ${got === undefined ? 'nothing' : got.length > 40 ? `${got.slice(0, 40)}…` : got}`;
  }
  if (iss.code === 'invalid_type') {
    return iss.input === undefined
      ? `required (expected ${String(iss.expected)})`
      : `expected ${String(iss.expected)}, got ${describe(iss.input)}`;
  }
  return undefined;
};

function formatPath(path: readonly PropertyKey[]): string {
  let out = 'data';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_$][\w$]*$/.test(seg)) out += `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

/** One readable line per zod issue, naming the path: `data.record.id: expected string, got number`. */
export function formatZodIssues(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[] = [],
): string[] {
  const out: string[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const branches = issue.errors;
      const rootTypes = branches.every(
        (b) => b.length === 1 && b[0]!.code === 'invalid_type' && b[0]!.path.length === 0,
      );
      if (rootTypes) {
        const expected = branches.map((b) => String((b[0] as { expected?: unknown }).expected)).join(' | ');
        out.push(`${formatPath(path)}: expected ${expected}`);
        continue;
      }
      // Report the branch that came closest (fewest issues) rather than a bare "Invalid input".
      const best = [...branches].sort((a, b) => a.length - b.length)[0]!;
      if (best.length > 0) {
        out.push(...formatZodIssues(best, path));
        continue;
      }
    }
    out.push(`${formatPath(path)}: ${issue.message.replace(/^Invalid input: /, '')}`);
  }
  return out;
}

export class EventCatalog {
  readonly #schemas = new Map<string, z.ZodType>();
  readonly #secretPaths = new Map<string, string[][]>();

  constructor(schemas: Readonly<Record<string, z.ZodType>> = {}) {
    for (const [type, schema] of Object.entries(schemas)) this.#schemas.set(type, schema);
  }

  /**
   * Adds the `data` schema of an event type. Registering a type twice throws unless `replace` is set
   * (so two modules cannot silently disagree about one type).
   */
  register<S extends z.ZodType>(type: string, schema: S, options: { replace?: boolean } = {}): this {
    if (type === '') throw new TypeError('event type must be a non-empty string');
    if (this.#schemas.has(type) && !options.replace) {
      throw new TributaryError(
        `event type ${type} is already registered in the catalog; pass { replace: true } to replace it`,
        { code: 'EVENT_TYPE_REGISTERED' },
      );
    }
    this.#schemas.set(type, schema);
    this.#secretPaths.delete(type);
    return this;
  }

  unregister(type: string): boolean {
    this.#secretPaths.delete(type);
    return this.#schemas.delete(type);
  }

  has(type: string): boolean {
    return this.#schemas.has(type);
  }

  get(type: string): z.ZodType | undefined {
    return this.#schemas.get(type);
  }

  types(): string[] {
    return [...this.#schemas.keys()];
  }

  /** Paths of the fields the schema of `type` marks {@link secret} (none for an unknown type). */
  secretPaths(type: string): string[][] {
    let paths = this.#secretPaths.get(type);
    if (paths === undefined) {
      const schema = this.#schemas.get(type);
      paths = schema ? secretPaths(schema) : [];
      this.#secretPaths.set(type, paths);
    }
    return paths;
  }

  /** `data` of an event of `type` with its secret fields replaced by `[redacted]`, and how many were. */
  redact(type: string, data: unknown): { data: unknown; redacted: number } {
    return redactPaths(data, this.secretPaths(type));
  }

  /** Checks `data` against the schema of `type`; a type without a schema passes. */
  validateData(type: string, data: unknown): ValidationResult {
    const schema = this.#schemas.get(type);
    if (schema === undefined) return { ok: true };
    const r = schema.safeParse(data, { error: errorMap, reportInput: false });
    return r.success ? { ok: true } : { ok: false, issues: formatZodIssues(r.error.issues) };
  }

  /** Checks an event's `data` against the schema registered for its `type`. */
  validate(event: CloudEventLike, options: ValidateOptions = {}): ValidationResult {
    const issues: string[] = options.attributes ? cloudEventIssues(event) : [];
    const type = typeof event.type === 'string' ? event.type : '';
    const schema = this.#schemas.get(type);
    if (schema === undefined) {
      if (options.requireKnownType)
        issues.push(`unknown event type ${JSON.stringify(type)}: not in the catalog`);
      return issues.length > 0 ? { ok: false, issues } : { ok: true };
    }
    const data = event.data;
    if (data instanceof Uint8Array || !isJsonContentType(event.datacontenttype as string | undefined)) {
      issues.push(`data: ${type} carries JSON data, got datacontenttype ${String(event.datacontenttype)}`);
    } else {
      const r = schema.safeParse(data, { error: errorMap });
      if (!r.success) issues.push(...formatZodIssues(r.error.issues));
    }
    return issues.length > 0 ? { ok: false, issues } : { ok: true };
  }

  /** `validate`, throwing `InvalidCloudEventError` (400, non-retriable) with the issues. */
  assertValid(event: CloudEventLike, options: ValidateOptions = {}): void {
    const r = this.validate(event, options);
    if (!r.ok)
      throw new InvalidCloudEventError(r.issues, {
        code: 'EVENT_SCHEMA',
        prefix: `invalid ${String(event.type)} event`,
      });
  }

  /** Narrows `event` to its catalog type when its type is `type` and its data passes the schema. */
  is<T extends EventType>(event: CloudEventLike, type: T): event is TypedCloudEvent<T> & CloudEventLike {
    return event.type === type && this.validate(event).ok;
  }
}

/** The process-wide catalog, with every DESIGN.md §3 type registered. */
export const catalog = new EventCatalog(BUILTIN_SCHEMAS);

/** Validates an event against `catalog` (or the one given): `{ ok: true }` or `{ ok: false, issues }`. */
export function validateEvent(
  event: CloudEventLike,
  options: ValidateOptions & { catalog?: EventCatalog } = {},
): ValidationResult {
  return (options.catalog ?? catalog).validate(event, options);
}

/** True when `event.type` is `type` (no data check): narrows `data` for a handler. */
export function isEventType<T extends EventType>(
  event: CloudEventLike,
  type: T,
): event is TypedCloudEvent<T> & CloudEventLike {
  return event.type === type;
}
