#!/usr/bin/env node
import { type CommandIo, describeError, UsageError } from './command.js';
import { commands } from './commands/index.js';

/**
 * `tributary <command> [options]`: dispatches to `src/commands/<command>.ts`, loading only that command's module.
 * `--debug` anywhere on the line prints the stack of an unexpected error; without it, every failure is one or
 * two readable lines (what went wrong and what to do), never a stack trace.
 */
export async function main(argv: string[], io: CommandIo): Promise<number> {
  const debug = argv.includes('--debug');
  const [name, ...rest] = argv.filter((a) => a !== '--debug');
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const width = Math.max(...commands.map((c) => c.name.length));
    io.stdout(
      `usage: tributary <command> [options]\n\nCommands:\n${commands
        .map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`)
        .join(
          '\n',
        )}\n\nRun \`tributary <command> --help\` for a command's options; add --debug to any command ` +
        'for the stack trace of an unexpected error.',
    );
    return name === undefined ? 2 : 0;
  }
  if (name.startsWith('-')) {
    io.stderr(`tributary: unknown option "${name}". Run \`tributary --help\` for the commands.`);
    return 2;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    io.stderr(`tributary: unknown command "${name}". Run \`tributary --help\` for the list.`);
    return 2;
  }
  try {
    const command = await entry.load();
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout(command.usage);
      return 0;
    }
    try {
      return await command.run(rest, io);
    } catch (err) {
      if (err instanceof UsageError) {
        const synopsis = command.usage.split('\n\n')[0];
        io.stderr(
          `tributary ${name}: ${err.message}\n\n${synopsis}\n\nRun \`tributary ${name} --help\` for every option.`,
        );
        return 2;
      }
      throw err;
    }
  } catch (err) {
    io.stderr(`tributary ${name}: ${describeError(err)}`);
    if (debug && err instanceof Error && err.stack) io.stderr(err.stack);
    else if (!isExpected(err)) io.stderr('  (run again with --debug for the stack trace)');
    return 1;
  }
}

/** Errors whose message says all there is to say (a bad configuration, a service that is down, ...). */
function isExpected(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { retriable?: unknown; code?: unknown };
  return (
    e.name === 'ConfigError' ||
    e.name === 'ServiceUnavailableError' ||
    e.name === 'UserInputError' ||
    e.retriable === false
  );
}

/** Runs the command line of this process and exits with its status. */
export function runCli(argv: string[] = process.argv.slice(2)): void {
  // `tributary tail | head`: a reader that went away ends the command quietly.
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  main(argv, {
    env: process.env,
    stdout: (l) => process.stdout.write(`${l}\n`),
    stderr: (l) => process.stderr.write(`${l}\n`),
  }).then(
    (code) => {
      process.exitCode = code;
      // Long-running commands resolve once they have stopped; nothing else should keep the process.
      setImmediate(() => process.exit(code));
    },
    (err) => {
      process.stderr.write(`tributary: ${String(err)}\n`);
      process.exit(1);
    },
  );
}

// Run directly from source (`node --import tsx cli/src/index.ts`); the installed command is bin/tributary.js.
if (process.argv[1]?.replace(/\\/g, '/').endsWith('/cli/src/index.ts')) runCli();
