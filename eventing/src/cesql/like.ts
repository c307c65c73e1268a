// LIKE patterns (spec 3.4.3), compiled once into a matcher. `%` matches any run of characters, `_`
// exactly one Unicode character; `\%` and `\_` match the character literally. A backslash before any
// other character is an ordinary character (TCK like_expression "Exact match (2)": `'ab\c' LIKE
// 'ab\c'` is true), as in the CloudEvents Go SDK.
//
// Common shapes get a string-method fast path (exact, prefix%, %suffix, %infix%, prefix%suffix);
// anything else runs a linear-backtracking wildcard matcher (no RegExp, so no exponential blow-up
// on patterns like '%a%a%a%a%b').

export type LikeMatcher = (value: string) => boolean;

const ONE = -1; // `_`
const MANY = -2; // `%`

/** Pattern as UTF-16 code units, with ONE / MANY for the wildcards. */
function lower(pattern: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    if (c === 92 /* \ */ && i + 1 < pattern.length) {
      const d = pattern.charCodeAt(i + 1);
      if (d === 37 /* % */ || d === 95 /* _ */) {
        out.push(d);
        i++;
        continue;
      }
    }
    out.push(c === 37 ? MANY : c === 95 ? ONE : c);
  }
  // Collapse runs of `%`: they match the same as one.
  return out.filter((c, i) => !(c === MANY && out[i - 1] === MANY));
}

export function compileLike(pattern: string): LikeMatcher {
  const p = lower(pattern);
  if (!p.includes(ONE)) {
    const parts: string[] = [];
    let current: number[] = [];
    for (const c of p) {
      if (c === MANY) {
        parts.push(String.fromCharCode(...current));
        current = [];
      } else current.push(c);
    }
    parts.push(String.fromCharCode(...current));
    // parts.length - 1 === number of `%`
    if (parts.length === 1) {
      const exact = parts[0]!;
      return (v) => v === exact;
    }
    if (parts.length === 2) {
      const [head = '', tail = ''] = parts;
      if (tail === '') return head === '' ? () => true : (v) => v.startsWith(head);
      if (head === '') return (v) => v.endsWith(tail);
      const min = head.length + tail.length;
      return (v) => v.length >= min && v.startsWith(head) && v.endsWith(tail);
    }
    if (parts.length === 3 && parts[0] === '' && parts[2] === '') {
      const infix = parts[1]!;
      return (v) => v.includes(infix);
    }
  }
  return (v) => wildcardMatch(v, p);
}

/**
 * Classic single-backtrack-point wildcard matching, O(|value| * |pattern|) in the worst case.
 * Works on UTF-16 code units, except that `_` and the backtracking step advance by a whole code
 * point, so a surrogate pair counts as one character.
 */
function wildcardMatch(v: string, p: readonly number[]): boolean {
  const n = v.length;
  const m = p.length;
  let t = 0;
  let k = 0;
  let star = -1;
  let mark = 0;
  while (t < n) {
    const pc = k < m ? p[k]! : 0;
    if (k < m && pc === ONE) {
      t += charWidth(v, t);
      k++;
    } else if (k < m && pc >= 0 && pc === v.charCodeAt(t)) {
      t++;
      k++;
    } else if (k < m && pc === MANY) {
      star = k++;
      mark = t;
    } else if (star !== -1) {
      k = star + 1;
      mark += charWidth(v, mark);
      t = mark;
    } else {
      return false;
    }
  }
  while (k < m && p[k] === MANY) k++;
  return k === m;
}

function charWidth(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return 2;
  }
  return 1;
}
