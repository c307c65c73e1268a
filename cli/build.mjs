// Builds the `tributary` command into dist/ with esbuild: one small entry (dist/index.js) and one chunk per
// command (dist/chunks/), each loaded only when its command runs. The CLI's own code and @tributary/shared are
// bundled from source together with the few pure-JS packages of the hot path (publish: cloudevents, zod,
// pino; undici's Pool is replaced by src/fetch-pool.ts over Node's fetch), so `tributary --help` and `tributary publish` read a handful of files instead of hundreds
// (docs/BENCHMARKS.md, "CLI start-up"). Everything else (the broker, the dashboard, Kafka, the Kubernetes
// client, ...) stays an import of its own package, resolved at run time from node_modules.
// Chunks sit two levels below the package root, as src/commands/*.ts do, so paths computed from
// import.meta.dirname (the templates, the repository root) are the same from src/ and from dist/.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { build } from 'esbuild';

const BUNDLED = ['@tributary/shared', '@tributary/client', 'cloudevents', 'zod', 'pino', 'yaml'];
const bundled = (path) => BUNDLED.some((p) => path === p || path.startsWith(`${p}/`));

rmSync(new URL('./dist', import.meta.url), { recursive: true, force: true });
await build({
  absWorkingDir: import.meta.dirname,
  entryPoints: ['src/index.ts'],
  outdir: 'dist',
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // @tributary/shared from its TypeScript sources: no need to build it first.
  conditions: ['development'],
  sourcemap: 'linked',
  logLevel: 'warning',
  // Bundled CommonJS packages (undici, pino) call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __tributaryRequire } from 'node:module';\nconst require = __tributaryRequire(import.meta.url);",
  },
  plugins: [
    {
      // The publisher's `Pool` over Node's built-in fetch (src/fetch-pool.ts), instead of undici's 900 KB.
      name: 'undici-as-fetch',
      setup(b) {
        b.onResolve({ filter: /^undici$/ }, (args) =>
          /\/packages\/(shared|client)\/src\//.test(args.importer)
            ? { path: new URL('./src/fetch-pool.ts', import.meta.url).pathname }
            : undefined,
        );
      },
    },
    {
      name: 'externals',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (args) => {
          if (args.path.startsWith('node:') || builtinModules.includes(args.path)) return { external: true };
          // A bundled package's own dependencies (cloudevents -> uuid, pino -> sonic-boom) come along.
          if (args.importer.includes('/node_modules/')) return undefined;
          return bundled(args.path) ? undefined : { external: true };
        });
      },
    },
    {
      // @tributary/shared has no import-time side effects: a command that needs only the publisher does not
      // load the server base (fastify, prom-client) that the package index also exports.
      name: 'shared-is-pure',
      setup(b) {
        b.onResolve({ filter: /.*/ }, async (args) => {
          if (args.pluginData === 'shared-is-pure') return undefined;
          const inShared = (p) => p.includes('/packages/shared/src/') || p.includes('/packages/client/src/');
          const named =
            args.path.startsWith('@tributary/shared') || args.path.startsWith('@tributary/client');
          if (!(named || inShared(args.importer))) return undefined;
          const r = await b.resolve(args.path, {
            kind: args.kind,
            importer: args.importer,
            resolveDir: args.resolveDir,
            pluginData: 'shared-is-pure',
          });
          if (r.errors.length > 0 || !inShared(r.path)) return undefined;
          return { path: r.path, sideEffects: false };
        });
      },
    },
  ],
});

// `tributary dev` applies the walk-through's demo schema (users, projects, files): the installed command carries
// infra's file (dev/project.ts, demoSchemaFile).
mkdirSync(new URL('./dist', import.meta.url), { recursive: true });
copyFileSync(
  new URL('../infra/base/postgres/sql/10-demo-schema.sql', import.meta.url),
  new URL('./dist/demo-schema.sql', import.meta.url),
);
