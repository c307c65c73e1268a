// Hand-written lexer for CESQL v1 (spec 2, CESQLLexer.g4). Keywords are case-insensitive (spec 2).
// Differences from the ANTLR lexer, both deliberate:
// - an integer literal's sign is not part of the token: the parser folds `-` / `+` directly in
//   front of an integer into the literal, so `5-3` is a subtraction instead of a syntax error;
// - identifiers and function names share one "word" token; the parser decides which it is.
import { CesqlParseError } from './errors.js';

export type TokenType =
  | 'integer'
  | 'string'
  | 'word'
  | 'keyword'
  | '('
  | ')'
  | ','
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '='
  | '!='
  | '<>'
  | '<'
  | '<='
  | '>'
  | '>='
  | 'eof';

export type Keyword = 'AND' | 'OR' | 'XOR' | 'NOT' | 'LIKE' | 'EXISTS' | 'IN' | 'TRUE' | 'FALSE';

const KEYWORDS: ReadonlySet<string> = new Set<Keyword>([
  'AND',
  'OR',
  'XOR',
  'NOT',
  'LIKE',
  'EXISTS',
  'IN',
  'TRUE',
  'FALSE',
]);

export interface Token {
  readonly type: TokenType;
  /** Decoded value: the string literal's content, the upper-cased keyword, the word as written. */
  readonly value: string;
  /** 0-based offset and length in the source, for error excerpts. */
  readonly offset: number;
  readonly length: number;
}

const Ch = {
  Tab: 9,
  Lf: 10,
  Cr: 13,
  Space: 32,
  Bang: 33,
  DQuote: 34,
  Percent: 37,
  SQuote: 39,
  LParen: 40,
  RParen: 41,
  Star: 42,
  Plus: 43,
  Comma: 44,
  Minus: 45,
  Slash: 47,
  D0: 48,
  D9: 57,
  Lt: 60,
  Eq: 61,
  Gt: 62,
  UpperA: 65,
  UpperZ: 90,
  Backslash: 92,
  Underscore: 95,
  LowerA: 97,
  LowerZ: 122,
} as const;

function isWordChar(c: number): boolean {
  return (
    (c >= Ch.LowerA && c <= Ch.LowerZ) ||
    (c >= Ch.UpperA && c <= Ch.UpperZ) ||
    (c >= Ch.D0 && c <= Ch.D9) ||
    c === Ch.Underscore
  );
}

/** One-character operators and punctuation that begin no longer operator (`!`, `<`, `>` do). */
const SINGLE_CHAR_TOKENS = new Map<number, TokenType>([
  [Ch.LParen, '('],
  [Ch.RParen, ')'],
  [Ch.Comma, ','],
  [Ch.Plus, '+'],
  [Ch.Minus, '-'],
  [Ch.Star, '*'],
  [Ch.Slash, '/'],
  [Ch.Percent, '%'],
  [Ch.Eq, '='],
]);

export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  const n = src.length;
  let i = 0;
  const push = (type: TokenType, value: string, start: number) => {
    tokens.push({ type, value, offset: start, length: i - start });
  };
  while (i < n) {
    const c = src.charCodeAt(i);
    // SPACE: [ \t\r\n]+ -> skip
    if (c === Ch.Space || c === Ch.Tab || c === Ch.Lf || c === Ch.Cr) {
      i++;
      continue;
    }
    const start = i;
    if (isWordChar(c)) {
      while (i < n && isWordChar(src.charCodeAt(i))) i++;
      const text = src.slice(start, i);
      if (/^[0-9]+$/.test(text)) {
        push('integer', text, start);
      } else {
        const upper = text.toUpperCase();
        if (KEYWORDS.has(upper)) push('keyword', upper, start);
        else push('word', text, start);
      }
      continue;
    }
    if (c === Ch.SQuote || c === Ch.DQuote) {
      push('string', readString(src, start, c), start);
      continue;
    }
    i++;
    const next = i < n ? src.charCodeAt(i) : -1;
    const single = SINGLE_CHAR_TOKENS.get(c);
    if (single) {
      push(single, single, start);
      continue;
    }
    switch (c) {
      case Ch.Bang:
        if (next !== Ch.Eq)
          throw new CesqlParseError("unexpected character '!' (did you mean '!='?)", src, start, 1);
        i++;
        push('!=', '!=', start);
        break;
      case Ch.Lt:
        if (next === Ch.Eq || next === Ch.Gt) {
          i++;
          push(next === Ch.Eq ? '<=' : '<>', src.slice(start, i), start);
        } else push('<', '<', start);
        break;
      case Ch.Gt:
        if (next === Ch.Eq) {
          i++;
          push('>=', '>=', start);
        } else push('>', '>', start);
        break;
      default: {
        const cp = src.codePointAt(start) ?? c;
        const shown = String.fromCodePoint(cp);
        throw new CesqlParseError(`unexpected character '${shown}'`, src, start, shown.length);
      }
    }
    // `i` was advanced for the operator; keep scanning.
  }
  tokens.push({ type: 'eof', value: '', offset: n, length: 0 });
  return tokens;

  // String literal (spec 2.2, CESQLLexer.g4 SQUOTA_STRING / DQUOTA_STRING). Inside a literal,
  // backslash + the delimiting quote and a doubled delimiter both stand for the quote itself; any
  // other backslash sequence is kept verbatim (so LIKE patterns still see `\%` and `\_`). This is
  // what the CloudEvents Go SDK does for `\'` / `\"`; the doubled quote follows SQL.
  function readString(s: string, from: number, quote: number): string {
    let out = '';
    let j = from + 1;
    let chunk = j;
    for (;;) {
      if (j >= n) {
        throw new CesqlParseError('unterminated string literal', s, from, n - from);
      }
      const d = s.charCodeAt(j);
      if (d === Ch.Backslash && j + 1 < n) {
        if (s.charCodeAt(j + 1) === quote) {
          out += s.slice(chunk, j) + String.fromCharCode(quote);
          j += 2;
          chunk = j;
        } else {
          j += 2; // kept verbatim, including the backslash
        }
        continue;
      }
      if (d === quote) {
        if (j + 1 < n && s.charCodeAt(j + 1) === quote) {
          out += s.slice(chunk, j + 1);
          j += 2;
          chunk = j;
          continue;
        }
        out += s.slice(chunk, j);
        i = j + 1;
        return out;
      }
      j++;
    }
  }
}
