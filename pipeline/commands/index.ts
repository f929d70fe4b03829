/** Every `mngd-release` command, in the order `--help` lists them. One file per command. */
import type { Command } from '../command.js';
import { validateCommand } from './validate.js';

export const commands: readonly Command[] = [validateCommand];
