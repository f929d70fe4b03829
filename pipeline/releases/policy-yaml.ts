/**
 * The text of a new organisation's releases/policy.yaml (pure): every field the pipeline reads,
 * each with the comment that says what it decides, the values the caller chose, and the defaults
 * written out so a reviewer sees them. `mngd-release init` writes it; parsePolicy checks it.
 */
import { MANIFEST_DEFAULTS } from '../../schema/types.js';

export interface NewPolicy {
  urlPrefixes: readonly string[];
  channels: readonly string[];
  key: { keyid: string; public_key: string; comment: string };
  /** the macOS range the fleet runs; null: left out (every macOS counts as supported) */
  supportedMacos: { oldest: string; newest: string } | null;
  /** s3://bucket/prefix or a directory; null: left out (.state/bucket) */
  target: string | null;
  region: string | null;
}

const q = (s: string) => JSON.stringify(s);

export function renderPolicyYaml(p: NewPolicy): string {
  const m = MANIFEST_DEFAULTS;
  const lines = [
    '# yaml-language-server: $schema=../schema/policy.schema.json',
    '# The release policy. Changed by pull request, like a release, and reviewed with care: it decides',
    '# where packages may come from and whose signatures agents trust.',
    '',
    "# A release's download_url must start with one of these.",
    'allowed_url_prefixes:',
    ...p.urlPrefixes.map((u) => `  - ${q(u)}`),
    '',
    '# Channels releases may name. stable is what every device follows; another channel (beta) also',
    '# offers the stable releases.',
    `channels: [${p.channels.join(', ')}]`,
    '',
    'manifest:',
    `  lifetime_days: ${m.lifetime_days}         # expires_at = publish time + ${m.lifetime_days} days; agents refuse an expired manifest`,
    `  refresh_window_days: ${m.refresh_window_days}    # the scheduled refresh re-signs when expiry is this close`,
    `  cache_control: ${q(m.cache_control)}`,
    `  max_releases: ${m.max_releases}`,
    '',
    "# The macOS product versions (sw_vers -productVersion) the fleet runs. A release's floor must be",
    '# satisfiable on each of them; without this block every macOS counts as supported, so only',
    '# releases without requires reach the agents that read spec 1.',
    ...(p.supportedMacos === null
      ? ['# supported_macos:', '#   oldest: "12.0"', '#   newest: "26.1"']
      : ['supported_macos:', `  oldest: ${q(p.supportedMacos.oldest)}`, `  newest: ${q(p.supportedMacos.newest)}`]),
    '',
    '# Keys whose signatures agents trust (mngd-release keygen prints an entry). publish refuses any',
    '# other key. During a rotation both the old and the new key are listed.',
    'trusted_keys:',
    `  - keyid: ${p.key.keyid}`,
    `    public_key: ${p.key.public_key}`,
    `    comment: ${q(p.key.comment)}`,
    '',
    '# Where manifests go (MNGD_PUBLISH_TARGET and --target override it). Without a target, publish',
    '# writes to .state/bucket (the embedded default).',
    ...(p.target === null
      ? ['# publish:', '#   target: s3://BUCKET/PREFIX', '#   region: us-east-1']
      : ['publish:', `  target: ${q(p.target)}`, ...(p.region === null ? [] : [`  region: ${q(p.region)}`])]),
    '',
  ];
  return lines.join('\n');
}
