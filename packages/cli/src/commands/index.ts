import type { Command } from '../command.js';
import { brokerCommand } from './broker.js';
import { deployCommand } from './deploy.js';
import { devCommand } from './dev.js';
import { keysCommand } from './keys.js';
import { newCommand } from './new.js';
import { publishCommand } from './publish.js';
import { statusCommand } from './status.js';
import { storageCommand } from './storage.js';
import { tailCommand } from './tail.js';
import { uploadCommand } from './upload.js';
import { validateCommand } from './validate.js';

/** Every `tributary` subcommand, in the order `tributary --help` lists them. Add new ones here. */
export const commands: readonly Command[] = [
  devCommand,
  brokerCommand,
  storageCommand,
  uploadCommand,
  validateCommand,
  publishCommand,
  tailCommand,
  newCommand,
  deployCommand,
  statusCommand,
  keysCommand,
];
