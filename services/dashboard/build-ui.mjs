// Builds the dashboard's page script: src/ui/main.ts (TypeScript, type-checked by src/ui/tsconfig.json) bundled
// by esbuild into dist/ui/app.js, which the built server (dist/app.js) serves as /app.js. Run by the package's
// `build` script. Run from its TypeScript sources (tests, `tributary dev` from a clone), the server bundles the
// page in memory with `bundleUi()` instead, so no build step is needed there.
//   node build-ui.mjs            writes dist/ui/app.js (and app.js.map beside it)
import { build } from 'esbuild';

const options = {
  absWorkingDir: import.meta.dirname,
  entryPoints: ['src/ui/main.ts'],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  logLevel: 'warning',
  legalComments: 'none',
};

/** The page script as text, source map inline (for the server running from src/). */
export async function bundleUi() {
  const out = await build({ ...options, write: false, sourcemap: 'inline', outfile: 'app.js' });
  return out.outputFiles[0].text;
}

if (process.argv[1] === import.meta.filename) {
  await build({ ...options, outfile: 'dist/ui/app.js', sourcemap: 'external', minify: true });
}
