// CESQL error values (spec 3.3). Evaluation errors are plain tagged objects, not `Error`s: they are
// created on the hot path (e.g. a filter on an extension most events lack) and capturing a stack
// trace per event would cost more than the evaluation itself. Parse errors happen once, at compile
// time, so they are real `Error`s that can be thrown or wrapped.

/** The error kinds every CESQL engine must report (spec 3.3), named as in the TCK. */
export type CesqlErrorKind =
  | 'parse'
  | 'math'
  | 'cast'
  | 'missingFunction'
  | 'functionEvaluation'
  | 'missingAttribute'
  | 'generic';

/** An error raised while evaluating a compiled expression against one event. */
export interface CesqlEvaluationError {
  readonly kind: Exclude<CesqlErrorKind, 'parse'>;
  readonly message: string;
}

export function evaluationError(kind: CesqlEvaluationError['kind'], message: string): CesqlEvaluationError {
  return { kind, message };
}

/**
 * A syntax error, located like a compiler does: 1-based line and column, plus an excerpt of the
 * offending line with carets under the bad token.
 */
export class CesqlParseError extends Error {
  readonly kind = 'parse' as const;
  /** What went wrong, without the location ("expected ')' but found end of input"). */
  readonly reason: string;
  readonly expression: string;
  /** 1-based line of the offending token. */
  readonly line: number;
  /** 1-based column (UTF-16 code units) of the offending token within its line. */
  readonly column: number;
  /** 0-based offset of the offending token in the expression. */
  readonly offset: number;
  /** The offending line and a caret line under the offending token, separated by a newline. */
  readonly excerpt: string;

  constructor(reason: string, expression: string, offset: number, length: number) {
    const { line, column, lineText } = locate(expression, offset);
    const width = Math.max(1, Math.min(length, lineText.length - (column - 1)));
    const excerpt = `${lineText}\n${' '.repeat(column - 1)}${'^'.repeat(width)}`;
    super(`${reason} (line ${line}, column ${column})`);
    this.name = 'CesqlParseError';
    this.reason = reason;
    this.expression = expression;
    this.line = line;
    this.column = column;
    this.offset = offset;
    this.excerpt = excerpt;
  }

  /** Multi-line, compiler-style rendering: `cesql:1:8: error: ...` followed by the excerpt. */
  format(): string {
    const gutter = String(this.line);
    const [text = '', carets = ''] = this.excerpt.split('\n');
    return (
      `cesql:${this.line}:${this.column}: error: ${this.reason}\n` +
      ` ${gutter} | ${text}\n` +
      ` ${' '.repeat(gutter.length)} | ${carets}`
    );
  }
}

function locate(source: string, offset: number): { line: number; column: number; lineText: string } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < source.length; i++) {
    if (source.charCodeAt(i) === 10 /* \n */) {
      line++;
      lineStart = i + 1;
    }
  }
  let lineEnd = source.indexOf('\n', lineStart);
  if (lineEnd === -1) lineEnd = source.length;
  const lineText = source.slice(lineStart, lineEnd).replace(/\r$/, '').replace(/\t/g, ' ');
  return { line, column: offset - lineStart + 1, lineText };
}
