import { project } from '../../../jest.preset.js';

export default project('fn-file-indexer', import.meta.dirname);
