export {
  createLocalServing,
  discoverServices,
  type LocalServing,
  type LocalServingOptions,
  type ServiceRef,
} from './activator.js';
export { createServingMetrics, FunctionPool, type RuntimeCommand } from './function-pool.js';
export { loadServiceSpec, parseDuration as parseServiceDuration, type ServiceSpec } from './service-spec.js';
export { StemCells } from './stem-cells.js';
