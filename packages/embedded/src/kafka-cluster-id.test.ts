import { describe, expect, it } from '@jest/globals';
import { newClusterId } from './kafka.js';

describe('newClusterId', () => {
  it('regression: never starts with "-" (kafka-storage format -t took it for an option)', () => {
    for (let first = 0; first < 256; first++) {
      const bytes = Buffer.alloc(16, 0xff);
      bytes[0] = first;
      const id = newClusterId(bytes);
      expect(id.startsWith('-')).toBe(false);
      expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    }
  });

  it('is random', () => {
    expect(newClusterId()).not.toBe(newClusterId());
  });
});
