import { project } from '../../jest.preset.js';

export default project('storage-events', import.meta.dirname);
