import { describe, expect, it } from '@jest/globals';
import { autoPorts } from './platform.js';

describe('autoPorts', () => {
  it('gives every service a port of its own (regression: db-events and storage-events on one port)', async () => {
    for (let i = 0; i < 20; i++) {
      const ports = Object.values(await autoPorts());
      expect(new Set(ports).size).toBe(ports.length);
    }
  });
});
