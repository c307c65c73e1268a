// Builds (once, cached like MinIO, keyed by the hash of their sources and pinned versions) and runs the two
// reference programs of `pnpm test:conformance`: `reference/go` (sdk-go CESQL, Knative eventfilter and Trigger
// validation) and `reference/java` (the CloudEvents Java SDK Kafka binding).
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { cacheDir } from '@tributary/testing';

export const REFERENCE_DIR = fileURLToPath(new URL('../reference/', import.meta.url));

type Log = (line: string) => void;

function sourceKey(files: string[]): string {
  const h = createHash('sha256');
  for (const f of files) {
    h.update(f);
    h.update(readFileSync(f));
  }
  return h.digest('hex').slice(0, 16);
}

function requireTool(command: string, args: string[], hint: string): void {
  const probe = spawnSync(command, args, { stdio: 'ignore' });
  if (probe.error || probe.status !== 0)
    throw new Error(`conformance: \`${command}\` is not available: ${hint}`);
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, log: Log): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    const ticker = setInterval(
      () => log(`  still running ${command} (${Math.round((Date.now() - started) / 1000)} s)…`),
      60_000,
    );
    child.on('error', (e) => {
      clearInterval(ticker);
      reject(e);
    });
    child.on('exit', (code) => {
      clearInterval(ticker);
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `${command} ${args.join(' ')} exited with ${code}:\n${output.trim().split('\n').slice(-30).join('\n')}`,
          ),
        );
    });
  });
}

/** Builds into a staging directory renamed into place when complete (an interrupted build leaves nothing). */
async function cachedBuild(
  name: string,
  key: string,
  marker: string,
  build: (dir: string) => Promise<void>,
  log: Log,
): Promise<string> {
  const parent = join(cacheDir(), 'conformance', name);
  const dir = join(parent, key);
  if (existsSync(join(dir, marker))) {
    log(`${name}: using cached build ${dir}`);
    return dir;
  }
  mkdirSync(parent, { recursive: true });
  const staging = mkdtempSync(join(parent, `.build-${key}-`));
  const started = Date.now();
  log(`${name}: building into ${dir} (once per version)…`);
  try {
    await build(staging);
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
    // Builds of older sources are not used again.
    for (const old of readdirSync(parent)) {
      if (old !== key && !old.startsWith('.')) rmSync(join(parent, old), { recursive: true, force: true });
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  log(`${name}: built in ${Math.round((Date.now() - started) / 1000)} s`);
  return dir;
}

/** The Go reference binary (go build; modules from the Go module proxy). */
export async function ensureGoReference(log: Log): Promise<string> {
  const src = join(REFERENCE_DIR, 'go');
  const key = sourceKey(['go.mod', 'go.sum', 'main.go'].map((f) => join(src, f)));
  const dir = await cachedBuild(
    'go-reference',
    key,
    'reference',
    async (out) => {
      requireTool(
        'go',
        ['version'],
        'install Go (the Knative/sdk-go reference is built from the Go module proxy)',
      );
      await run(
        'go',
        ['build', '-trimpath', '-o', join(out, 'reference'), '.'],
        src,
        { ...process.env, GOFLAGS: '-mod=readonly -buildvcs=false' },
        log,
      );
    },
    log,
  );
  return join(dir, 'reference');
}

/** The Java reference: its Maven Central dependencies copied by mvn, KafkaRef.java compiled by javac. */
export async function ensureJavaReference(log: Log): Promise<{ classpath: string }> {
  const src = join(REFERENCE_DIR, 'java');
  const javaFile = join(src, 'src/main/java/dev/tributary/conformance/KafkaRef.java');
  const key = sourceKey([join(src, 'pom.xml'), javaFile]);
  const dir = await cachedBuild(
    'java-reference',
    key,
    'classes/dev/tributary/conformance/KafkaRef.class',
    async (out) => {
      requireTool(
        'mvn',
        ['-v'],
        'install Apache Maven (it fetches io.cloudevents:cloudevents-kafka from Maven Central)',
      );
      requireTool('javac', ['-version'], 'install a JDK 17+');
      await run(
        'mvn',
        [
          '-q',
          '-B',
          '-f',
          join(src, 'pom.xml'),
          'dependency:copy-dependencies',
          `-DoutputDirectory=${join(out, 'libs')}`,
        ],
        src,
        process.env,
        log,
      );
      await run(
        'javac',
        ['-nowarn', '-d', join(out, 'classes'), '-cp', `${join(out, 'libs')}/*`, javaFile],
        src,
        process.env,
        log,
      );
    },
    log,
  );
  const jars = readdirSync(join(dir, 'libs')).map((j) => join(dir, 'libs', j));
  return { classpath: [join(dir, 'classes'), ...jars].join(':') };
}

/** A line-oriented JSON conversation with a reference process: one request, one answer, in order. */
export class LineClient {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly waiting: ((line: string) => void)[] = [];
  private stderr = '';

  constructor(command: string, args: string[]) {
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (c: Buffer) => {
      this.stderr = (this.stderr + c.toString()).slice(-4000);
    });
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on('line', (line) => this.waiting.shift()?.(line));
    this.child.on('exit', (code) => {
      for (const w of this.waiting.splice(0))
        w(JSON.stringify({ fatal: `reference exited with ${code}: ${this.stderr}` }));
    });
  }

  /** Sends many requests at once (pipelined) and returns the answers in order. */
  async requestAll<T>(requests: unknown[]): Promise<T[]> {
    const answers = requests.map(
      () =>
        new Promise<string>((resolve) => {
          this.waiting.push(resolve);
        }),
    );
    for (const r of requests) {
      if (!this.child.stdin.write(`${JSON.stringify(r)}\n`))
        await new Promise((res) => this.child.stdin.once('drain', res));
    }
    return (await Promise.all(answers)).map((a) => JSON.parse(a) as T);
  }

  async close(): Promise<void> {
    this.child.stdin.end();
    if (this.child.exitCode === null) await new Promise((res) => this.child.once('exit', res));
  }
}
