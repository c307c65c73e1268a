// The Kubernetes settings of the dashboard fail at start-up naming the variable, and parse as documented.
import { describe, expect, it } from '@jest/globals';
import { loadEnv } from './env.js';
import { parseDeadLetterSinks } from './prometheus-source.js';

describe('Prometheus and dead-letter sink settings', () => {
  it('parses a Prometheus URL, a window and KafkaSink dead-letter sinks', () => {
    const env = loadEnv({
      // Operators sign in with the platform JWT (the default DASHBOARD_AUTH=jwt needs its secret).
      DASHBOARD_JWT_SECRET: 'a-platform-jwt-secret-of-at-least-32-chars',
      DASHBOARD_PROMETHEUS_URL: 'http://prometheus-operated.monitoring.svc:9090',
      DASHBOARD_DEAD_LETTER_SINKS: 'tributary/default=dead-letters:tributary-dead-letters,shop/orders=dlq',
    });
    expect(env.DASHBOARD_PROMETHEUS_URL).toBe('http://prometheus-operated.monitoring.svc:9090');
    expect(env.DASHBOARD_PROMETHEUS_WINDOW).toBe('2m');
    expect(parseDeadLetterSinks(env.DASHBOARD_DEAD_LETTER_SINKS)).toEqual([
      { namespace: 'tributary', broker: 'default', sink: 'dead-letters', topic: 'tributary-dead-letters' },
      { namespace: 'shop', broker: 'orders', sink: 'dlq' },
    ]);
  });

  it.each([
    [{ DASHBOARD_PROMETHEUS_URL: 'prometheus:9090' }, 'DASHBOARD_PROMETHEUS_URL'],
    [
      { DASHBOARD_PROMETHEUS_WINDOW: 'two minutes' },
      'DASHBOARD_PROMETHEUS_WINDOW: a PromQL duration such as 2m',
    ],
    [
      { DASHBOARD_DEAD_LETTER_SINKS: 'default=dead-letters' },
      'DASHBOARD_DEAD_LETTER_SINKS.0: each entry is <namespace>/<broker>=<kafkasink>[:<topic>]',
    ],
  ])('refuses %j naming the variable', (env, message) => {
    expect(() => loadEnv(env)).toThrow(message);
  });
});
