#!/usr/bin/env node
import { ConfigError, TributaryError } from '@tributary/shared';
import { type Command, type CommandIo, UsageError } from './command.js';
import { commands } from './commands/index.js';

/** `tributary <command> [options]`: dispatches to `src/commands/<command>.ts`. */
export async function main(argv: string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const width = Math.max(...commands.map((c) => c.name.length));
    io.stdout(
      `usage: tributary <command> [options]\n\nCommands:\n${commands
        .map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`)
        .join('\n')}\n\nRun \`tributary <command> --help\` for a command's options.`,
    );
    return name === undefined ? 2 : 0;
  }
  const command: Command | undefined = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr(`tributary: unknown command "${name}". Run \`tributary --help\` for the list.`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`tributary ${command.name}: ${err.message}\n\n${command.usage}`);
      return 2;
    }
    if (err instanceof ConfigError || (err instanceof TributaryError && !err.retriable)) {
      io.stderr(`tributary ${command.name}: ${err.message}`);
      return 1;
    }
    io.stderr(
      `tributary ${command.name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    return 1;
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (
  isMain ||
  process.argv[1]?.endsWith('/cli/src/index.ts') ||
  process.argv[1]?.endsWith('/cli/dist/index.js')
) {
  main(process.argv.slice(2), {
    env: process.env,
    stdout: (l) => process.stdout.write(`${l}\n`),
    stderr: (l) => process.stderr.write(`${l}\n`),
  }).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`${String(err)}\n`);
      process.exit(1);
    },
  );
}
