// The broker's metric vocabulary (names.ts) is exactly what its code registers: a metric added, renamed or
// relabelled at a registration without names.ts (or the other way round) fails here, naming it.
import { describe, expect, it } from '@jest/globals';
import { createLogger, vocabularyProblems } from '@tributary/shared';
import { Registry } from 'prom-client';
import { createDeadLetterStore } from '../deadletters/index.js';
import { createServingMetrics } from '../serving/index.js';
import { dispatchMetrics } from './dispatch.js';
import { ingressMetrics } from './ingress.js';
import { logMetrics } from './log.js';
import { EVENTING_METRICS, TRIGGER_METRICS } from './names.js';

describe("@tributary/eventing's metric vocabulary", () => {
  it('is what the ingress, dispatcher, log backends, dead-letter store and local Serving register', async () => {
    const registry = new Registry();
    dispatchMetrics(registry);
    ingressMetrics(registry);
    logMetrics(registry);
    createServingMetrics(registry);
    // The pool connects lazily: nothing is contacted.
    const store = createDeadLetterStore({
      databaseUrl: 'postgres://127.0.0.1:9/unused',
      logger: createLogger({ name: 'names-test', level: 'silent' }),
      registry,
    });
    try {
      expect(registry.getMetricsAsArray().length).toBe(EVENTING_METRICS.length);
      expect(vocabularyProblems(registry, EVENTING_METRICS)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('names a metric registered outside it, and one it lists that nothing registers', () => {
    const registry = new Registry();
    dispatchMetrics(registry);
    const problems = vocabularyProblems(registry, [
      ...Object.values(TRIGGER_METRICS).filter((m) => m !== TRIGGER_METRICS.retries),
      { name: 'tributary_trigger_gone_total', type: 'counter', labels: [] },
    ]);
    expect(problems).toEqual([
      expect.stringContaining('tributary_trigger_retries_total is registered but not in the vocabulary'),
      expect.stringContaining('tributary_trigger_gone_total is in the vocabulary but nothing registers it'),
    ]);
  });
});
