import { existsSync, type FSWatcher, mkdirSync, watch } from 'node:fs';
import { join, relative } from 'node:path';
import type { ServiceSpec } from '@tributary/eventing';
import type { Logger } from '@tributary/shared';
import { type BuildContext, context } from 'esbuild';

/**
 * Compiles each function's TypeScript to one JavaScript module with esbuild, so a cold start imports plain
 * JavaScript instead of running a TypeScript loader (tsx) in the function's process every time it starts
 * (docs/BENCHMARKS.md, "Cold start"). The function's own files are bundled; its packages (zod, cloudevents,
 * @tributary/shared, ...) stay imports, resolved from the function's node_modules as they would be on
 * Kubernetes, so the runtime and the function share one copy of each. The output lives in
 * `<function>/node_modules/.cache/tributary/`, where those imports resolve. Edits under `src/` rebuild it
 * (tens of milliseconds) and recycle the running instances, so the next event runs the new code.
 */
export class FunctionBuilder {
  private readonly contexts = new Map<string, BuildContext>();
  private readonly watchers: FSWatcher[] = [];

  constructor(private readonly logger: Logger) {}

  /**
   * Builds every function and points its spec at the compiled module. A function that does not compile
   * keeps its TypeScript path (its process then reports the error when it starts) and is logged.
   */
  async buildAll(specs: ServiceSpec[]): Promise<void> {
    await Promise.all(specs.map((s) => this.build(s)));
  }

  private async build(spec: ServiceSpec): Promise<void> {
    const source = spec.functionPath;
    const outDir = join(spec.dir, 'node_modules', '.cache', 'tributary');
    mkdirSync(outDir, { recursive: true });
    const outfile = join(outDir, `${spec.name}.mjs`);
    const ctx = await context({
      entryPoints: [source],
      outfile,
      bundle: true,
      packages: 'external',
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: 'inline',
      logLevel: 'silent',
    });
    this.contexts.set(spec.name, ctx);
    const t0 = performance.now();
    try {
      await ctx.rebuild();
      spec.functionPath = outfile;
      this.logger.debug(
        { function: spec.name, ms: Math.round(performance.now() - t0), outfile },
        'function compiled',
      );
    } catch (err) {
      this.logger.error(
        { function: spec.name, err: firstError(err), source: relative(spec.dir, source) },
        'function does not compile; its instances will fail to start until it does',
      );
    }
  }

  /** Rebuilds a function when a file under its `src/` changes, then calls `onChange` (e.g. recycle it). */
  watch(specs: ServiceSpec[], onChange: (spec: ServiceSpec) => void): void {
    for (const spec of specs) {
      const src = join(spec.dir, 'src');
      const ctx = this.contexts.get(spec.name);
      if (!ctx || !existsSync(src)) continue;
      let timer: NodeJS.Timeout | undefined;
      const rebuild = () => {
        const t0 = performance.now();
        ctx.rebuild().then(
          () => {
            this.logger.info(
              { function: spec.name, ms: Math.round(performance.now() - t0) },
              'function changed: recompiled; the next event starts the new code',
            );
            onChange(spec);
          },
          (err) =>
            this.logger.warn(
              { function: spec.name, err: firstError(err) },
              'function changed but does not compile; running instances keep the previous code',
            ),
        );
      };
      const watcher = watch(src, { recursive: true }, (_event, file) => {
        if (!file || /\.test\.ts$|\.test-util\.ts$/.test(String(file))) return;
        clearTimeout(timer);
        timer = setTimeout(rebuild, 50);
      });
      watcher.on('error', () => undefined);
      this.watchers.push(watcher);
    }
  }

  async close(): Promise<void> {
    for (const w of this.watchers.splice(0)) w.close();
    await Promise.all([...this.contexts.values()].map((c) => c.dispose()));
    this.contexts.clear();
  }
}

function firstError(err: unknown): string {
  const e = err as { errors?: { text: string; location?: { file: string; line: number; column: number } }[] };
  const first = e.errors?.[0];
  if (!first) return err instanceof Error ? err.message : String(err);
  const at = first.location
    ? `${first.location.file}:${first.location.line}:${first.location.column + 1}: `
    : '';
  return `${at}${first.text}`;
}
