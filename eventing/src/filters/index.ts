export { attributeValue, type EventAttributes } from './attributes.js';
export {
  type CompiledFilter,
  compileFilter,
  compileTriggerFilter,
  type EventPredicate,
  type FilterIssue,
  type TriggerFilterSpec,
} from './compile.js';
