// Debezium Server (io.debezium:debezium-server-dist from Maven Central) as a peer line in the db-events
// bench: the Postgres connector (pgoutput), the Kafka sink (acks=all, idempotent), the CloudEvents format.
// The zip is fetched once with Maven (`mvn dependency:copy`, the ordinary client, so ~/.m2 and any mirror in
// settings.xml apply) and unpacked under ~/.cache/tributary/debezium/<version>/. It needs Java 21+: the
// Temurin 25 JDK is looked for under /usr/lib/jvm, or $DEBEZIUM_JAVA_HOME / $JAVA_HOME.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

export const DEBEZIUM_VERSION = process.env.BENCH_DEBEZIUM_VERSION ?? '3.6.1.Final';

/**
 * The harness cache, resolved as packages/testing's `cacheDir()` does (TRIBUTARY_CACHE_DIR, else
 * $XDG_CACHE_HOME/tributary, else ~/.cache/tributary); not imported, since those starters are moving.
 */
function cacheRoot(): string {
  if (process.env.TRIBUTARY_CACHE_DIR) return process.env.TRIBUTARY_CACHE_DIR;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tributary');
}

/** The unpacked Debezium Server, downloading and unpacking it on first use. */
export function debeziumHome(version = DEBEZIUM_VERSION): string {
  const home = join(cacheRoot(), 'debezium', version);
  if (existsSync(join(home, 'lib'))) return home;
  const download = join(cacheRoot(), 'debezium', 'download');
  mkdirSync(download, { recursive: true });
  const zip = join(download, `debezium-server-dist-${version}.zip`);
  if (!existsSync(zip)) {
    console.log(`fetching io.debezium:debezium-server-dist:${version}:zip with mvn (about 800 MB, once)`);
    execFileSync(
      'mvn',
      [
        '-q',
        '-B',
        'dependency:copy',
        `-Dartifact=io.debezium:debezium-server-dist:${version}:zip`,
        `-DoutputDirectory=${download}`,
      ],
      { stdio: 'inherit', cwd: tmpdir() },
    );
  }
  const unpacking = `${home}.unpacking`;
  rmSync(unpacking, { recursive: true, force: true });
  execFileSync('unzip', ['-q', zip, '-d', unpacking], { stdio: 'inherit' });
  renameSync(join(unpacking, 'debezium-server'), home);
  rmSync(unpacking, { recursive: true, force: true });
  return home;
}

/** A Java 21+ runtime: $DEBEZIUM_JAVA_HOME, a Temurin 25 (or any 21+) JDK under /usr/lib/jvm, or $JAVA_HOME. */
export function javaBinary(): string {
  const candidates: string[] = [];
  if (process.env.DEBEZIUM_JAVA_HOME) candidates.push(process.env.DEBEZIUM_JAVA_HOME);
  if (existsSync('/usr/lib/jvm')) {
    const jdks = readdirSync('/usr/lib/jvm')
      .map((name) => ({ name, major: Number(/(\d+)/.exec(name)?.[1] ?? 0) }))
      .filter((j) => j.major >= 21)
      .sort(
        (a, b) =>
          Number(b.name.includes('temurin')) - Number(a.name.includes('temurin')) || b.major - a.major,
      );
    candidates.push(...jdks.map((j) => join('/usr/lib/jvm', j.name)));
  }
  if (process.env.JAVA_HOME) candidates.push(process.env.JAVA_HOME);
  for (const c of candidates) if (existsSync(join(c, 'bin', 'java'))) return join(c, 'bin', 'java');
  throw new Error(
    'BENCH_DEBEZIUM=1 needs Java 21+: set DEBEZIUM_JAVA_HOME (a Temurin 25 JDK is expected under /usr/lib/jvm)',
  );
}

export interface DebeziumRun {
  child: ChildProcess;
  /** The topic the Kafka sink writes: `<prefix>.<schema>.<table>`. */
  topicFor(schema: string, table: string): string;
  stop(): Promise<void>;
}

export interface DebeziumOptions {
  databaseUrl: string;
  brokers: string[];
  slot: string;
  publication: string;
  tables: string[];
  prefix: string;
  httpPort: number;
  /** The connector's `poll.interval.ms` (Debezium's default is 500). */
  pollIntervalMs?: number;
  /** Extra `debezium.*` properties. */
  extra?: Record<string, string>;
}

/** Starts Debezium Server in its own working folder (config/application.properties, data/offsets.dat). */
export function startDebezium(opts: DebeziumOptions): DebeziumRun {
  const home = debeziumHome();
  const work = join(tmpdir(), `tributary-debezium-${opts.prefix}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, 'config'), { recursive: true });
  mkdirSync(join(work, 'data'), { recursive: true });
  const url = new URL(opts.databaseUrl);
  const props: Record<string, string> = {
    'debezium.sink.type': 'kafka',
    'debezium.sink.kafka.producer.bootstrap.servers': opts.brokers.join(','),
    'debezium.sink.kafka.producer.key.serializer': 'org.apache.kafka.common.serialization.StringSerializer',
    'debezium.sink.kafka.producer.value.serializer': 'org.apache.kafka.common.serialization.StringSerializer',
    'debezium.sink.kafka.producer.acks': 'all',
    'debezium.sink.kafka.producer.enable.idempotence': 'true',
    'debezium.format.value': 'cloudevents',
    'debezium.format.key': 'json',
    'debezium.source.connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
    'debezium.source.offset.storage.file.filename': join(work, 'data', 'offsets.dat'),
    'debezium.source.offset.flush.interval.ms': '0',
    'debezium.source.database.hostname': url.hostname,
    'debezium.source.database.port': url.port || '5432',
    'debezium.source.database.user': decodeURIComponent(url.username),
    'debezium.source.database.password': decodeURIComponent(url.password),
    'debezium.source.database.dbname': url.pathname.slice(1) || 'postgres',
    'debezium.source.topic.prefix': opts.prefix,
    'debezium.source.table.include.list': opts.tables.join(','),
    'debezium.source.plugin.name': 'pgoutput',
    'debezium.source.slot.name': opts.slot,
    'debezium.source.publication.name': opts.publication,
    'debezium.source.publication.autocreate.mode': 'disabled',
    'debezium.source.snapshot.mode': 'no_data',
    // Logical messages are database-wide (not filtered by the publication); db-events turns only its own
    // prefix into events, so Debezium gets the same filter (else it writes others to `<prefix>.message`).
    'debezium.source.message.prefix.include.list': 'tributary',
    'debezium.source.poll.interval.ms': String(opts.pollIntervalMs ?? 500),
    'quarkus.http.host': '127.0.0.1',
    'quarkus.http.port': String(opts.httpPort),
    'quarkus.log.level': 'WARN',
    ...opts.extra,
  };
  writeFileSync(
    join(work, 'config', 'application.properties'),
    `${Object.entries(props)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  );
  const runner = readdirSync(home).find((f) => /^debezium-server-.*runner\.jar$/.test(f));
  if (!runner) throw new Error(`no runner jar in ${home}`);
  const classpath = [join(home, runner), join(home, 'config', 'lib'), join(home, 'lib', '*')].join(':');
  // Java 24+ needs java.lang opened for Quarkus' thread-local reset (jboss-threads says so at start).
  const jvm = [
    '--add-opens',
    'java.base/java.lang=ALL-UNNAMED',
    ...(process.env.BENCH_DEBEZIUM_JVM_OPTS ?? '').split(' ').filter(Boolean),
  ];
  const child = spawn(javaBinary(), [...jvm, '-cp', classpath, 'io.debezium.server.Main'], {
    cwd: work,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let stopping = false;
  const keep = (d: Buffer) => {
    err = (err + d.toString()).slice(-4000);
    if (process.env.BENCH_DEBEZIUM_LOG) process.stderr.write(d);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('exit', (code, signal) => {
    if (signal === null && !stopping)
      console.error(`debezium exited ${code} on its own; its last output:\n${err}`);
  });
  return {
    child,
    topicFor: (schema, table) => `${opts.prefix}.${schema}.${table}`,
    stop: async () => {
      stopping = true;
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
      rmSync(work, { recursive: true, force: true });
    },
  };
}
