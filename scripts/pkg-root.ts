/**
 * `node dist/scripts/pkg-root.js`: the mngd pkg's root and scripts, for pkgbuild
 * (scripts/package/pkg-root.ts; .github/workflows/agent-build.yml; docs/shipping.md).
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writePkgRoot } from './package/pkg-root.js';

const HELP = `node dist/scripts/pkg-root.js --bins DIR --version X.Y.Z --settings FILE --out DIR [--policy FILE]

Writes OUT/root (the payload as on the target volume) and OUT/scripts (postinstall and the
agent's and helper's settings) for: pkgbuild --root OUT/root --scripts OUT/scripts …

  --bins DIR       the folder with mngd-agent and mngd-helper (npm run package, lipo)
  --version X.Y.Z  the release's version, written to VERSION
  --settings FILE  {"manifest_url": "https://…", "channel": "stable", "checkin_url": "https://…"}
                   (channel and checkin_url optional)
  --policy FILE    the trusted keys' source (default releases/policy.yaml)
  --out DIR        emptied first
`;

const repo = fileURLToPath(new URL('../../', import.meta.url));
try {
  const { values } = parseArgs({
    options: {
      bins: { type: 'string' },
      version: { type: 'string' },
      settings: { type: 'string' },
      policy: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) process.stdout.write(HELP);
  else {
    const missing = (['bins', 'version', 'settings', 'out'] as const).filter((k) => values[k] === undefined);
    if (missing.length > 0) throw new Error(`missing ${missing.map((m) => `--${m}`).join(', ')} (see --help)`);
    const out = resolve(values.out as string);
    writePkgRoot({
      repo,
      bins: resolve(values.bins as string),
      version: values.version as string,
      settingsFile: resolve(values.settings as string),
      policyFile: resolve(values.policy ?? join(repo, 'releases/policy.yaml')),
      out,
    });
    process.stdout.write(`pkg root: ${join(out, 'root')}\npkg scripts: ${join(out, 'scripts')}\n`);
  }
} catch (err) {
  process.stderr.write(`pkg-root: ${(err as Error).message}\n`);
  process.exitCode = 2;
}
