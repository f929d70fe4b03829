/** Every `mngd-release` command, in the order `--help` lists them. One file per command. */
import type { Command } from '../command.js';
import { validateCommand } from './validate.js';
import { hashCommand } from './hash.js';
import { newCommand } from './new.js';
import { keygenCommand } from './keygen.js';
import { verifyArtifactsCommand } from './verify-artifacts.js';
import { publishCommand } from './publish.js';
import { planCommand } from './plan.js';
import { syncCommand } from './sync.js';
import { importCommand } from './import.js';
import { driftCommand } from './drift.js';
import { applyCommand } from './apply.js';

export const commands: readonly Command[] = [validateCommand, hashCommand, newCommand, verifyArtifactsCommand, keygenCommand, planCommand, syncCommand, importCommand, publishCommand, applyCommand, driftCommand];
