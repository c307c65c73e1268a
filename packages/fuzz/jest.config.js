import { project } from '../../jest.preset.js';

export default project('fuzz', import.meta.dirname);
