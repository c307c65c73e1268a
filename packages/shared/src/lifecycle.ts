import type { Logger } from 'pino';

/**
 * Ordered shutdown: resources are registered in start order and closed in reverse, so the HTTP server
 * (started last) stops taking work first and the connections it used close last.
 */
export class Lifecycle {
  private readonly resources: { name: string; close: () => Promise<void> | void }[] = [];
  private closing: Promise<void> | undefined;

  constructor(private readonly logger?: Logger) {}

  get isClosing(): boolean {
    return this.closing !== undefined;
  }

  /** Registers something to close at shutdown; call right after it has started. */
  add(name: string, close: () => Promise<void> | void): void {
    this.resources.push({ name, close });
  }

  /** Closes everything in reverse start order. Safe to call more than once; errors are logged, not thrown. */
  shutdown(reason = 'shutdown'): Promise<void> {
    this.closing ??= (async () => {
      this.logger?.info({ reason }, 'shutting down');
      for (const r of [...this.resources].reverse()) {
        try {
          await r.close();
          this.logger?.debug({ resource: r.name }, 'closed');
        } catch (err) {
          this.logger?.error({ err, resource: r.name }, 'error while closing');
        }
      }
      this.logger?.info('stopped');
    })();
    return this.closing;
  }

  /** SIGTERM/SIGINT trigger `shutdown`, then the process exits; a second signal exits at once. */
  installSignalHandlers(exit: (code: number) => void = (code) => process.exit(code)): void {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) {
        exit(130);
        return;
      }
      signalled = true;
      this.shutdown(signal).then(
        () => exit(0),
        () => exit(1),
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
}
