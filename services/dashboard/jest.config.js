import { project } from '../../jest.preset.js';

export default project('dashboard', import.meta.dirname);
