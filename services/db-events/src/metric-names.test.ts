// db-events' metric vocabulary (metric-names.ts) is exactly what metrics.ts registers.
import { describe, expect, it } from '@jest/globals';
import { vocabularyProblems } from '@tributary/shared';
import { Registry } from 'prom-client';
import { DB_EVENTS_METRICS } from './metric-names.js';
import { createMetrics } from './metrics.js';

describe("db-events' metric vocabulary", () => {
  it('is what metrics.ts registers', () => {
    const registry = new Registry();
    createMetrics(registry);
    expect(vocabularyProblems(registry, Object.values(DB_EVENTS_METRICS))).toEqual([]);
  });
});
