import { project } from '../../../jest.preset.js';

export default project('fn-on-user-created', import.meta.dirname);
