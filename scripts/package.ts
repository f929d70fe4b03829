/**
 * `npm run package`: mngd-agent and mngd-helper as single executables, for this machine's
 * platform and architecture (or the node binary given with --node), in dist/package/<os>-<arch>/.
 * The macOS workflow (.github/workflows/agent-build.yml) runs it once per architecture, then
 * joins, signs and packs the results (docs/shipping.md).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BIN_ENTRIES, bundleBin, type BinName } from './package/bundle.js';
import { makeSingleExecutable } from './package/sea.js';

const HELP = `npm run package [-- --out DIR] [--node PATH] [--platform darwin|linux]

  --out DIR        where the executables go (default dist/package/<platform>-<arch>)
  --node PATH      the node binary to build from (default: the node running this); its
                   platform must match --platform
  --platform NAME  the node binary's platform (default: this machine's)
`;

const root = fileURLToPath(new URL('../../', import.meta.url));
const dist = join(root, 'dist');

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      node: { type: 'string' },
      platform: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  const platform = (values.platform ?? process.platform) as NodeJS.Platform;
  const out = resolve(values.out ?? join(dist, 'package', `${platform}-${process.arch}`));
  const node = resolve(values.node ?? process.execPath);
  mkdirSync(out, { recursive: true });
  for (const bin of Object.keys(BIN_ENTRIES) as BinName[]) {
    const work = join(out, `.build-${bin}`);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work);
    process.stdout.write(`${bin}: bundling ${BIN_ENTRIES[bin]}\n`);
    const script = await bundleBin(root, dist, bin);
    process.stdout.write(
      `${bin}: ${(script.length / 1024).toFixed(0)} KiB of script; injecting into a copy of ${node}\n`,
    );
    await makeSingleExecutable({ script, out: join(out, bin), node, work, platform });
    rmSync(work, { recursive: true, force: true });
    process.stdout.write(`${bin}: ${join(out, bin)}\n`);
  }
  return 0;
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`npm run package: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
