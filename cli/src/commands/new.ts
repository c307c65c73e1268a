import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { type Command, parseOptions, UsageError } from '../command.js';
import { CLI_ROOT, commandName, devProject } from '../dev/project.js';

/** The function template: every `*.tmpl` file, with `{{placeholders}}`, becomes the file without `.tmpl`. */
export const FUNCTION_TEMPLATE_DIR = join(CLI_ROOT, 'templates', 'function');
/**
 * Laid over {@link FUNCTION_TEMPLATE_DIR} for a function outside a Tributary clone: a package.json on published
 * names (the @tributary packages at the CLI's version, the rest pinned), and its own Jest and TypeScript settings
 * instead of the repository's jest.preset.js and tsconfig.base.json.
 */
export const STANDALONE_TEMPLATE_DIR = join(CLI_ROOT, 'templates', 'function-standalone');

const usage = `usage: tributary new function <name> [--dir <folder>] [--type <event type>]

Scaffolds a function package <folder>/<name> (@tributary/fn-<name>) that passes its own tests:
  src/index.ts             handle(context, event) with a zod schema for the data
  src/index.test.ts        unit test calling handle directly
  src/index.int.test.ts    integration test POSTing binary CloudEvents to the function runtime
  service.yaml             the Knative Service (scale to zero, readiness/liveness probes)
  trigger.yaml             the Knative Trigger routing <event type> to it
  package.json, tsconfig.json, tsconfig.build.json, jest.config.js, README.md
Never overwrites: the folder must not exist (or be empty).

Arguments:
  name               the function's name: a DNS label (lowercase letters, digits, '-'; starts with a
                     letter; at most 63 characters), used for the Service, the Trigger and the package

Options:
  -d, --dir <folder> parent folder (default: services/functions, where \`tributary dev\` finds functions)
  -t, --type <type>  the event type its Trigger selects (default: com.example.<name>)
  -h, --help         show this help

Example:
  tributary new function order-mailer --type com.example.order.placed`;

/** A Kubernetes DNS-1035 label, as a Knative Service name must be. */
const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** Event types the template can embed safely in YAML and TypeScript strings. */
const EVENT_TYPE = /^[A-Za-z0-9][A-Za-z0-9._:/+-]*$/;

export const newCommand: Command = {
  name: 'new',
  summary: 'scaffold a function package (tributary new function <name>)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseOptions(argv, {
      dir: { type: 'string', short: 'd' },
      type: { type: 'string', short: 't' },
    });
    const [what, name, ...rest] = positionals;
    if (what !== 'function')
      throw new UsageError(what === undefined ? 'missing "function"' : `cannot scaffold "${what}"`);
    if (name === undefined) throw new UsageError('missing the function name');
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const nameProblem = checkFunctionName(name);
    if (nameProblem) throw new UsageError(nameProblem);
    const type = values.type ?? `com.example.${name}`;
    if (!EVENT_TYPE.test(type))
      throw new UsageError(
        `invalid --type "${type}": use letters, digits and . _ : / + - (e.g. com.example.order.placed)`,
      );

    // The user's project is the working directory, as for `tributary dev` (an installed CLI scaffolds there,
    // not into its own install folder). In a Tributary clone the function joins the pnpm workspace.
    const project = devProject();
    const workspace = tributaryClone(project.dir) ?? null;
    const parent = values.dir !== undefined ? resolve(values.dir) : project.functionsDir;
    const target = join(parent, name);
    let files: string[];
    try {
      files = await scaffoldFunction({ name, type, target, workspace });
    } catch (err) {
      if (!(err instanceof ScaffoldError)) throw err;
      io.stderr(`tributary new: ${err.message}`);
      return 1;
    }
    const shown = relative(process.cwd(), target) || '.';
    io.stdout(`Created ${shown} (@tributary/fn-${name}), a function for ${type} events:`);
    for (const f of files) io.stdout(`  ${relative(target, f)}`);
    const inFunctions = resolve(parent) === project.functionsDir;
    const cmd = commandName(io.env);
    io.stdout(
      (workspace
        ? [
            '',
            'Next steps:',
            '  pnpm install                 # link the new package into the workspace',
            `  node scripts/test.mjs ${relative(workspace, target)}`,
            '  pnpm tributary validate      # checks its trigger.yaml and service.yaml',
            '  pnpm tributary dev           # runs it, started on its first event',
            `  pnpm tributary publish --type ${type} --subject s-1 --data '{"message":"hello"}'`,
          ]
        : [
            '',
            'Next steps:',
            `  cd ${shown} && npm install && npm test   # its dependencies, then its tests (README.md)`,
            `  ${cmd} validate      # checks its trigger.yaml and service.yaml`,
            `  ${cmd} dev           # runs it, started on its first event`,
            `  ${cmd} publish --type ${type} --subject s-1 --data '{"message":"hello"}'`,
          ]
      ).join('\n'),
    );
    if (!inFunctions)
      io.stderr(
        workspace
          ? `note: ${shown} is outside services/functions: \`tributary dev\` and the pnpm workspace (pnpm-workspace.yaml) only pick up functions there`
          : `note: ${shown} is outside services/functions: \`tributary dev\` only picks up functions there (or from --functions <dir>)`,
      );
    return 0;
  },
};

/**
 * The Tributary clone `dir` is in (the repository root: the `tributary` workspace with jest.preset.js and
 * tsconfig.base.json), or undefined for a project of the user's own.
 */
export function tributaryClone(dir: string): string | undefined {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (
      existsSync(join(d, 'pnpm-workspace.yaml')) &&
      existsSync(join(d, 'jest.preset.js')) &&
      existsSync(join(d, 'tsconfig.base.json')) &&
      readName(join(d, 'package.json')) === 'tributary'
    )
      return d;
    if (dirname(d) === d) return undefined;
  }
}

function readName(manifest: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name as string | undefined;
  } catch {
    return undefined;
  }
}

/** The CLI's own version: a standalone function depends on the @tributary packages of that version. */
export function cliVersion(): string {
  return (JSON.parse(readFileSync(join(CLI_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Why `name` cannot be a function name, or undefined when it can. */
export function checkFunctionName(name: string): string | undefined {
  if (name.length > 63) return `invalid name "${name}": at most 63 characters (a DNS label)`;
  if (!DNS_LABEL.test(name))
    return `invalid name "${name}": a DNS label (lowercase letters, digits and '-', starting with a letter, not ending with '-')`;
  return undefined;
}

export interface ScaffoldOptions {
  name: string;
  type: string;
  /** The new package's folder; must not exist or be empty. */
  target: string;
  /**
   * The Tributary clone the function belongs to (its package.json, Jest and TypeScript settings refer to the
   * workspace's), or null for a standalone function ({@link STANDALONE_TEMPLATE_DIR}). Default: the clone that
   * holds `target`, if any.
   */
  workspace?: string | null;
  /** Default {@link FUNCTION_TEMPLATE_DIR}, with {@link STANDALONE_TEMPLATE_DIR} over it when standalone. */
  templateDirs?: readonly string[];
}

/**
 * Writes the template into `target` with `{{name}}`, `{{type}}` and, in a clone, `{{root}}` and `{{path}}`
 * (standalone: `{{version}}`, the CLI's) filled in.
 */
export async function scaffoldFunction(options: ScaffoldOptions): Promise<string[]> {
  const { name, type, target } = options;
  const workspace = options.workspace === undefined ? tributaryClone(target) : options.workspace;
  const templateDirs =
    options.templateDirs ??
    (workspace ? [FUNCTION_TEMPLATE_DIR] : [FUNCTION_TEMPLATE_DIR, STANDALONE_TEMPLATE_DIR]);
  if (existsSync(target) && (await readdir(target)).length > 0)
    throw new ScaffoldError(`${target} already exists and is not empty; nothing was written`);
  const vars: Record<string, string> = workspace
    ? {
        name,
        type,
        root: relative(target, workspace).split(sep).join('/') || '.',
        path: relative(workspace, target).split(sep).join('/'),
      }
    : { name, type, version: cliVersion() };
  // A later folder's file replaces an earlier one's of the same name.
  const templates = new Map<string, string>();
  for (const dir of templateDirs)
    for (const t of await templateFiles(dir)) templates.set(relative(dir, t), t);
  // Render everything first, so a template error leaves nothing half-written.
  const rendered = await Promise.all(
    [...templates].map(async ([rel, t]) => ({
      file: join(target, rel.replace(/\.tmpl$/, '')),
      text: render(await readFile(t, 'utf8'), vars, rel),
    })),
  );
  for (const { file, text } of rendered) {
    await mkdir(resolve(file, '..'), { recursive: true });
    await writeFile(file, text, { flag: 'wx' });
  }
  return rendered.map((r) => r.file).sort();
}

/** Replaces `{{key}}`; an unknown key is an error (a template typo must not reach a user's files). */
export function render(template: string, vars: Readonly<Record<string, string>>, where = 'template'): string {
  return template.replace(/\{\{\s*([a-zA-Z]+)\s*\}\}/g, (_, key: string) => {
    const v = vars[key];
    if (v === undefined) throw new ScaffoldError(`${where}: unknown placeholder {{${key}}}`);
    return v;
  });
}

/** `tributary new` refused: the folder exists, or the template is broken. Exit 1. */
export class ScaffoldError extends Error {}

async function templateFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await templateFiles(full)));
    else if (e.name.endsWith('.tmpl')) out.push(full);
  }
  return out.sort();
}
