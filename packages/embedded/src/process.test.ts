import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort } from './ports.js';
import { requireTool, type SpawnedService, spawnOnFreePort, spawnService } from './process.js';

// A real server process: node listening on 127.0.0.1:<port>, which says so in its log, or logs EADDRINUSE and
// exits when the port is taken.
function listener(logFile: string, port: number): SpawnedService {
  const script = `require('node:net').createServer().listen(${port}, '127.0.0.1', () => console.log('listening on ${port}'))`;
  return spawnService({ name: 'listener', command: process.execPath, args: ['-e', script], logFile });
}

/** Ready once the listener logs that it listens on `port`. */
function listensOn(logFile: string): (port: number) => Promise<boolean> {
  return async (port) =>
    existsSync(logFile) && readFileSync(logFile, 'utf8').includes(`listening on ${port}\n`);
}

describe('spawnOnFreePort', () => {
  let taken: Server;
  let takenPort: number;
  beforeAll(async () => {
    takenPort = await freePort();
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(takenPort, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => taken.close(() => resolve())));

  it('tries another free port when the server logs that its port is taken', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-process-test-'));
    const logFile = join(dir, 'listener.log');
    const tried: number[] = [];
    const { service, port } = await spawnOnFreePort({
      // The first attempt binds a port that is in use, as when another process takes it after freePort().
      spawn: (p) => listener(logFile, tried.push(p) === 1 ? takenPort : p),
      ready: listensOn(logFile),
      timeoutMs: 10_000,
      portTaken: /EADDRINUSE/,
      portTakenLines: 40,
      removeOnFailure: dir,
    });
    await service.stop();
    rmSync(dir, { recursive: true, force: true });
    expect(tried).toHaveLength(2);
    expect(port).toBe(tried[1]);
  });

  it('fails on a taken fixed port, removing the throwaway data dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-process-test-'));
    const logFile = join(dir, 'listener.log');
    const attempt = spawnOnFreePort({
      port: takenPort,
      spawn: (p) => listener(logFile, p),
      ready: listensOn(logFile),
      timeoutMs: 10_000,
      portTaken: /EADDRINUSE/,
      portTakenLines: 40,
      removeOnFailure: dir,
    });
    await expect(attempt).rejects.toThrow(/listener exited with code 1 while starting[\s\S]*EADDRINUSE/);
    await expect(attempt).rejects.toMatchObject({ code: 'EMBEDDED_START_FAILED', retriable: false });
    expect(existsSync(dir)).toBe(false);
  });
});

describe('requireTool', () => {
  it('passes for a tool that runs and fails naming what to install for one that does not', () => {
    expect(() => requireTool('test', process.execPath, ['--version'], 'install Node')).not.toThrow();
    let caught: unknown;
    try {
      requireTool('kafka', 'tributary-no-such-tool', ['-version'], 'install a JDK 17+');
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({
      code: 'EMBEDDED_TOOL_MISSING',
      message: 'kafka: `tributary-no-such-tool` is not available: install a JDK 17+',
    });
  });
});
