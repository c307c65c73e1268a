import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { waitFor } from '@tributary/testing';
import { REPO_ROOT } from './project.js';

// `tributary dev` from an INSTALLED command, not from the clone: the CLI is built, then installed with
// `pnpm deploy` (its package files, plus a node_modules holding copies of its production dependencies, the
// platform's services among them) into a folder outside the repository, and run from a user's project folder
// elsewhere. It finds its services through package resolution, runs them compiled, and loads the project's
// YAML, not the repository's.
jest.setTimeout(900_000);

const work = mkdtempSync(join(tmpdir(), 'tributary-installed-'));
// Postgres runs as its own OS user when the tests run as root: it must be able to enter the folders.
chmodSync(work, 0o755);
const installDir = join(work, 'cli');
const projectDir = join(work, 'my-project');
/** A second project, started empty, for `tributary new` and `tributary validate`. */
const newProjectDir = join(work, 'new-project');
const bin = join(installDir, 'bin', 'tributary.js');

let dev: ChildProcess | undefined;
let out = '';
let subscriber: Server | undefined;
const delivered: { headers: IncomingHttpHeaders; body: string }[] = [];

/** A user's environment: no test services, nothing from the repository's Node options. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info' };
  for (const k of ['DATABASE_URL', 'KAFKA_BROKERS', 'MINIO_ENDPOINT', 'NODE_OPTIONS', 'npm_lifecycle_event'])
    delete env[k];
  return env;
}

function pnpm(args: string[]): void {
  const res = spawnSync('pnpm', args, { cwd: REPO_ROOT, encoding: 'utf8', timeout: 600_000 });
  if (res.status !== 0) throw new Error(`pnpm ${args.join(' ')} failed:\n${res.stdout}\n${res.stderr}`);
}

beforeAll(async () => {
  // The packages the CLI installs, built (turbo's cache skips what did not change), then the install.
  pnpm(['exec', 'turbo', 'run', 'build', '--filter=@tributary/cli...', '--output-logs=errors-only']);
  pnpm(['--filter', '@tributary/cli', 'deploy', '--legacy', '--prod', '--offline', installDir]);

  subscriber = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      delivered.push({ headers: req.headers, body });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((r) => subscriber!.listen(0, '127.0.0.1', r));
  const port = (subscriber.address() as { port: number }).port;

  // The user's project: its own Broker and a Trigger to a subscriber of its own.
  mkdirSync(join(projectDir, 'eventing', 'config'), { recursive: true });
  chmodSync(projectDir, 0o755);
  writeFileSync(
    join(projectDir, 'eventing', 'config', 'resources.yaml'),
    `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  namespace: default
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: installed-probe
  namespace: default
spec:
  broker: default
  filter:
    attributes:
      type: com.example.installed
  subscriber:
    uri: http://127.0.0.1:${port}/
`,
  );
  // ... and a function of its own (no packages to install: it imports nothing), run by the installed runtime.
  const fn = join(projectDir, 'services', 'functions', 'probe');
  mkdirSync(join(fn, 'src'), { recursive: true });
  writeFileSync(
    join(fn, 'service.yaml'),
    `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: probe
  namespace: default
spec:
  template:
    spec:
      containers:
        - image: example.com/probe
`,
  );
  writeFileSync(
    join(fn, 'trigger.yaml'),
    `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: probe
  namespace: default
spec:
  broker: default
  filter:
    attributes:
      type: com.example.probe
  subscriber:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: probe
`,
  );
  writeFileSync(
    join(fn, 'src', 'index.ts'),
    `interface Log { info(fields: object, msg: string): void }
export function handle(context: { log: Log }, event: { id: string }): undefined {
  context.log.info({ eventId: event.id }, 'probe handled an event');
  return undefined;
}
`,
  );
});

afterAll(async () => {
  if (dev && dev.exitCode === null) {
    const exited = new Promise((r) => dev!.once('exit', r));
    dev.kill('SIGINT');
    await exited;
  }
  await new Promise((r) => (subscriber ? subscriber.close(r) : r(undefined)));
  rmSync(work, { recursive: true, force: true });
});

describe('an installed tributary command', () => {
  it('is a copy outside the repository, with every package it starts and no TypeScript loader', () => {
    const ours = join(installDir, 'node_modules', '@tributary');
    const installed = readdirSync(ours).sort();
    expect(installed).toEqual(
      expect.arrayContaining(['auth-hooks', 'db-events', 'embedded', 'function-runtime', 'storage-events']),
    );
    for (const name of installed) {
      const real = realpathSync(join(ours, name));
      expect(real.startsWith(`${REPO_ROOT}/`)).toBe(false);
      expect(existsSync(join(real, 'dist'))).toBe(true);
    }
    expect(existsSync(join(installDir, 'node_modules', 'tsx'))).toBe(false);
    expect(existsSync(join(installDir, 'node_modules', '@tributary', 'testing'))).toBe(false);
  });

  it('answers tributary dev --help from a project folder', () => {
    const help = execFileSync(process.execPath, [bin, 'dev', '--help'], {
      cwd: projectDir,
      env: userEnv(),
      encoding: 'utf8',
    });
    expect(help).toMatch(/^usage: tributary dev /);
    expect(help).toContain('--functions <dir>');
  });

  it('validates the project folder, not its own install folder', () => {
    const res = spawnSync(process.execPath, [bin, 'validate'], {
      cwd: projectDir,
      env: userEnv(),
      encoding: 'utf8',
    });
    expect(res.stdout).toContain('valid: 3 files (1 Broker, 2 Triggers, 1 Service); 0 errors, 0 warnings');
    expect(res.status).toBe(0);
  });

  it('scaffolds a function into the project with tributary new, standalone, which validate then checks', () => {
    mkdirSync(newProjectDir, { recursive: true });
    const tributary = (args: string[]) =>
      spawnSync(process.execPath, [bin, ...args], { cwd: newProjectDir, env: userEnv(), encoding: 'utf8' });

    // An empty folder has nothing to validate: said in one line, no stack trace.
    const empty = tributary(['validate']);
    expect(empty.stderr.trim()).toMatch(
      /^tributary validate: nothing to validate in \S*new-project: it has no eventing\/config folder/,
    );
    expect(empty.status).toBe(1);

    const created = tributary(['new', 'function', 'hello', '--type', 'com.example.hello']);
    expect(created.stdout).toContain('Created services/functions/hello (@tributary/fn-hello)');
    expect(created.stdout).toContain('tributary dev ');
    expect(created.stdout).not.toContain('pnpm tributary');
    expect(created.stderr).toBe('');
    expect(created.status).toBe(0);
    const fn = join(newProjectDir, 'services', 'functions', 'hello');
    expect(existsSync(join(fn, 'src', 'index.ts'))).toBe(true);
    expect(existsSync(join(installDir, 'services'))).toBe(false);

    // Self-contained: published names at the CLI's version, its own Jest and TypeScript settings.
    const pkg = JSON.parse(readFileSync(join(fn, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const cliVersion = (
      JSON.parse(readFileSync(join(installDir, 'package.json'), 'utf8')) as { version: string }
    ).version;
    expect(pkg.dependencies['@tributary/function-runtime']).toBe(cliVersion);
    for (const f of ['package.json', 'jest.config.js', 'tsconfig.json', 'tsconfig.build.json'])
      expect([f, readFileSync(join(fn, f), 'utf8')]).not.toEqual([
        f,
        expect.stringMatching(/workspace:|catalog:|\.\.\/|jest\.preset|tsconfig\.base/),
      ]);

    const validated = tributary(['validate']);
    expect(validated.stdout).toContain(
      'valid: 2 files (0 Brokers, 1 Trigger, 1 Service); 0 errors, 0 warnings',
    );
    expect(validated.status).toBe(0);

    // Its tests and typecheck pass on its own settings. The @tributary packages are not on a public registry
    // (and the tests are offline), so its node_modules links what `npm install` would fetch: the installed
    // CLI's copies of the runtime packages and the repository's Jest, SWC and TypeScript, at the same versions.
    const modules = join(fn, 'node_modules');
    const link = (name: string, from: string) => {
      mkdirSync(dirname(join(modules, name)), { recursive: true });
      symlinkSync(realpathSync(from), join(modules, name));
    };
    const installed = join(installDir, 'node_modules');
    for (const name of ['@tributary/function-runtime', '@tributary/shared', 'zod'])
      link(name, join(installed, name));
    const cloudevents = readdirSync(join(installed, '.pnpm')).find(
      (d) => d === `cloudevents@${pkg.dependencies.cloudevents}`,
    );
    link('cloudevents', join(installed, '.pnpm', `${cloudevents}`, 'node_modules', 'cloudevents'));
    for (const name of Object.keys(pkg.devDependencies)) link(name, join(REPO_ROOT, 'node_modules', name));
    const env = { ...userEnv(), TRIBUTARY_REUSE_SERVICES: '0' };
    const tests = spawnSync(
      process.execPath,
      ['--experimental-vm-modules', '--no-warnings', join(modules, 'jest', 'bin', 'jest.js'), '--ci'],
      { cwd: fn, env, encoding: 'utf8' },
    );
    expect(tests.stderr).toMatch(/Tests:\s+4 passed, 4 total/);
    expect(tests.status).toBe(0);
    const tsc = spawnSync(
      process.execPath,
      [join(modules, 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--noEmit'],
      { cwd: fn, env, encoding: 'utf8' },
    );
    expect(tsc.stdout.trim()).toBe('');
    expect(tsc.status).toBe(0);
  });

  it('runs tributary dev from the project folder: publish -> its Trigger delivers, its function runs; clean Ctrl-C', async () => {
    dev = spawn(process.execPath, [bin, 'dev', '--ports', 'auto', '--json-logs'], {
      cwd: projectDir,
      env: userEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    dev.stdout!.on('data', (d) => {
      out += d;
    });
    dev.stderr!.on('data', (d) => {
      out += d;
    });
    const brokerUrl = await waitFor(
      () => {
        if (dev!.exitCode !== null) throw new Error(`tributary dev exited (${dev!.exitCode}):\n${out}`);
        return out.includes('Tributary is running') ? /^\s+broker\s+(\S+)/m.exec(out)?.[1] : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 200, message: 'tributary dev to start' },
    );
    // The project's YAML, its data folder, and hints for the installed command (not `pnpm tributary`).
    expect(out).toMatch(/2 triggers: installed-probe, probe/);
    expect(out).toMatch(/functions\s+\S+\s+probe \(min 0/);
    expect(out).toContain(`Data: ${join(projectDir, '.tributary')}`);
    expect(out).toMatch(/^ {2}tributary publish --url /m);

    const res = await fetch(brokerUrl, {
      method: 'POST',
      headers: {
        'ce-specversion': '1.0',
        'ce-id': 'installed-1',
        'ce-source': '/tests/installed',
        'ce-type': 'com.example.installed',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ hello: 'installed' }),
    });
    expect(res.status).toBe(202);
    const got = await waitFor(() => delivered.find((d) => d.headers['ce-id'] === 'installed-1'), {
      timeoutMs: 30_000,
      message: 'the Trigger to deliver the event',
    });
    expect(got.headers['ce-type']).toBe('com.example.installed');
    expect(JSON.parse(got.body)).toEqual({ hello: 'installed' });

    // The project's function, cold-started by the installed function runtime.
    const fnRes = await fetch(brokerUrl, {
      method: 'POST',
      headers: {
        'ce-specversion': '1.0',
        'ce-id': 'installed-fn-1',
        'ce-source': '/tests/installed',
        'ce-type': 'com.example.probe',
      },
    });
    expect(fnRes.status).toBe(202);
    await waitFor(
      () =>
        out
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { msg?: string; eventId?: string })
          .find((r) => r.msg === 'probe handled an event' && r.eventId === 'installed-fn-1'),
      { timeoutMs: 60_000, message: 'the probe function to handle its event' },
    );

    const exited = new Promise<number | null>((r) => dev!.once('exit', (code) => r(code)));
    dev.kill('SIGINT');
    expect(await exited).toBe(0);
    const errors = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number })
      .filter((r) => r.level >= 50);
    expect(errors).toEqual([]);
  });
});
