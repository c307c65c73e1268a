import { project } from '../../jest.preset.js';

// Its unit tests start no services; the starters are exercised by @tributary/testing's integration tests
// (the shared services of a test run) and by `tributary dev`.
export default project('embedded', import.meta.dirname, { services: 'none' });
