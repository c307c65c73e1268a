// The service kit's metric vocabulary (SERVER_METRICS) is what createServer registers, and the vocabulary
// check names every kind of disagreement.
import { describe, expect, it } from '@jest/globals';
import { Counter, Registry } from 'prom-client';
import { createLogger } from './logging.js';
import {
  metric,
  SERVER_METRICS,
  seriesLabels,
  seriesNames,
  vocabularyProblems,
} from './metric-vocabulary.js';
import { createServer } from './server.js';

describe('the metric vocabulary', () => {
  it("is what createServer registers (besides prom-client's default metrics), with the service label", async () => {
    const registry = new Registry();
    const app = createServer({
      name: 'vocab',
      logger: createLogger({ name: 'vocab', level: 'silent' }),
      registry,
    });
    try {
      const isDefault = (n: string) => SERVER_METRICS.defaultMetricPrefixes.some((p) => n.startsWith(p));
      expect(
        vocabularyProblems(registry, [SERVER_METRICS.httpRequestDuration], (n) => !isDefault(n)),
      ).toEqual([]);
      expect(await registry.metrics()).toContain(`${SERVER_METRICS.defaultLabel}="vocab"`);
    } finally {
      await app.close();
    }
  });

  it('names a wrong type, wrong labels, an undeclared and a missing metric', () => {
    const registry = new Registry();
    new Counter({ name: 'a_total', help: 'a', labelNames: ['x', 'y'], registers: [registry] });
    new Counter({ name: 'b_total', help: 'b', registers: [registry] });
    new Counter({ name: 'c_total', help: 'c', registers: [registry] });
    expect(
      vocabularyProblems(registry, [
        metric('a_total', 'counter', ['x']),
        metric('b_total', 'gauge'),
        metric('d_total', 'counter'),
      ]),
    ).toEqual([
      'a_total has labels [x,y], the vocabulary says [x]',
      'b_total is a counter, the vocabulary says gauge',
      "c_total is registered but not in the vocabulary: add it to the package's *_METRICS",
      'd_total is in the vocabulary but nothing registers it',
    ]);
  });

  it("gives a histogram's and a summary's series and their labels", () => {
    const h = metric('h_seconds', 'histogram', ['t']);
    expect(seriesNames(h)).toEqual(['h_seconds_bucket', 'h_seconds_sum', 'h_seconds_count']);
    expect(seriesLabels(h, 'h_seconds_bucket')).toEqual(['t', 'le']);
    expect(seriesLabels(h, 'h_seconds_sum')).toEqual(['t']);
    const s = metric('s', 'summary');
    expect(seriesNames(s)).toEqual(['s', 's_sum', 's_count']);
    expect(seriesLabels(s, 's')).toEqual(['quantile']);
  });
});
