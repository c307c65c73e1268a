import { project } from '../../../jest.preset.js';

export default project('function-runtime', import.meta.dirname);
