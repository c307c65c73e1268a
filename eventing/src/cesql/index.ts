// CloudEvents SQL Expression Language (CESQL) v1: compiler, evaluator and filter helpers.
export type { CesqlValue } from './ast.js';
export {
  type CesqlCompileResult,
  type CesqlResult,
  type CompiledCesql,
  compileCesql,
} from './compile.js';
export { type CesqlErrorKind, type CesqlEvaluationError, CesqlParseError } from './errors.js';
export {
  type CesqlFilterError,
  type CesqlFilterResult,
  cesqlFilter,
  compileCesqlPredicate,
} from './filter.js';
export type { CesqlEvent, CesqlType } from './values.js';
