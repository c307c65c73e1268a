// Built-in functions (spec 3.5). A function is resolved by name and arity when the expression is
// compiled; arguments are cast to the parameter types before the call (spec 3.7), and a function
// reports its own failures as FunctionEvaluationError / MathError while still returning a value of
// its return type (spec 3.5.3).
import type { CesqlValue } from './ast.js';
import {
  type CesqlType,
  codePointLength,
  codePointSlice,
  type EvalState,
  INT32_MAX,
  INT32_MIN,
  raise,
  toStringValue,
} from './values.js';

export type ParamType = CesqlType | 'any';

export interface FunctionDefinition {
  readonly name: string;
  /** Fixed parameters. */
  readonly params: readonly ParamType[];
  /** Type of the repeated trailing parameters of a variadic function. */
  readonly variadic?: ParamType;
  readonly returns: CesqlType;
  /** Arguments arrive already cast to the parameter types. */
  readonly run: (args: readonly CesqlValue[], state: EvalState) => CesqlValue;
}

const fnError = (state: EvalState, message: string) => raise(state, 'functionEvaluation', message);

const s = (v: CesqlValue | undefined) => v as string;
const i = (v: CesqlValue | undefined) => v as number;

// Unicode White_Space (spec 3.5.1 TRIM), which differs slightly from String.prototype.trim.
const TRIM = /^\p{White_Space}+|\p{White_Space}+$/gu;

const BUILTINS: readonly FunctionDefinition[] = [
  // 3.5.1 string manipulation
  { name: 'LENGTH', params: ['string'], returns: 'integer', run: ([x]) => codePointLength(s(x)) },
  {
    name: 'CONCAT',
    params: [],
    variadic: 'string',
    returns: 'string',
    run: (args) => (args as string[]).join(''),
  },
  {
    name: 'CONCAT_WS',
    params: ['string'],
    variadic: 'string',
    returns: 'string',
    run: ([delimiter, ...rest]) => (rest as string[]).join(s(delimiter)),
  },
  { name: 'LOWER', params: ['string'], returns: 'string', run: ([x]) => s(x).toLowerCase() },
  { name: 'UPPER', params: ['string'], returns: 'string', run: ([x]) => s(x).toUpperCase() },
  { name: 'TRIM', params: ['string'], returns: 'string', run: ([x]) => s(x).replace(TRIM, '') },
  {
    name: 'LEFT',
    params: ['string', 'integer'],
    returns: 'string',
    run: ([x, y], st) => {
      if (i(y) < 0) {
        fnError(st, `LEFT: length must not be negative, got ${i(y)}`);
        return s(x);
      }
      return codePointSlice(s(x), 0, i(y));
    },
  },
  {
    name: 'RIGHT',
    params: ['string', 'integer'],
    returns: 'string',
    run: ([x, y], st) => {
      if (i(y) < 0) {
        fnError(st, `RIGHT: length must not be negative, got ${i(y)}`);
        return s(x);
      }
      const len = codePointLength(s(x));
      return i(y) >= len ? s(x) : codePointSlice(s(x), len - i(y));
    },
  },
  {
    name: 'SUBSTRING',
    params: ['string', 'integer'],
    returns: 'string',
    run: ([x, pos], st) => substring(s(x), i(pos), undefined, st),
  },
  {
    name: 'SUBSTRING',
    params: ['string', 'integer', 'integer'],
    returns: 'string',
    run: ([x, pos, len], st) => substring(s(x), i(pos), i(len), st),
  },
  // 3.5.2 math
  {
    name: 'ABS',
    params: ['integer'],
    returns: 'integer',
    run: ([x], st) => {
      if (i(x) === INT32_MIN) {
        raise(st, 'math', `ABS(${INT32_MIN}) overflows; returning ${INT32_MAX}`);
        return INT32_MAX;
      }
      return Math.abs(i(x));
    },
  },
  // 3.7 explicit casts. INT and BOOL report failures as CastError (TCK casting_functions).
  {
    name: 'INT',
    params: ['integer'],
    returns: 'integer',
    run: ([x]) => i(x),
  },
  {
    name: 'BOOL',
    params: ['any'],
    returns: 'boolean',
    run: ([x], st) => {
      if (typeof x === 'number') return x !== 0; // Integer -> Boolean: false iff 0
      if (typeof x === 'boolean') return x;
      const lower = s(x).toLowerCase();
      if (lower === 'true' || lower === 'false') return lower === 'true';
      raise(st, 'cast', `BOOL: cannot cast '${s(x)}' to a boolean`);
      return false;
    },
  },
  { name: 'STRING', params: ['any'], returns: 'string', run: ([x]) => toStringValue(x as CesqlValue) },
  // Not in the spec: cloudevents/sdk-go sql/v2 (function/casting_functions.go, which Knative's cesql filter
  // runs) adds IS_INT and IS_BOOL, true when INT(x) / BOOL(x) would succeed. Provided so a Trigger written
  // for Knative loads here with the same meaning. sdk-go has no IS_STRING (every value casts to a string).
  { name: 'IS_INT', params: ['any'], returns: 'boolean', run: ([x]) => canCastToInteger(x as CesqlValue) },
  { name: 'IS_BOOL', params: ['any'], returns: 'boolean', run: ([x]) => canCastToBoolean(x as CesqlValue) },
];

/** sdk-go `utils.CanCast(x, IntegerType)`: integers, booleans, and base-10 int32 strings. */
function canCastToInteger(x: CesqlValue): boolean {
  if (typeof x !== 'string') return true;
  if (!/^[+-]?[0-9]+$/.test(x)) return false;
  const n = Number(x);
  return n >= INT32_MIN && n <= INT32_MAX;
}

/** sdk-go `utils.CanCast(x, BooleanType)`: booleans, integers, and "true"/"false" in any case. */
function canCastToBoolean(x: CesqlValue): boolean {
  if (typeof x !== 'string') return true;
  const lower = x.toLowerCase();
  return lower === 'true' || lower === 'false';
}

function substring(x: string, pos: number, len: number | undefined, st: EvalState): string {
  const length = codePointLength(x);
  if (pos > length || pos < -length) {
    fnError(st, `SUBSTRING: position ${pos} is outside the string (length ${length})`);
    return '';
  }
  if (len !== undefined && len < 0) {
    fnError(st, `SUBSTRING: length must not be negative, got ${len}`);
    return '';
  }
  if (pos === 0) return '';
  const start = pos > 0 ? pos - 1 : length + pos;
  return codePointSlice(x, start, len === undefined ? undefined : start + len);
}

const byName = new Map<string, FunctionDefinition[]>();
for (const def of BUILTINS) {
  const list = byName.get(def.name) ?? [];
  list.push(def);
  byName.set(def.name, list);
}

/** The overload of `name` (upper case) callable with `arity` arguments, if any (spec 3.5). */
export function resolveFunction(name: string, arity: number): FunctionDefinition | undefined {
  const overloads = byName.get(name);
  if (!overloads) return undefined;
  return (
    overloads.find((d) => d.variadic === undefined && d.params.length === arity) ??
    overloads.find((d) => d.variadic !== undefined && arity >= d.params.length)
  );
}

export function functionExists(name: string): boolean {
  return byName.has(name);
}
