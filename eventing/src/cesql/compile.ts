// Compiles a CESQL AST into a tree of closures, once per expression. Each closure evaluates one node
// for one event; casts, LIKE patterns, IN sets of literals and function overloads are all resolved
// here, not per event.
//
// Error semantics (spec 3.2, 3.3), one rule applied everywhere:
// - an operator or function whose operand raised an error (a missing attribute, a division by zero,
//   ...) does not compute: it returns the zero value of its own return type ('' / 0 / false) and
//   evaluates no further operands. So `missing / 0` is `0` with only a MissingAttributeError,
//   `NOT missing` is `false`, `true AND (1 != 1 / 0)` is `false` with a MathError (TCK);
// - an error raised by the operator itself (a failed implicit cast of its operand, an overflow, a
//   function's own FunctionEvaluationError) does not stop it: it computes with the cast's zero value,
//   e.g. `NOT 10` is `true` with a CastError (TCK not_operator).
// The error list is shared by the whole evaluation; a node detects an operand's error by comparing
// `state.count` before and after evaluating it; in filter mode (`test`) no error objects are built.
import type { BinaryOperator, CesqlValue, Node } from './ast.js';
import { type CesqlEvaluationError, CesqlParseError, evaluationError } from './errors.js';
import { functionExists, type ParamType, resolveFunction } from './functions.js';
import { compileLike } from './like.js';
import { parse } from './parser.js';
import {
  type CesqlEvent,
  type CesqlType,
  castTo,
  coerceAttribute,
  type EvalState,
  type Evaluator,
  INT32_MAX,
  INT32_MIN,
  missingAttribute,
  REQUIRED_ATTRIBUTES,
  raise,
  toBooleanValue,
  toIntegerValue,
  toStringValue,
  typeOf,
  zeroValue,
} from './values.js';

/** The outcome of one evaluation: the value and every error raised (empty when none). */
export interface CesqlResult {
  readonly value: CesqlValue;
  readonly errors: readonly CesqlEvaluationError[];
}

export interface CompiledCesql {
  /** The source text. */
  readonly expression: string;
  /** The result type when it does not depend on the event; `any` for a bare attribute. */
  readonly resultType: CesqlType | 'any';
  /**
   * Errors that every evaluation will raise, found at compile time (today: calls to functions that
   * do not exist or not with that many arguments). The TCK requires these to be evaluation errors,
   * so the expression still compiles; a Trigger loader may reject it on these.
   */
  readonly warnings: readonly CesqlEvaluationError[];
  /** Evaluates the expression against one event. Never throws. */
  evaluate(event: CesqlEvent): CesqlResult;
  /**
   * Filter semantics (spec 1.2): true only when the result is the boolean `true` and no error was
   * raised. Allocates nothing per call.
   */
  test(event: CesqlEvent): boolean;
}

export type CesqlCompileResult =
  | { readonly ok: true; readonly expression: CompiledCesql }
  | { readonly ok: false; readonly error: CesqlParseError };

/** Parses and compiles a CESQL v1 expression. Returns a parse error instead of throwing. */
export function compileCesql(expression: string): CesqlCompileResult {
  const warnings: CesqlEvaluationError[] = [];
  let root: CompiledNode;
  try {
    root = compileNode(parse(expression), warnings);
  } catch (err) {
    if (err instanceof CesqlParseError) return { ok: false, error: err };
    // Parsing and compiling recurse once per nesting level (and per link of an AND/OR chain, which
    // is right-associative); a pathological expression exhausts the stack rather than the heap.
    if (err instanceof RangeError) {
      return { ok: false, error: new CesqlParseError('expression is nested too deeply', expression, 0, 1) };
    }
    throw err;
  }
  return { ok: true, expression: new Compiled(expression, root, warnings) };
}

class Compiled implements CompiledCesql {
  readonly resultType: CesqlType | 'any';
  readonly #fn: Evaluator;
  readonly #zero: CesqlValue;
  readonly #scratch: EvalState = { count: 0, errors: null };

  constructor(
    readonly expression: string,
    root: CompiledNode,
    readonly warnings: readonly CesqlEvaluationError[],
  ) {
    this.resultType = root.type;
    this.#fn = root.fn;
    // spec 3.2: when the return type cannot be determined, assume Boolean.
    this.#zero = zeroValue(root.type === 'any' ? 'boolean' : root.type);
  }

  evaluate(event: CesqlEvent): CesqlResult {
    const errors: CesqlEvaluationError[] = [];
    const state: EvalState = { count: 0, errors };
    let value: CesqlValue;
    try {
      value = this.#fn(event, state);
    } catch (err) {
      // Every operator and function is total; this only guards against engine bugs or hostile getters.
      raise(state, 'generic', `evaluation failed: ${(err as Error)?.message ?? err}`);
      value = this.#zero;
    }
    return { value, errors };
  }

  test(event: CesqlEvent): boolean {
    // Evaluation is synchronous and never re-enters itself, so one scratch state per expression is safe.
    const state = this.#scratch;
    state.count = 0;
    try {
      return this.#fn(event, state) === true && state.count === 0;
    } catch {
      return false;
    }
  }

  toString(): string {
    return this.expression;
  }
}

interface CompiledNode {
  readonly fn: Evaluator;
  /** Static type of the node's value; `any` when it is an attribute read. */
  readonly type: CesqlType | 'any';
  /** The value, when the node is a literal. */
  readonly constant?: CesqlValue;
  /**
   * The attribute name, when the node reads an attribute (other than `data`). Operators on an
   * attribute and a literal use it to read a string attribute inline, falling back to the general
   * path for other types and for a missing attribute: one closure call per test instead of two.
   */
  readonly attribute?: string;
}

function compileNode(node: Node, warnings: CesqlEvaluationError[]): CompiledNode {
  switch (node.kind) {
    case 'literal': {
      const value = node.value;
      return { fn: () => value, type: typeOf(value), constant: value };
    }
    case 'attribute':
      return {
        fn: attributeReader(node.name),
        type: 'any',
        ...(node.name === 'data' ? {} : { attribute: node.name }),
      };
    case 'exists': {
      const name = node.name;
      // spec 3.4.4: EXISTS is always true for the REQUIRED attributes.
      if (REQUIRED_ATTRIBUTES.has(name)) return { fn: () => true, type: 'boolean' };
      return { fn: (ev) => coerceAttribute(name, ev[name]) !== undefined, type: 'boolean' };
    }
    case 'not':
      return compileNot(compileNode(node.operand, warnings));
    case 'negate':
      return compileNegate(compileNode(node.operand, warnings));
    case 'binary':
      return compileBinary(node.op, compileNode(node.left, warnings), compileNode(node.right, warnings));
    case 'like':
      return compileLikeNode(compileNode(node.operand, warnings), node.pattern, node.negated);
    case 'in':
      return compileIn(
        compileNode(node.operand, warnings),
        node.set.map((n) => compileNode(n, warnings)),
        node.negated,
      );
    case 'call':
      return compileCall(
        node.name,
        node.args.map((n) => compileNode(n, warnings)),
        warnings,
      );
  }
}

function attributeReader(name: string): Evaluator {
  return (ev, st) => {
    const raw = ev[name];
    if (typeof raw === 'string' && name !== 'data') return raw;
    const v = coerceAttribute(name, raw);
    if (v !== undefined) return v;
    missingAttribute(st, name);
    // spec 3.2: the type of a missing attribute is unknown, so its zero value is Boolean's. Callers
    // see the error and return their own zero value anyway.
    return false;
  };
}

function compileNot(operand: CompiledNode): CompiledNode {
  const f = operand.fn;
  if (operand.type === 'boolean') {
    return {
      type: 'boolean',
      fn: (ev, st) => {
        const n = st.count;
        const v = f(ev, st);
        return st.count === n ? !v : false;
      },
    };
  }
  return {
    type: 'boolean',
    fn: (ev, st) => {
      const n = st.count;
      const v = f(ev, st);
      if (st.count !== n) return false;
      return !toBooleanValue(v, st);
    },
  };
}

function compileNegate(operand: CompiledNode): CompiledNode {
  const f = operand.fn;
  return {
    type: 'integer',
    fn: (ev, st) => {
      const n = st.count;
      const v = f(ev, st);
      if (st.count !== n) return 0;
      return checked(-toIntegerValue(v, st), '-', st);
    },
  };
}

/**
 * The spec defines Integer as 32-bit but says nothing about overflow in + - * / and unary minus.
 * Results wrap around in two's complement (as in the Go and Java SDKs) and a MathError is raised, so
 * a filter never silently passes on a wrapped value.
 */
function checked(r: number, op: string, st: EvalState): number {
  if (r > INT32_MAX || r < INT32_MIN) {
    raise(st, 'math', `integer overflow in '${op}'`);
  }
  return r | 0;
}

type IntOp = (x: number, y: number, st: EvalState) => number;

const INT_OPS: Record<'*' | '/' | '%' | '+' | '-', IntOp> = {
  '+': (x, y, st) => checked(x + y, '+', st),
  '-': (x, y, st) => checked(x - y, '-', st),
  // The double product of two int32s is exact whenever it fits in int32, so the range check is sound.
  '*': (x, y, st) => {
    const r = x * y;
    if (r > INT32_MAX || r < INT32_MIN) {
      raise(st, 'math', `integer overflow in '*'`);
      return Math.imul(x, y);
    }
    return r | 0;
  },
  // spec 3.4.2: division truncates toward 0; x / 0 and x % 0 are 0 with a MathError.
  '/': (x, y, st) => {
    if (y === 0) {
      raise(st, 'math', 'division by zero');
      return 0;
    }
    return checked(Math.trunc(x / y), '/', st);
  },
  // The remainder has the sign of x, as JavaScript's % does; `| 0` turns -0 into 0.
  '%': (x, y, st) => {
    if (y === 0) {
      raise(st, 'math', 'modulo by zero');
      return 0;
    }
    return (x % y) | 0;
  },
};

type Relation = (x: number, y: number) => boolean;
const RELATIONS: Record<'<' | '<=' | '>' | '>=', Relation> = {
  '<': (x, y) => x < y,
  '<=': (x, y) => x <= y,
  '>': (x, y) => x > y,
  '>=': (x, y) => x >= y,
};

function compileBinary(op: BinaryOperator, left: CompiledNode, right: CompiledNode): CompiledNode {
  switch (op) {
    case 'AND':
    case 'OR':
    case 'XOR':
      return compileLogic(op, left, right);
    case '=':
      return compileEquality(left, right, false);
    case '!=':
    case '<>':
      return compileEquality(left, right, true);
    case '<':
    case '<=':
    case '>':
    case '>=': {
      const rel = RELATIONS[op];
      const l = left.fn;
      const r = right.fn;
      return {
        type: 'boolean',
        fn: (ev, st) => {
          const n = st.count;
          const a = l(ev, st);
          if (st.count !== n) return false;
          const b = r(ev, st);
          if (st.count !== n) return false;
          return rel(toIntegerValue(a, st), toIntegerValue(b, st));
        },
      };
    }
    default: {
      const intOp = INT_OPS[op];
      const l = left.fn;
      const r = right.fn;
      return {
        type: 'integer',
        fn: (ev, st) => {
          const n = st.count;
          const a = l(ev, st);
          if (st.count !== n) return 0;
          const b = r(ev, st);
          if (st.count !== n) return 0;
          return intOp(toIntegerValue(a, st), toIntegerValue(b, st), st);
        },
      };
    }
  }
}

/** AND / OR / XOR on Booleans; AND and OR short-circuit (spec 3.4.2, 3.6). */
function compileLogic(op: 'AND' | 'OR' | 'XOR', left: CompiledNode, right: CompiledNode): CompiledNode {
  const l = left.fn;
  const r = right.fn;
  const lb = left.type === 'boolean';
  const rb = right.type === 'boolean';
  const fn: Evaluator =
    op === 'AND'
      ? (ev, st) => {
          const n = st.count;
          const a = l(ev, st);
          if (st.count !== n) return false;
          if (!(lb ? a : toBooleanValue(a, st))) return false;
          const m = st.count;
          const b = r(ev, st);
          if (st.count !== m) return false;
          return rb ? b : toBooleanValue(b, st);
        }
      : op === 'OR'
        ? (ev, st) => {
            const n = st.count;
            const a = l(ev, st);
            if (st.count !== n) return false;
            if (lb ? a : toBooleanValue(a, st)) return true;
            const m = st.count;
            const b = r(ev, st);
            if (st.count !== m) return false;
            return rb ? b : toBooleanValue(b, st);
          }
        : (ev, st) => {
            const n = st.count;
            const a = l(ev, st);
            if (st.count !== n) return false;
            const b = r(ev, st);
            if (st.count !== n) return false;
            return (lb ? a : toBooleanValue(a, st)) !== (rb ? b : toBooleanValue(b, st));
          };
  return { type: 'boolean', fn };
}

/**
 * `=` is overloaded for String, Integer and Boolean (spec 3.4.2), so it is "ambiguous" (spec 3.7):
 * the right operand's type picks the overload and the left operand is cast to it.
 */
function compileEquality(left: CompiledNode, right: CompiledNode, negated: boolean): CompiledNode {
  const l = left.fn;
  const r = right.fn;
  const c = right.constant;
  if (c !== undefined) {
    // Right operand is a literal: the overload and the comparand are known now.
    const fn: Evaluator =
      typeof c === 'string'
        ? (ev, st) => {
            const n = st.count;
            const a = l(ev, st);
            if (st.count !== n) return false;
            return ((typeof a === 'string' ? a : toStringValue(a)) === c) !== negated;
          }
        : typeof c === 'number'
          ? (ev, st) => {
              const n = st.count;
              const a = l(ev, st);
              if (st.count !== n) return false;
              return ((typeof a === 'number' ? a : toIntegerValue(a, st)) === c) !== negated;
            }
          : (ev, st) => {
              const n = st.count;
              const a = l(ev, st);
              if (st.count !== n) return false;
              return ((typeof a === 'boolean' ? a : toBooleanValue(a, st)) === c) !== negated;
            };
    if (typeof c === 'string') {
      const name = left.attribute;
      if (name !== undefined) {
        return {
          type: 'boolean',
          fn: (ev, st) => {
            const raw = ev[name];
            return typeof raw === 'string' ? (raw === c) !== negated : fn(ev, st);
          },
        };
      }
    }
    return { type: 'boolean', fn };
  }
  return {
    type: 'boolean',
    fn: (ev, st) => {
      const n = st.count;
      const a = l(ev, st);
      if (st.count !== n) return false;
      const b = r(ev, st);
      if (st.count !== n) return false;
      if (typeof a === typeof b) return (a === b) !== negated;
      return (castTo(typeOf(b), a, st) === b) !== negated;
    },
  };
}

function compileLikeNode(operand: CompiledNode, pattern: string, negated: boolean): CompiledNode {
  const match = compileLike(pattern);
  const f = operand.fn;
  const generic: Evaluator = (ev, st) => {
    const n = st.count;
    const v = f(ev, st);
    if (st.count !== n) return false;
    // spec 3.4.3: a non-String left operand is cast to String.
    return match(typeof v === 'string' ? v : toStringValue(v)) !== negated;
  };
  const name = operand.attribute;
  if (name === undefined) return { type: 'boolean', fn: generic };
  return {
    type: 'boolean',
    fn: (ev, st) => {
      const raw = ev[name];
      return typeof raw === 'string' ? match(raw) !== negated : generic(ev, st);
    },
  };
}

/**
 * `x IN (y1, ...)`: equality against each element, the elements being cast to the type of `x`
 * (spec 3.4.5, 3.7). Stops at the first match. A set of literals is turned into a hash set per
 * target type at compile time (when every literal casts cleanly to it).
 */
function compileIn(operand: CompiledNode, set: readonly CompiledNode[], negated: boolean): CompiledNode {
  const f = operand.fn;
  const fns = set.map((s) => s.fn);
  const literalSets: Partial<Record<CesqlType, ReadonlySet<CesqlValue>>> = {};
  if (set.every((s) => s.constant !== undefined)) {
    for (const type of ['string', 'integer', 'boolean'] as const) {
      const probe: EvalState = { count: 0, errors: null };
      const values = new Set(set.map((s) => castTo(type, s.constant!, probe)));
      if (probe.count === 0) literalSets[type] = values;
    }
  }
  const generic: Evaluator = (ev, st) => {
    const n = st.count;
    const x = f(ev, st);
    if (st.count !== n) return false;
    const type = typeOf(x);
    const fast = literalSets[type];
    if (fast !== undefined) return fast.has(x) !== negated;
    for (let i = 0; i < fns.length; i++) {
      const m = st.count;
      const y = fns[i]!(ev, st);
      if (st.count !== m) return false;
      if ((typeof y === type ? y : castTo(type, y, st)) === x) return !negated;
    }
    return negated;
  };
  const name = operand.attribute;
  const strings = literalSets.string;
  if (name === undefined || strings === undefined) return { type: 'boolean', fn: generic };
  return {
    type: 'boolean',
    fn: (ev, st) => {
      const raw = ev[name];
      return typeof raw === 'string' ? strings.has(raw) !== negated : generic(ev, st);
    },
  };
}

function compileCall(
  name: string,
  args: readonly CompiledNode[],
  warnings: CesqlEvaluationError[],
): CompiledNode {
  const def = resolveFunction(name, args.length);
  if (def === undefined) {
    // spec 3.5: "When a function invocation cannot be dispatched, the return value is false, and a
    // MissingFunctionError is also returned."
    const message = functionExists(name)
      ? `function ${name} does not take ${args.length} argument(s)`
      : name === 'IS_STRING'
        ? 'unknown function IS_STRING: neither the CESQL spec nor sdk-go (which Knative runs) defines it; every value casts to a string, so the test is always true'
        : `unknown function ${name}`;
    warnings.push(evaluationError('missingFunction', message));
    return {
      type: 'boolean',
      fn: (_ev, st) => {
        raise(st, 'missingFunction', message);
        return false;
      },
    };
  }
  const fns = args.map((a) => a.fn);
  const types: ParamType[] = args.map((_, i) => def.params[i] ?? def.variadic ?? 'any');
  const zero = zeroValue(def.returns);
  const run = def.run;
  // One argument buffer per call site: evaluation is synchronous and a call site cannot be re-entered.
  const buffer: CesqlValue[] = new Array(fns.length);
  return {
    type: def.returns,
    fn: (ev, st) => {
      const n = st.count;
      for (let i = 0; i < fns.length; i++) {
        buffer[i] = fns[i]!(ev, st);
        if (st.count !== n) return zero;
      }
      for (let i = 0; i < fns.length; i++) {
        const t = types[i]!;
        if (t !== 'any') buffer[i] = castTo(t, buffer[i]!, st);
      }
      return run(buffer, st);
    },
  };
}
