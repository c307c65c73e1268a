import { project } from '../../jest.preset.js';

export default project('shared', import.meta.dirname);
