import { project } from '../../jest.preset.js';

export default project('db-events', import.meta.dirname);
