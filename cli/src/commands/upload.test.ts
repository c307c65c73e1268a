import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { main } from '../index.js';
import { captureIo } from './capture-io.test-util.js';

const dir = mkdtempSync(join(tmpdir(), 'tributary-upload-'));
const file = join(dir, 'hello.txt');
writeFileSync(file, 'hello\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('tributary upload', () => {
  it('names MinIO and how to start it when nothing listens (regression: a raw ECONNREFUSED after 28 s)', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const t = captureIo({ MINIO_ENDPOINT: endpoint });
    expect(await main(['upload', file], t.io)).toBe(1);
    expect(t.err).toEqual([
      `tributary upload: MinIO is not reachable at ${endpoint} (connection refused). Check MINIO_ENDPOINT, or unset it to use the MinIO of \`pnpm tributary dev\`.`,
    ]);
  });

  it('says how to start MinIO when the default endpoint is down', async () => {
    const t = captureIo({});
    // The default endpoint is 127.0.0.1:9000; when a MinIO does run there, this case does not apply.
    const code = await main(['upload', file, '--bucket', `missing-${process.pid}`], t.io);
    if (t.err[0]?.includes('is not reachable')) {
      expect(code).toBe(1);
      expect(t.err[0]).toContain('Start it with `pnpm tributary dev`');
    } else {
      expect(t.err.join('\n')).toContain(`bucket "missing-${process.pid}" does not exist`);
    }
    expect(t.err.join('\n')).not.toMatch(/\n\s+at /);
  });

  it('reports a missing file as a usage error', async () => {
    const t = captureIo({});
    expect(await main(['upload', join(dir, 'nope.txt')], t.io)).toBe(2);
    expect(t.err[0]).toContain('cannot read');
    expect(t.err[0]).toContain('(ENOENT)');
  });
});
