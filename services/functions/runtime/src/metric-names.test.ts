// The function runtime's metric vocabulary (metric-names.ts) is exactly what the host registers (besides the
// service kit's own, checked in @tributary/shared).
import { describe, expect, it } from '@jest/globals';
import { createLogger, vocabularyProblems } from '@tributary/shared';
import { Registry } from 'prom-client';
import { createFunctionHost } from './host.js';
import { FUNCTION_METRICS } from './metric-names.js';

describe("the function runtime's metric vocabulary", () => {
  it('is what the host registers', async () => {
    const registry = new Registry();
    const app = createFunctionHost({
      name: 'metric-names',
      fn: { handle: async () => undefined },
      logger: createLogger({ name: 'metric-names-test', level: 'silent' }),
      registry,
    });
    try {
      expect(
        vocabularyProblems(registry, Object.values(FUNCTION_METRICS), (n) => n.startsWith('function_')),
      ).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
