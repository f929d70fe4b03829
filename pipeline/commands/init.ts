import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { EXIT, EXIT_HELP, flag, str, type Command, type Parsed } from '../cli/command.js';
import { maskSecret, onGitHub } from '../cli/github.js';
import { SettingsError, UsageError } from '../../schema/errors.js';
import { generateSigningKey } from '../../schema/keys.js';
import { compareMacos, explainMacosVersion } from '../../schema/macos.js';
import { CHANNEL_PATTERN } from '../../schema/release.schema.js';
import { parseTarget } from '../manifests/index.js';
import { parsePolicy, POLICY_FILE, renderPolicyYaml, type NewPolicy } from '../releases/index.js';

const README = `# releases/

One file per agent release, named \`<version>.yaml\`, plus \`policy.yaml\` (where packages may come
from, the channels, the keys agents trust, where manifests are published). Add a release with
\`mngd-release new <version> --pkg FILE --url URL\`, check with \`mngd-release validate\`, and open a
pull request; stop one with \`mngd-release pause|yank|halt <version>\`. The repository README has
the walkthrough.
`;

/** --url-prefix: what the policy's schema takes (https, ending in "/", no user, query or fragment), said as a fix. */
function urlPrefix(text: string): string {
  let u: URL | null = null;
  try {
    u = new URL(text);
  } catch {
    u = null;
  }
  const fine =
    u !== null &&
    u.protocol === 'https:' &&
    u.username === '' &&
    u.password === '' &&
    u.search === '' &&
    u.hash === '' &&
    !/[\s#@]/.test(text) &&
    text.endsWith('/');
  if (!fine)
    throw new SettingsError(
      `--url-prefix "${text}": expected the https:// folder your packages are served from, ending in "/" (e.g. https://cdn.example.com/agent/)`,
    );
  return text;
}

function channels(text: string | undefined): string[] {
  const list = (text ?? 'stable')
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  const bad = list.find((c) => !new RegExp(CHANNEL_PATTERN).test(c));
  if (bad !== undefined)
    throw new SettingsError(
      `--channels: "${bad}" is not a channel name; expected lowercase letters, digits and dashes (e.g. stable,beta)`,
    );
  if (!list.includes('stable'))
    throw new SettingsError(`--channels ${text}: expected stable among them (what every device follows): add stable`);
  return [...new Set(list)];
}

function macosRange(text: string | undefined): NewPolicy['supportedMacos'] {
  if (text === undefined) return null;
  const m = /^([^-\s]+)-([^-\s]+)$/.exec(text.trim());
  const why = m === null ? 'expected OLDEST-NEWEST' : (explainMacosVersion(m[1]!) ?? explainMacosVersion(m[2]!));
  if (m === null || why !== null || compareMacos(m[1]!, m[2]!) > 0)
    throw new SettingsError(
      `--supported-macos "${text}": ${why ?? 'the oldest comes first'}; expected the oldest and newest macOS product versions the fleet runs, e.g. 12.0-26.1`,
    );
  return { oldest: m[1]!, newest: m[2]! };
}

function newPolicy(args: Parsed, cwd: string, key: { keyid: string; public_key: string }, now: Date): NewPolicy {
  const prefixes = args.values['url-prefix'];
  if (!Array.isArray(prefixes) || prefixes.length === 0)
    throw new UsageError('--url-prefix URL is required: the https:// folder your packages are served from');
  const target = str(args, 'target') ?? null;
  if (target !== null) parseTarget(target, cwd); // an unsupported or malformed target: exit 2, its fix named
  const region = str(args, 'region') ?? null;
  if (region !== null && target === null) throw new UsageError('--region goes with --target s3://BUCKET/PREFIX');
  return {
    urlPrefixes: [...new Set((prefixes as string[]).map(urlPrefix))],
    channels: channels(str(args, 'channels')),
    key: {
      ...key,
      comment: str(args, 'key-comment') ?? `made by mngd-release init on ${now.toISOString().slice(0, 10)}`,
    },
    supportedMacos: macosRange(str(args, 'supported-macos')),
    target,
    region,
  };
}

export const initCommand: Command = {
  name: 'init',
  help: `Usage: mngd-release init --url-prefix URL [--url-prefix URL ...] [--channels LIST]
         [--supported-macos OLDEST-NEWEST] [--target T [--region R]] [--key-out FILE]
         [--key-comment TEXT] [--releases DIR] [--json]

Starts the releases of a new organisation: writes releases/policy.yaml (every field commented,
the defaults written out) trusting a newly generated Ed25519 signing key, and releases/README.md.
The private key is printed (or written to --key-out): store it as the MNGD_SIGNING_KEY secret,
never in git. Refuses to write over an existing policy.yaml; writes nothing when a flag is wrong.

Flags:
  --url-prefix URL          the https:// folder packages are served from, ending in "/" (repeatable)
  --channels LIST           the channels, comma separated, with stable among them (default stable)
  --supported-macos RANGE   the macOS product versions the fleet runs, e.g. 12.0-26.1
                            (default: left out, every macOS counts as supported)
  --target T                where manifests are published: s3://BUCKET/PREFIX or a directory
                            (default: left out, .state/bucket)
  --region R                the S3 bucket's region
  --key-out FILE            write the private key to FILE (mode 0600, must not exist) instead of stdout
  --key-comment TEXT        the trusted key's comment in the policy
  --releases DIR            the releases folder to create (default: ./releases)
  --json                    print {"files", "keyid", "public_key", "private_key" or "private_key_file"}
  -h, --help                show this help

Next: store the private key as MNGD_SIGNING_KEY, run mngd-release validate, commit releases/, and
follow docs/github-setup.md (bucket, CDN, the production environment, branch protection).

${EXIT_HELP}

Example:
  mngd-release init --url-prefix https://cdn.example.com/agent/ --channels stable,beta \\
    --supported-macos 12.0-26.1 --target s3://example-agent-releases/agent --region us-east-1 \\
    --key-out signing.key`,
  options: {
    'url-prefix': { type: 'string', multiple: true },
    channels: { type: 'string' },
    'supported-macos': { type: 'string' },
    target: { type: 'string' },
    region: { type: 'string' },
    'key-out': { type: 'string' },
    'key-comment': { type: 'string' },
    releases: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(args, ctx) {
    const dir = resolve(ctx.cwd, str(args, 'releases') ?? 'releases');
    const rel = (p: string) => relative(ctx.cwd, p) || p;
    const policyPath = join(dir, POLICY_FILE);
    if (existsSync(policyPath))
      throw new SettingsError(
        `${rel(policyPath)} already exists: init starts a new organisation and never writes over a policy; change it by pull request (mngd-release keygen makes another key)`,
      );
    const keyOut = str(args, 'key-out');
    const keyPath = keyOut === undefined ? undefined : resolve(ctx.cwd, keyOut);
    if (keyPath !== undefined && existsSync(keyPath))
      throw new SettingsError(`--key-out ${keyOut}: the file exists (refusing to overwrite a key)`);

    const key = generateSigningKey();
    const policy = newPolicy(args, ctx.cwd, key, ctx.now());
    const text = renderPolicyYaml(policy);
    // The one reader decides: what init writes must load as the pipeline reads it.
    const parsed = parsePolicy(rel(policyPath), Buffer.from(text));
    if (parsed.policy === null)
      throw new SettingsError(
        `the policy these flags make would not be valid: ${parsed.problems.map((p) => p.message).join('; ')}`,
      );
    // In a GitHub Actions log the private key is masked, like MNGD_SIGNING_KEY is.
    if (onGitHub(ctx.env)) await maskSecret(key.privateKeyText);

    // All or nothing: the key first (its file must not exist), then the policy; a failure takes back what was written.
    const written: string[] = [];
    try {
      mkdirSync(dir, { recursive: true });
      if (keyPath !== undefined) {
        writeFileSync(keyPath, `${key.privateKeyText}\n`, { mode: 0o600, flag: 'wx' });
        written.push(keyPath);
      }
      writeFileSync(policyPath, text, { flag: 'wx' });
      written.push(policyPath);
      const readme = join(dir, 'README.md');
      if (!existsSync(readme)) {
        writeFileSync(readme, README, { flag: 'wx' });
        written.push(readme);
      }
    } catch (err) {
      for (const f of written) rmSync(f, { force: true });
      throw new SettingsError(`cannot write ${rel(dir)}: ${(err as Error).message}; nothing was written`);
    }
    const files = written.filter((f) => f !== keyPath).map(rel);
    if (flag(args, 'json')) {
      ctx.stdout.write(
        `${JSON.stringify({ ok: true, files, keyid: key.keyid, public_key: key.public_key, ...(keyOut === undefined ? { private_key: key.privateKeyText } : { private_key_file: keyOut }) })}\n`,
      );
      return EXIT.OK;
    }
    const first = policy.urlPrefixes[0]!;
    ctx.stdout.write(
      [
        `Wrote ${files.join(' and ')}: URL prefix ${policy.urlPrefixes.join(', ')}; channels ${policy.channels.join(', ')}; trusted key ${key.keyid}.`,
        '',
        keyOut === undefined
          ? `Private key (secret: store it as MNGD_SIGNING_KEY, never commit it):\n  ${key.privateKeyText}`
          : `Private key written to ${keyOut} (mode 0600). Store it as MNGD_SIGNING_KEY; never commit it.`,
        '',
        'Next:',
        '  1. Store the private key as the MNGD_SIGNING_KEY secret of the production environment',
        '     (docs/github-setup.md: the bucket, CDN, environment and branch protection).',
        `  2. Agents and the helper trust it with: --trusted-key ${key.public_key}`,
        `  3. mngd-release validate, then commit ${rel(dir)}/ and open a pull request.`,
        `  4. The first release: mngd-release new 1.0.0 --pkg FILE --url ${first}mngd-agent-1.0.0.pkg`,
        '',
      ].join('\n'),
    );
    return EXIT.OK;
  },
};
