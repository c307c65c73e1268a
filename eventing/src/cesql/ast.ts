// CESQL abstract syntax tree, as produced by the parser and consumed by the compiler.

export type CesqlValue = string | number | boolean;

export type BinaryOperator =
  | '*'
  | '/'
  | '%'
  | '+'
  | '-'
  | '='
  | '!='
  | '<>'
  | '<'
  | '<='
  | '>'
  | '>='
  | 'AND'
  | 'OR'
  | 'XOR';

export type Node =
  | { readonly kind: 'literal'; readonly value: CesqlValue }
  | { readonly kind: 'attribute'; readonly name: string }
  | { readonly kind: 'exists'; readonly name: string }
  | { readonly kind: 'not'; readonly operand: Node }
  | { readonly kind: 'negate'; readonly operand: Node }
  | { readonly kind: 'binary'; readonly op: BinaryOperator; readonly left: Node; readonly right: Node }
  | { readonly kind: 'like'; readonly operand: Node; readonly pattern: string; readonly negated: boolean }
  | { readonly kind: 'in'; readonly operand: Node; readonly set: readonly Node[]; readonly negated: boolean }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly Node[] };
