import { EXIT, type Command } from '../command.js';

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check every release file and the policy',
  help: 'Usage: mngd-release validate',
  options: {},
  async run() {
    return EXIT.OK;
  },
};
