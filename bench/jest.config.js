import { project } from '../jest.preset.js';

// Unit tests of the benches' helpers only: no service is started (the benches themselves are run by hand).
export default project('bench', import.meta.dirname, { services: 'none' });
