// storage-events' metric vocabulary (metric-names.ts) is exactly what its server registers (besides the
// service kit's own, checked in @tributary/shared).
import { describe, expect, it } from '@jest/globals';
import { createLogger, vocabularyProblems } from '@tributary/shared';
import { Registry } from 'prom-client';
import { buildApp } from './app.js';
import { STORAGE_EVENTS_METRICS } from './metric-names.js';

describe("storage-events' metric vocabulary", () => {
  it('is what buildApp registers', async () => {
    const registry = new Registry();
    const app = buildApp({
      logger: createLogger({ name: 'metric-names-test', level: 'silent' }),
      token: 'metric-names-test-token',
      sink: { publish: async () => {} },
      registry,
    });
    try {
      expect(
        vocabularyProblems(registry, Object.values(STORAGE_EVENTS_METRICS), (n) =>
          n.startsWith('storage_events_'),
        ),
      ).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
