import { writeFileSync } from 'node:fs';
import { EXIT, EXIT_HELP, flag, str, type Command } from '../cli/command.js';
import { generateSigningKey } from '../../schema/keys.js';
import { SettingsError } from '../../schema/errors.js';
import { maskSecret, onGitHub } from '../cli/github.js';

export const keygenCommand: Command = {
  name: 'keygen',
  help: `Usage: mngd-release keygen [--out FILE] [--comment TEXT] [--json]

Creates a new Ed25519 key pair. The private key ("ed25519:<base64>") is the secret that signs
manifests: store it as the MNGD_SIGNING_KEY secret, never in git. The public part goes into
releases/policy.yaml under trusted_keys, and into the agents' trusted keys.

Flags:
  --out FILE       write the private key to FILE (mode 0600, must not exist) instead of stdout
  --comment TEXT   a note for the policy entry (e.g. "2026 production key")
  --json           print {"keyid", "public_key", "private_key"?} as JSON
  -h, --help       show this help

Rotation: add the new key to trusted_keys, ship agents that trust both, publish with
MNGD_SIGNING_KEY="<old>,<new>", then remove the old key.

${EXIT_HELP}`,
  options: { out: { type: 'string' }, comment: { type: 'string' }, json: { type: 'boolean' } },
  async run(args, ctx) {
    const key = generateSigningKey();
    // In a GitHub Actions log the private key is masked, like MNGD_SIGNING_KEY is.
    if (onGitHub(ctx.env)) await maskSecret(key.privateKeyText);
    const out = str(args, 'out');
    if (out !== undefined) {
      try {
        writeFileSync(out, `${key.privateKeyText}\n`, { mode: 0o600, flag: 'wx' });
      } catch (err) {
        throw new SettingsError(
          `cannot write the private key to "${out}": ${(err as NodeJS.ErrnoException).code === 'EEXIST' ? 'the file exists (refusing to overwrite a key)' : (err as Error).message}`,
        );
      }
    }
    const comment = str(args, 'comment');
    if (flag(args, 'json')) {
      ctx.stdout.write(
        `${JSON.stringify({ keyid: key.keyid, public_key: key.public_key, ...(out === undefined ? { private_key: key.privateKeyText } : { private_key_file: out }) })}\n`,
      );
      return EXIT.OK;
    }
    ctx.stdout.write(
      [
        out === undefined
          ? `Private key (secret: store it as MNGD_SIGNING_KEY, never commit it):\n  ${key.privateKeyText}\n`
          : `Private key written to ${out} (mode 0600). Store it as MNGD_SIGNING_KEY; never commit it.\n`,
        'Add this to releases/policy.yaml under trusted_keys:',
        `  - keyid: ${key.keyid}`,
        `    public_key: ${key.public_key}`,
        ...(comment ? [`    comment: ${JSON.stringify(comment)}`] : []),
        '',
        `Agents and the helper trust it with: --trusted-key ${key.public_key}`,
        '',
      ].join('\n'),
    );
    return EXIT.OK;
  },
};
