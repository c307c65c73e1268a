import { project } from '../../jest.preset.js';

export default project('auth-hooks', import.meta.dirname);
