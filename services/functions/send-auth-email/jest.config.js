import { project } from '../../../jest.preset.js';

export default project('fn-send-auth-email', import.meta.dirname);
