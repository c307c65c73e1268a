#!/usr/bin/env node
// The `tributary` command: the compiled CLI in dist/ (`pnpm build`), with no TypeScript loader at run time.
// From a clone, `pnpm tributary ...` builds dist first when the sources are newer (scripts/tributary.mjs).
import module from 'node:module';

// Node 22.1+: cache the compiled code of the CLI and its dependencies across runs.
module.enableCompileCache?.();
let cli;
try {
  cli = await import('../dist/index.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
  process.stderr.write(
    `tributary: the command is not built (${err.message.split('\n')[0]}).\n` +
      'Run `pnpm build` in the repository, or use `pnpm tributary`, which builds what is stale.\n',
  );
  process.exit(1);
}
cli.runCli();
