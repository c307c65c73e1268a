/** The Kafka start-up compatibility check, against the real test broker (the version infra deploys). */
import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from '@jest/globals';
import { testEnv } from '@tributary/testing';
import {
  type ApiVersionRange,
  assertKafkaCompatible,
  compareApiVersions,
  fetchApiVersions,
  kafkajsApis,
  REQUIRED_KAFKA_APIS,
} from './kafka-compat.js';

/** A TCP server that answers ApiVersions v0 with the given ranges, as a future broker might. */
async function brokerAnswering(ranges: ApiVersionRange[]): Promise<{ address: string; server: Server }> {
  const server = createServer((socket) => {
    socket.once('data', (request: Buffer) => {
      const correlationId = request.readInt32BE(8);
      const body = Buffer.alloc(4 + 2 + 4 + ranges.length * 6);
      body.writeInt32BE(correlationId, 0);
      body.writeInt16BE(0, 4);
      body.writeInt32BE(ranges.length, 6);
      ranges.forEach((r, i) => {
        body.writeInt16BE(r.apiKey, 10 + i * 6);
        body.writeInt16BE(r.minVersion, 12 + i * 6);
        body.writeInt16BE(r.maxVersion, 14 + i * 6);
      });
      const size = Buffer.alloc(4);
      size.writeInt32BE(body.length, 0);
      socket.end(Buffer.concat([size, body]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { address: `127.0.0.1:${port}`, server };
}

describe('Kafka API version check', () => {
  const servers: Server[] = [];
  afterAll(() => {
    for (const s of servers) s.close();
  });

  it("reads kafkajs's request table (fails when a kafkajs upgrade moves it)", () => {
    const apis = kafkajsApis();
    const names = apis.map((a) => a.name);
    for (const required of REQUIRED_KAFKA_APIS) expect(names).toContain(required);
    const produce = apis.find((a) => a.name === 'Produce');
    expect(produce?.apiKey).toBe(0);
    expect(produce?.versions.length).toBeGreaterThan(0);
  });

  it('the test broker (the Kafka that infra deploys) accepts every request kafkajs sends', async () => {
    const [broker] = testEnv().kafkaBrokers;
    const ranges = await fetchApiVersions(broker as string);
    expect(ranges.find((r) => r.apiKey === 0)).toBeDefined(); // Produce
    expect(compareApiVersions(kafkajsApis(), ranges)).toEqual([]);
    await expect(assertKafkaCompatible(testEnv().kafkaBrokers)).resolves.toBeUndefined();
  });

  it('refuses a broker whose minimum is above what kafkajs sends, naming the API', async () => {
    const [broker] = testEnv().kafkaBrokers;
    const real = await fetchApiVersions(broker as string);
    const produceMax = Math.max(...(kafkajsApis().find((a) => a.name === 'Produce')?.versions ?? [0]));
    const raised = real.map((r) =>
      r.apiKey === 0 ? { apiKey: 0, minVersion: produceMax + 1, maxVersion: produceMax + 5 } : r,
    );
    const future = await brokerAnswering(raised);
    servers.push(future.server);
    const failure = assertKafkaCompatible([future.address]);
    await expect(failure).rejects.toMatchObject({ code: 'KAFKA_INCOMPATIBLE', retriable: false });
    await expect(failure).rejects.toThrow(
      `Produce (api key 0): the broker accepts v${produceMax + 1}-v${produceMax + 5}, kafkajs sends at most v${produceMax}`,
    );
  });

  it('refuses a broker that lacks an API every client needs', () => {
    const problems = compareApiVersions(kafkajsApis(), [{ apiKey: 18, minVersion: 0, maxVersion: 3 }]);
    expect(problems.map((p) => p.api)).toEqual(expect.arrayContaining(['Produce', 'Fetch', 'JoinGroup']));
    expect(problems.every((p) => p.reason === 'the broker does not offer this API')).toBe(true);
  });

  it('skips brokers it cannot reach (an outage is not a version mismatch)', async () => {
    const closed = await brokerAnswering([]);
    closed.server.close();
    await expect(assertKafkaCompatible([closed.address], { timeoutMs: 500 })).resolves.toBeUndefined();
  });
});
