import { EXIT, EXIT_HELP, flag, type Command } from '../cli/command.js';
import { hashFile } from '../artifacts/index.js';

export const hashCommand: Command = {
  name: 'hash',
  help: `Usage: mngd-release hash <file> [--json]

Reads the package once, streaming, and prints its sha256 and size as release-file lines:
  sha256: 3f1c…
  size: 18234567

Flags:
  --json           print {"sha256": …, "size": …}
  -h, --help       show this help

${EXIT_HELP}`,
  options: { json: { type: 'boolean' } },
  positionals: { min: 1, max: 1 },
  async run(args, ctx) {
    const d = await hashFile(args.positionals[0]!);
    ctx.stdout.write(flag(args, 'json') ? `${JSON.stringify(d)}\n` : `sha256: ${d.sha256}\nsize: ${d.size}\n`);
    return EXIT.OK;
  },
};
