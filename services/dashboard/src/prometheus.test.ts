import { describe, expect, it } from '@jest/globals';
import { Counter, Histogram, Registry } from 'prom-client';
import { bucketDelta, buckets, histogramQuantile, parsePrometheusText, sum } from './prometheus.js';

describe('parsePrometheusText', () => {
  it('reads what prom-client serves, including escaped label values', async () => {
    const registry = new Registry();
    const c = new Counter({ name: 'x_total', help: 'h', labelNames: ['a', 'path'], registers: [registry] });
    c.inc({ a: '1', path: 'a "quoted"\\ value\nwith newline' }, 3);
    c.inc({ a: '2', path: 'p' }, 2);
    const h = new Histogram({ name: 'lat_seconds', help: 'h', buckets: [0.1, 1], registers: [registry] });
    h.observe(0.05);
    h.observe(0.5);
    const scrape = parsePrometheusText(await registry.metrics());
    expect(scrape.types.get('x_total')).toBe('counter');
    expect(scrape.types.get('lat_seconds')).toBe('histogram');
    expect(sum(scrape.samples, 'x_total')).toBe(5);
    expect(sum(scrape.samples, 'x_total', { path: 'a "quoted"\\ value\nwith newline' })).toBe(3);
    expect(buckets(scrape.samples, 'lat_seconds')).toEqual(
      new Map([
        [0.1, 1],
        [1, 2],
        [Number.POSITIVE_INFINITY, 2],
      ]),
    );
  });

  it('parses special values and timestamps, and reports the line of a bad sample', () => {
    const s = parsePrometheusText('a NaN\nb +Inf 1700000000000\nc{x="y"} -1.5e3\n').samples;
    expect(Number.isNaN(s[0]!.value)).toBe(true);
    expect(s[1]!.value).toBe(Number.POSITIVE_INFINITY);
    expect(s[2]).toEqual({ name: 'c', labels: { x: 'y' }, value: -1500 });
    expect(() => parsePrometheusText('ok 1\nbad{x="y} 1')).toThrow('line 2');
  });
});

describe('histogramQuantile', () => {
  it('interpolates inside buckets like PromQL', () => {
    const b = new Map([
      [0.1, 50],
      [1, 100],
      [Number.POSITIVE_INFINITY, 100],
    ]);
    expect(histogramQuantile(0.5, b)).toBeCloseTo(0.1);
    expect(histogramQuantile(0.75, b)).toBeCloseTo(0.55);
    expect(histogramQuantile(0.99, b)).toBeCloseTo(0.982);
    expect(Number.isNaN(histogramQuantile(0.5, new Map([[1, 0]])))).toBe(true);
  });

  it('answers the highest finite bound for observations in +Inf', () => {
    expect(
      histogramQuantile(
        0.99,
        new Map([
          [1, 1],
          [Number.POSITIVE_INFINITY, 10],
        ]),
      ),
    ).toBe(1);
  });

  it('bucketDelta subtracts an earlier scrape, and keeps the new counts after a reset', () => {
    const before = new Map([
      [1, 5],
      [Number.POSITIVE_INFINITY, 6],
    ]);
    expect(
      bucketDelta(
        new Map([
          [1, 7],
          [Number.POSITIVE_INFINITY, 9],
        ]),
        before,
      ),
    ).toEqual(
      new Map([
        [1, 2],
        [Number.POSITIVE_INFINITY, 3],
      ]),
    );
    const reset = new Map([
      [1, 1],
      [Number.POSITIVE_INFINITY, 1],
    ]);
    expect(bucketDelta(reset, before)).toBe(reset);
  });
});
