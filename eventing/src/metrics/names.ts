// The broker's metric vocabulary (docs/METRICS.md): names, types and labels of every metric @tributary/eventing
// registers. The registrations (dispatch.ts, ingress.ts, log.ts, serving/function-pool.ts, deadletters/) use
// these names; names.test.ts checks that what they register is exactly this list, and the dashboard's
// collector and infra/'s Grafana dashboards and alert rules read only names from it.
import { metric } from '@tributary/shared';

const TRIGGER = ['namespace', 'broker', 'trigger'] as const;

/** Per-Trigger dispatch (dispatch.ts). `destination` is `subscriber` or `dead_letter`. */
export const TRIGGER_METRICS = {
  /** Final outcome of each delivery (after retries), by HTTP status code (`error` = no response). */
  dispatched: metric('tributary_trigger_events_dispatched_total', 'counter', [
    ...TRIGGER,
    'destination',
    'status_code',
  ]),
  /** Seconds from the first attempt to the final outcome, retries included. */
  dispatchLatency: metric('tributary_trigger_dispatch_latency_seconds', 'histogram', [
    ...TRIGGER,
    'destination',
  ]),
  retries: metric('tributary_trigger_retries_total', 'counter', [...TRIGGER, 'destination']),
  deadLetters: metric('tributary_trigger_dead_letters_total', 'counter', TRIGGER),
  undelivered: metric('tributary_trigger_undelivered_total', 'counter', TRIGGER),
  filtered: metric('tributary_trigger_events_filtered_total', 'counter', TRIGGER),
  skipped: metric('tributary_trigger_events_skipped_total', 'counter', [...TRIGGER, 'reason']),
  inFlight: metric('tributary_trigger_in_flight', 'gauge', TRIGGER),
  replies: metric('tributary_trigger_replies_total', 'counter', [...TRIGGER, 'result']),
  lagEvents: metric('tributary_trigger_lag_events', 'gauge', [...TRIGGER, 'partition']),
  lagSeconds: metric('tributary_trigger_lag_seconds', 'gauge', [...TRIGGER, 'partition']),
} as const;

/** The broker ingress (ingress.ts). `status_code` 202 = accepted. */
export const INGRESS_METRICS = {
  events: metric('tributary_broker_ingress_events_total', 'counter', [
    'namespace',
    'broker',
    'event_type',
    'status_code',
  ]),
  appendDuration: metric('tributary_broker_ingress_append_duration_seconds', 'histogram', [
    'namespace',
    'broker',
    'backend',
    'outcome',
  ]),
} as const;

/** The log backends (log.ts). */
export const LOG_METRICS = {
  writeEvents: metric('tributary_broker_log_write_events', 'histogram', ['backend']),
  writes: metric('tributary_broker_log_writes_total', 'counter', ['backend', 'outcome']),
  undecodable: metric('tributary_broker_log_undecodable_records_total', 'counter', ['backend', 'group']),
  consumerCrashes: metric('tributary_broker_log_consumer_crashes_total', 'counter', ['group', 'restart']),
} as const;

/** The dead-letter store (deadletters/). */
export const DEAD_LETTER_METRICS = {
  received: metric('tributary_dead_letters_received_total', 'counter', ['namespace', 'broker']),
  redriven: metric('tributary_dead_letters_redriven_total', 'counter', ['namespace', 'broker', 'outcome']),
  /** Counted at scrape time from the store. */
  pending: metric('tributary_dead_letters_pending', 'gauge', ['namespace', 'broker']),
} as const;

/** The local Knative Serving stand-in (serving/function-pool.ts). `service` is `<namespace>/<name>`. */
export const SERVING_METRICS = {
  instances: metric('serving_instances', 'gauge', ['service']),
  coldStarts: metric('serving_cold_starts_total', 'counter', ['service']),
  coldStartSeconds: metric('serving_cold_start_seconds', 'histogram', ['service']),
  requests: metric('serving_requests_total', 'counter', ['service', 'code']),
} as const;

/** Every metric @tributary/eventing registers. */
export const EVENTING_METRICS = [
  ...Object.values(TRIGGER_METRICS),
  ...Object.values(INGRESS_METRICS),
  ...Object.values(LOG_METRICS),
  ...Object.values(DEAD_LETTER_METRICS),
  ...Object.values(SERVING_METRICS),
];
