// CESQL runtime values, attribute access and type casts (spec 3.1, 3.2, 3.7).
import type { CesqlValue } from './ast.js';
import { type CesqlEvaluationError, evaluationError } from './errors.js';

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

/**
 * The input of an evaluation: CloudEvent context attributes and extensions by name, as a
 * `CloudEvent` instance of the cloudevents SDK exposes them (a missing attribute is `undefined`).
 */
export type CesqlEvent = Readonly<Record<string, unknown>>;

/**
 * Per-evaluation state (spec 3.3): how many errors were raised so far, and the error list itself
 * unless the caller only needs to know whether there were any (filter mode: no error objects or
 * messages are built then). A node detects an error raised while evaluating one of its operands by
 * comparing `count` before and after.
 */
export interface EvalState {
  count: number;
  errors: CesqlEvaluationError[] | null;
}

export function raise(state: EvalState, kind: CesqlEvaluationError['kind'], message: string): void {
  state.count++;
  state.errors?.push(evaluationError(kind, message));
}

/** A compiled node. */
export type Evaluator = (event: CesqlEvent, state: EvalState) => CesqlValue;

export type CesqlType = 'string' | 'integer' | 'boolean';

export function zeroValue(type: CesqlType): CesqlValue {
  return type === 'string' ? '' : type === 'integer' ? 0 : false;
}

export function typeOf(value: CesqlValue): CesqlType {
  return typeof value === 'string' ? 'string' : typeof value === 'number' ? 'integer' : 'boolean';
}

/** The context attributes that are always present on a valid event (spec 3.4.4). */
export const REQUIRED_ATTRIBUTES: ReadonlySet<string> = new Set(['specversion', 'id', 'source', 'type']);

/**
 * An attribute's value as a CESQL value, or `undefined` when the event lacks it. Values that are not
 * CESQL primitives are represented as strings (spec 3.2): non-int32 numbers, bigints, Dates (RFC 3339),
 * bytes (base64, as the CloudEvents JSON format writes them). `data` is not a context attribute and
 * CESQL does not address it (spec 1), so it reads as missing; so do functions (methods of a
 * `CloudEvent` instance such as `validate`).
 */
export function coerceAttribute(name: string, raw: unknown): CesqlValue | undefined {
  switch (typeof raw) {
    case 'string':
    case 'boolean':
      return name === 'data' ? undefined : raw;
    case 'number':
      if (name === 'data') return undefined;
      return Number.isInteger(raw) && raw >= INT32_MIN && raw <= INT32_MAX ? raw | 0 : String(raw);
    case 'bigint':
      return raw >= INT32_MIN && raw <= INT32_MAX ? Number(raw) : String(raw);
    case 'object':
      if (raw === null || name === 'data') return undefined;
      if (raw instanceof Date) return Number.isNaN(raw.getTime()) ? String(raw) : raw.toISOString();
      if (raw instanceof Uint8Array)
        return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
      if (raw instanceof URL) return raw.href;
      try {
        return JSON.stringify(raw) ?? String(raw);
      } catch {
        return String(raw);
      }
    default:
      // undefined, function, symbol
      return undefined;
  }
}

export function attributeExists(event: CesqlEvent, name: string): boolean {
  return REQUIRED_ATTRIBUTES.has(name) || coerceAttribute(name, event[name]) !== undefined;
}

export function missingAttribute(state: EvalState, name: string): void {
  if (state.errors === null) state.count++;
  else raise(state, 'missingAttribute', `missing attribute '${name}'`);
}

// --- casts (spec 3.7) ------------------------------------------------------------------------

export function toStringValue(v: CesqlValue): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : v ? 'true' : 'false';
}

const INTEGER_TEXT = /^[+-]?[0-9]+$/;

/** String -> Integer: base 10, optional sign, 32-bit; otherwise a CastError and 0. */
export function toIntegerValue(v: CesqlValue, state: EvalState): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (INTEGER_TEXT.test(v)) {
    const n = Number(v);
    if (n >= INT32_MIN && n <= INT32_MAX) return n === 0 ? 0 : n;
    castFailed(state, `cannot cast '${v}' to an integer: outside the 32-bit range`);
    return 0;
  }
  if (state.errors === null) state.count++;
  else castFailed(state, `cannot cast '${truncate(v)}' to an integer`);
  return 0;
}

/**
 * Implicit cast to Boolean (operands of NOT, AND, OR, XOR and of `=` against a boolean). Strings
 * "true"/"false" in any case convert; an Integer does not: the TCK (not_operator "Invalid int cast")
 * requires `NOT 10` to raise a CastError, the cast result being `false`. The explicit `BOOL(x)` does
 * convert integers (0 is false), see functions.ts.
 */
export function toBooleanValue(v: CesqlValue, state: EvalState): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const lower = v.length === 4 || v.length === 5 ? v.toLowerCase() : '';
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    if (state.errors === null) state.count++;
    else castFailed(state, `cannot cast '${truncate(v)}' to a boolean`);
    return false;
  }
  if (state.errors === null) state.count++;
  else castFailed(state, `cannot implicitly cast integer ${v} to a boolean`);
  return false;
}

export function castTo(type: CesqlType, v: CesqlValue, state: EvalState): CesqlValue {
  return type === 'string'
    ? toStringValue(v)
    : type === 'integer'
      ? toIntegerValue(v, state)
      : toBooleanValue(v, state);
}

function castFailed(state: EvalState, message: string): void {
  raise(state, 'cast', message);
}

function truncate(s: string): string {
  return s.length > 64 ? `${s.slice(0, 61)}...` : s;
}

// --- strings as sequences of Unicode characters (spec 3.1) -----------------------------------

const SURROGATE = /[\uD800-\uDFFF]/;

export function hasSurrogates(s: string): boolean {
  return SURROGATE.test(s);
}

/** Length in Unicode code points. */
export function codePointLength(s: string): number {
  if (!hasSurrogates(s)) return s.length;
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Code-point based slice: characters [from, to) of `s`. */
export function codePointSlice(s: string, from: number, to?: number): string {
  if (!hasSurrogates(s)) return s.slice(from, to);
  return Array.from(s).slice(from, to).join('');
}
