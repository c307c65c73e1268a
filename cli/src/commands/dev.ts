import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@tributary/shared';
import { type Command, parseOptions, UsageError } from '../command.js';
import type { DevPorts } from '../dev/platform.js';
import { formatLogLine } from '../dev/pretty.js';
import { commandName, devProject } from '../dev/project.js';

const usage = `usage: tributary dev [--data-dir <dir>] [--ports auto] [--config <dir>] [--functions <dir>] [--json-logs]

Runs the whole platform on this machine, no Kubernetes needed:
  embedded Postgres 17 (wal_level=logical, demo schema users/projects/files)
  MinIO with bucket "uploads" (MINIO_ENDPOINT, or built once with go install in the background,
    while the rest starts; storage-events joins when it is ready)
  the broker (Postgres log by default; Kafka when KAFKA_BROKERS is set) with every Trigger
  db-events, storage-events, auth-hooks
  every function under services/functions, started on its first event and scaled to zero when idle

The project is the working directory: its services/functions (as \`tributary new function\` makes
them), its eventing/config and its .tributary data folder. The platform's own services run compiled,
from the packages installed with this command.

Options:
  --data-dir <dir>   where data, secrets and logs are kept across restarts (default: .tributary)
  --ports auto       pick free ports instead of the fixed defaults (broker 8080, db-events 8081,
                     storage-events 8082, auth-hooks 8083, functions 8090, postgres 54322, minio 9000)
  -c, --config <dir> Broker/Trigger YAML to load (repeatable; default: eventing/config); each
                     function's own trigger.yaml is added unless a Trigger of that name is loaded
  --functions <dir>  the folder of function packages (default: services/functions)
  --json-logs        print the services' raw JSON log lines
  -h, --help         show this help

Environment:
  DATABASE_URL       use this Postgres instead of the embedded one
  KAFKA_BROKERS      use Kafka for the broker log (comma-separated host:port)
  MINIO_ENDPOINT     use this MinIO (with MINIO_ACCESS_KEY, MINIO_SECRET_KEY)
  LOG_LEVEL          log level of every service (default info)

Ctrl-C stops everything in reverse order; data stays in --data-dir.`;

export const devCommand: Command = {
  name: 'dev',
  summary: 'run the whole platform on this machine (Postgres, broker, sources, functions)',
  usage,
  async run(argv, io) {
    const { values } = parseOptions(argv, {
      'data-dir': { type: 'string' },
      ports: { type: 'string' },
      'json-logs': { type: 'boolean' },
      config: { type: 'string', short: 'c', multiple: true },
      functions: { type: 'string' },
    });
    const project = devProject();
    if (values.ports !== undefined && values.ports !== 'auto')
      throw new UsageError('--ports takes only "auto"');
    // The platform (broker, dashboard, esbuild, Postgres client, ...) loads only now: `tributary dev --help`
    // and a usage error stay as fast as any other command's.
    const { autoPorts, DEFAULT_PORTS, startDevPlatform } = await import('../dev/platform.js');
    const json = values['json-logs'] === true;
    const color = !json && process.stdout.isTTY === true;
    const print = (line: string, name: string) => io.stdout(json ? line : formatLogLine(line, name, color));
    const destination = new Writable({
      write(chunk, _enc, cb) {
        for (const line of String(chunk).split('\n')) if (line) print(line, 'dev');
        cb();
      },
    });
    const logger = createLogger({ name: 'dev', level: io.env.LOG_LEVEL ?? 'info', destination });
    const ports: DevPorts = values.ports === 'auto' ? await autoPorts() : DEFAULT_PORTS;
    const dataDir = resolve(values['data-dir'] ?? project.dataDir);
    const started = Date.now();
    const platform = await startDevPlatform({
      dataDir,
      ports,
      logger,
      env: io.env,
      onServiceLine: print,
      configDirs: values.config ? values.config.map((c) => resolve(c)) : project.configDirs,
      functionsDir: values.functions ? resolve(values.functions) : project.functionsDir,
      progress: (l) => io.stderr(`tributary dev: ${l}`),
    });
    const cli = commandName(io.env);
    const width = Math.max(...platform.endpoints.map((e) => e.name.length));
    const minioEndpoint =
      platform.minio?.endpoint ?? (platform.minioBuilt ? `http://127.0.0.1:${ports.minio}` : undefined);
    io.stdout(
      [
        '',
        `Tributary is running (${((Date.now() - started) / 1000).toFixed(1)}s). Data: ${dataDir}`,
        ...platform.endpoints.map(
          (e) => `  ${e.name.padEnd(width)}  ${e.url}${e.note ? `   ${e.note}` : ''}`,
        ),
        '',
        'Try it:',
        `  psql '${platform.databaseUrl}' -c "insert into users(email) values ('ada+' || floor(random() * 1e9) || '@example.com')"`,
        ...(minioEndpoint
          ? [
              `  echo hello > hello.txt && ${minioEndpoint === 'http://127.0.0.1:9000' ? '' : `MINIO_ENDPOINT=${minioEndpoint} `}${cli} upload hello.txt`,
            ]
          : []),
        `  ${cli} publish --url ${platform.brokerUrl} --type com.example.hello --data '{"hi":1}'`,
        'Ctrl-C stops everything.',
        '',
      ].join('\n'),
    );
    return new Promise<number>((done) => {
      let stoppingAt = 0;
      const stop = (signal: string) => {
        // One Ctrl-C can arrive twice (from the terminal, and forwarded by `pnpm`): only a second press a
        // moment later stops without waiting.
        if (stoppingAt) {
          if (Date.now() - stoppingAt < 2000) return;
          io.stderr(`tributary dev: ${signal} again, exiting without waiting`);
          return done(130);
        }
        stoppingAt = Date.now();
        io.stderr(`tributary dev: ${signal}, stopping…`);
        platform.close().then(
          () => done(0),
          () => done(1),
        );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
  },
};
