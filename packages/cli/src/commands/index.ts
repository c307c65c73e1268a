import type { Command } from '../command.js';
import { brokerCommand } from './broker.js';
import { storageCommand } from './storage.js';

/** Every `tributary` subcommand, in the order `tributary --help` lists them. Add new ones here. */
export const commands: readonly Command[] = [brokerCommand, storageCommand];
