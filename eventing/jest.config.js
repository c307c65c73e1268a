import { project } from '../jest.preset.js';

export default project('eventing', import.meta.dirname);
