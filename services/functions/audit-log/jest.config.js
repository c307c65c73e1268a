import { project } from '../../../jest.preset.js';

export default project('fn-audit-log', import.meta.dirname);
