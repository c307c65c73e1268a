import type { Command } from '../command.js';
import { brokerCommand } from './broker.js';
import { devCommand } from './dev.js';
import { storageCommand } from './storage.js';

/** Every `tributary` subcommand, in the order `tributary --help` lists them. Add new ones here. */
export const commands: readonly Command[] = [devCommand, brokerCommand, storageCommand];
