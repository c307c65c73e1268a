// auth-hooks' metric vocabulary (metric-names.ts) is exactly what metrics.ts registers.
import { describe, expect, it } from '@jest/globals';
import { vocabularyProblems } from '@tributary/shared';
import { Registry } from 'prom-client';
import { AUTH_HOOKS_METRICS } from './metric-names.js';
import { createMetrics } from './metrics.js';

describe("auth-hooks' metric vocabulary", () => {
  it('is what metrics.ts registers', () => {
    const registry = new Registry();
    createMetrics(registry);
    expect(vocabularyProblems(registry, Object.values(AUTH_HOOKS_METRICS))).toEqual([]);
  });
});
