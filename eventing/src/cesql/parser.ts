// Precedence-climbing parser equivalent to CESQLParser.g4 (spec 3.6). Binding power, tightest first:
//   function call, EXISTS, literals, attributes, ( ... )   primaries
//   NOT x                                                  prefix, operand is a primary or prefix op
//   -x                                                     prefix
//   x [NOT] LIKE 'pattern'                                 suffix
//   x [NOT] IN (a, b, ...)                                 suffix
//   * / %          left-associative
//   + -            left-associative
//   = != <> < <= > >=   left-associative
//   AND OR XOR     one level, right-associative (`<assoc=right>` in the grammar)
// As in the grammar (and the CloudEvents SDKs generated from it), `NOT a = b` means `(NOT a) = b` and
// `a AND b OR c` means `a AND (b OR c)`; use parentheses or `NOT LIKE` / `NOT IN` / `!=`.
import type { BinaryOperator, Node } from './ast.js';
import { CesqlParseError } from './errors.js';
import { type Token, tokenize } from './lexer.js';

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

const PREC = {
  logic: 1,
  comparison: 2,
  additive: 3,
  multiplicative: 4,
  in: 5,
  like: 6,
  negate: 7,
  not: 8,
} as const;

/** Binding power of the binary operator a token starts, or 0 when it starts none. */
function binaryPrecedence(t: Token): number {
  switch (t.type) {
    case '*':
    case '/':
    case '%':
      return PREC.multiplicative;
    case '+':
    case '-':
      return PREC.additive;
    case '=':
    case '!=':
    case '<>':
    case '<':
    case '<=':
    case '>':
    case '>=':
      return PREC.comparison;
    case 'keyword':
      return t.value === 'AND' || t.value === 'OR' || t.value === 'XOR' ? PREC.logic : 0;
    default:
      return 0;
  }
}

export function parse(src: string): Node {
  const tokens = tokenize(src);
  let pos = 0;

  const peek = (k = 0): Token => tokens[Math.min(pos + k, tokens.length - 1)]!;
  const next = (): Token => {
    const t = peek();
    if (t.type !== 'eof') pos++;
    return t;
  };
  const isKeyword = (t: Token, kw: string) => t.type === 'keyword' && t.value === kw;
  const fail = (reason: string, t: Token): never => {
    throw new CesqlParseError(reason, src, t.offset, t.length);
  };
  const expect = (type: Token['type'], what: string): Token => {
    const t = peek();
    if (t.type !== type) fail(`expected ${what} but found ${describe(t)}`, t);
    return next();
  };

  if (peek().type === 'eof') fail('empty expression', peek());
  const root = parseExpression(0);
  const trailing = peek();
  if (trailing.type !== 'eof') {
    fail(`unexpected ${describe(trailing)} after a complete expression`, trailing);
  }
  return root;

  function parseExpression(minPrec: number): Node {
    let left = parsePrefix();
    for (;;) {
      const t = peek();
      // Suffix operators: [NOT] LIKE, [NOT] IN.
      const negated = isKeyword(t, 'NOT');
      const op = negated ? peek(1) : t;
      if (isKeyword(op, 'LIKE')) {
        if (PREC.like < minPrec) return left;
        if (negated) next();
        next();
        const pattern = peek();
        if (pattern.type !== 'string') {
          fail(`expected a string literal pattern after LIKE but found ${describe(pattern)}`, pattern);
        }
        next();
        left = { kind: 'like', operand: left, pattern: pattern.value, negated };
        continue;
      }
      if (isKeyword(op, 'IN')) {
        if (PREC.in < minPrec) return left;
        if (negated) next();
        next();
        expect('(', "'(' to start the IN set");
        const set: Node[] = [parseExpression(0)];
        while (peek().type === ',') {
          next();
          set.push(parseExpression(0));
        }
        expect(')', "',' or ')' in the IN set");
        left = { kind: 'in', operand: left, set, negated };
        continue;
      }
      if (negated) {
        fail(`expected LIKE or IN after NOT but found ${describe(op)}`, op);
      }
      const prec = binaryPrecedence(t);
      if (prec === 0 || prec < minPrec) return left;
      next();
      const op2 = (t.type === 'keyword' ? t.value : t.type) as BinaryOperator;
      // Right-associative logic operators recurse at the same level; the rest at the next one.
      const right = parseExpression(prec === PREC.logic ? prec : prec + 1);
      left = { kind: 'binary', op: op2, left, right };
    }
  }

  function parsePrefix(): Node {
    const t = peek();
    if (isKeyword(t, 'NOT')) {
      next();
      return { kind: 'not', operand: parseExpression(PREC.not) };
    }
    if (t.type === '-' || t.type === '+') {
      next();
      const operand = peek();
      // integer-literal ::= ( '+' | '-' )? digit+   (spec 2.2)
      if (operand.type === 'integer') {
        next();
        return integerLiteral(t.type === '-' ? `-${operand.value}` : operand.value, t, operand);
      }
      if (t.type === '+') fail(`expected an integer after '+' but found ${describe(operand)}`, operand);
      return { kind: 'negate', operand: parseExpression(PREC.negate) };
    }
    return parsePrimary();
  }

  function parsePrimary(): Node {
    const t = next();
    switch (t.type) {
      case 'integer':
        return integerLiteral(t.value, t, t);
      case 'string':
        return { kind: 'literal', value: t.value };
      case '(': {
        const inner = parseExpression(0);
        expect(')', "')'");
        return inner;
      }
      case 'keyword':
        if (t.value === 'TRUE' || t.value === 'FALSE') return { kind: 'literal', value: t.value === 'TRUE' };
        if (t.value === 'EXISTS') {
          const id = peek();
          if (id.type !== 'word')
            fail(`expected an attribute name after EXISTS but found ${describe(id)}`, id);
          next();
          return { kind: 'exists', name: attributeName(id) };
        }
        return fail(`expected an expression but found ${describe(t)}`, t);
      case 'word':
        if (peek().type === '(') return call(t);
        return { kind: 'attribute', name: attributeName(t) };
      default:
        return fail(`expected an expression but found ${describe(t)}`, t);
    }
  }

  function call(nameToken: Token): Node {
    // function-identifier ::= char ( "_" | char )*   (spec 2.4)
    if (!/^[A-Za-z][A-Za-z_]*$/.test(nameToken.value)) {
      fail(`'${nameToken.value}' is not a valid function name`, nameToken);
    }
    next(); // (
    const args: Node[] = [];
    if (peek().type !== ')') {
      args.push(parseExpression(0));
      while (peek().type === ',') {
        next();
        args.push(parseExpression(0));
      }
    }
    expect(')', `',' or ')' to close the arguments of ${nameToken.value.toUpperCase()}`);
    return { kind: 'call', name: nameToken.value.toUpperCase(), args };
  }

  function attributeName(t: Token): string {
    // Attribute names are [a-z0-9]+ (CloudEvents naming convention). Upper case is accepted and
    // folded, as the Go SDK does, so `EXISTS SOURCE` addresses `source` (TCK exists_expression).
    if (!/^[A-Za-z0-9]+$/.test(t.value)) {
      fail(`'${t.value}' is not a valid attribute name (letters and digits only)`, t);
    }
    return t.value.toLowerCase();
  }

  function integerLiteral(text: string, first: Token, last: Token): Node {
    const value = Number(text);
    if (value < INT32_MIN || value > INT32_MAX) {
      // spec 2.2: "Integer literals MUST be valid 32 bit signed integer values."
      throw new CesqlParseError(
        `integer literal ${text} is outside the 32-bit range [${INT32_MIN}, ${INT32_MAX}]`,
        src,
        first.offset,
        last.offset + last.length - first.offset,
      );
    }
    return { kind: 'literal', value: value === 0 ? 0 : value };
  }
}

function describe(t: Token): string {
  switch (t.type) {
    case 'eof':
      return 'end of input';
    case 'integer':
      return `integer ${t.value}`;
    case 'string':
      return 'a string literal';
    case 'keyword':
      return `keyword ${t.value}`;
    case 'word':
      return `'${t.value}'`;
    default:
      return `'${t.type}'`;
  }
}
