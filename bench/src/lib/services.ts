// Set-up shared by the benches that need Postgres or Kafka, and their entry point.
import { reuseSharedServices, type ServiceName, servicesToStart, startServices } from '@tributary/testing';

export interface BenchServices {
  /** The process's environment, with the variables of what was started (DATABASE_URL, KAFKA_BROKERS) over it. */
  env: NodeJS.ProcessEnv;
  /** Stops what was started (nothing when every service was already running). */
  stop(): Promise<void>;
}

/**
 * Starts those of `needed` that the environment does not already point at (DATABASE_URL, KAFKA_BROKERS, or
 * TRIBUTARY_TEST_SERVICES leaving them out). With `reuseShared`, the `pnpm services:up` set is taken first when
 * it runs (TRIBUTARY_REUSE_SERVICES=0 starts fresh ones).
 */
export async function benchServices(
  needed: readonly ServiceName[],
  opts: { reuseShared: boolean },
): Promise<BenchServices> {
  if (opts.reuseShared) reuseSharedServices(process.env);
  const wanted = servicesToStart().filter((s) => needed.includes(s));
  const services = wanted.length > 0 ? await startServices({ only: wanted }) : undefined;
  return {
    env: { ...process.env, ...(services?.env ?? {}) },
    stop: async () => {
      await services?.stop();
    },
  };
}

/** Runs a bench's `main`, then exits: 0 when it finished, 1 (after printing the error) when it failed. */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
