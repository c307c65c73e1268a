import type { Command } from '../command.js';

/**
 * One line of `tributary --help`, and how to load the command. A command's module (and everything it imports:
 * the broker, Kafka, the Kubernetes client, ...) is imported only when that command runs, so `tributary --help`
 * and `tributary publish` start as fast as a bare `node` (docs/BENCHMARKS.md). The name and summary must match
 * the module's own (index.test.ts checks them).
 */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

/** Every `tributary` subcommand, in the order `tributary --help` lists them. Add new ones here. */
export const commands: readonly CommandEntry[] = [
  {
    name: 'dev',
    summary: 'run the whole platform on this machine (Postgres, broker, sources, functions)',
    load: async () => (await import('./dev.js')).devCommand,
  },
  {
    name: 'broker',
    summary: 'run the broker ingress and Trigger dispatchers for a folder of Knative YAML',
    load: async () => (await import('./broker.js')).brokerCommand,
  },
  {
    name: 'storage',
    summary: 'configure MinIO bucket notifications for storage-events (tributary storage setup)',
    load: async () => (await import('./storage.js')).storageCommand,
  },
  {
    name: 'upload',
    summary: 'upload a file to MinIO (the dev platform by default) to trigger storage events',
    load: async () => (await import('./upload.js')).uploadCommand,
  },
  {
    name: 'validate',
    summary: 'check Broker/Trigger/Service YAML and Trigger filters against the event catalog',
    load: async () => (await import('./validate.js')).validateCommand,
  },
  {
    name: 'publish',
    summary: 'publish one CloudEvent to a broker ingress',
    load: async () => (await import('./publish.js')).publishCommand,
  },
  {
    name: 'tail',
    summary: 'follow the events of a broker live, optionally filtered with CESQL',
    load: async () => (await import('./tail.js')).tailCommand,
  },
  {
    name: 'replay',
    summary: 'move one Trigger back to a time (or the log start) to deliver its events again',
    load: async () => (await import('./replay.js')).replayCommand,
  },
  {
    name: 'new',
    summary: 'scaffold a function package (tributary new function <name>)',
    load: async () => (await import('./new.js')).newCommand,
  },
  {
    name: 'deploy',
    summary: 'render an infra/ overlay and server-side apply it to Kubernetes, waiting for readiness',
    load: async () => (await import('./deploy.js')).deployCommand,
  },
  {
    name: 'status',
    summary:
      'show the Ready conditions of the Broker, Triggers and Knative Services, and the db-events slot lag',
    load: async () => (await import('./status.js')).statusCommand,
  },
  {
    name: 'backfill',
    summary:
      'emit the existing rows of a table as dev.tributary.db.row.read events (with progress; cancel, list)',
    load: async () => (await import('./backfill.js')).backfillCommand,
  },
  {
    name: 'keys',
    summary: 'generate the JWT secret and anon/service_role keys as a Kubernetes Secret',
    load: async () => (await import('./keys.js')).keysCommand,
  },
];
