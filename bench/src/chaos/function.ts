// The chaos suite's function (hosted by the real function runtime in its own process): forwards each event it
// handles to the suite's collector, so the suite sees what reached the function. A failed forward throws, so
// the runtime answers 500 and the broker retries.
import type { CloudEvent } from 'cloudevents';

// A test fixture configured by the suite: the one place here that reads the environment.
const collector = process.env.CHAOS_COLLECTOR_URL;

export async function handle(_context: unknown, event: CloudEvent<unknown>): Promise<void> {
  if (!collector) throw new Error('CHAOS_COLLECTOR_URL is not set');
  const res = await fetch(collector, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'ce-id': event.id,
      'ce-source': event.source,
      ...(typeof event.partitionkey === 'string' ? { 'ce-partitionkey': event.partitionkey } : {}),
    },
    body: JSON.stringify(event.data ?? null),
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`collector answered ${res.status}`);
}
