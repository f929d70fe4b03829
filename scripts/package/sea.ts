/**
 * A Node single executable application (https://nodejs.org/api/single-executable-applications.html):
 * the bundled script and its V8 code cache, as a blob injected with postject into a copy of the
 * node binary that makes the blob. The code cache is that node's, so the binary and the blob
 * always come from the same node (on macOS one run per architecture, joined by `lipo` later).
 */
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** The sentinel postject flips so that node runs the injected blob (node's src/node_sea.cc). */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export interface SeaOptions {
  /** the bundled CommonJS source */
  script: string;
  /** the executable to write */
  out: string;
  /** the node binary to copy (and to make the blob with) */
  node: string;
  /** a scratch folder */
  work: string;
  /** the platform the node binary is for (macOS wants the Mach-O segment and an unsigned copy) */
  platform: NodeJS.Platform;
}

export async function makeSingleExecutable(o: SeaOptions): Promise<void> {
  if (!readFileSync(o.node).includes(SEA_FUSE))
    throw new Error(
      `${o.node} has no ${SEA_FUSE}: it cannot become a single executable (use an official node build, --node PATH)`,
    );
  const main = join(o.work, 'main.cjs');
  const blob = join(o.work, 'sea.blob');
  const config = join(o.work, 'sea-config.json');
  writeFileSync(main, o.script);
  writeFileSync(
    config,
    JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }, null, 2),
  );
  await run(o.node, ['--experimental-sea-config', config]);
  copyFileSync(o.node, o.out);
  chmodSync(o.out, 0o755);
  // node's own signature would no longer match once the blob is in: removed here, signed in CI.
  if (o.platform === 'darwin') await run('codesign', ['--remove-signature', o.out]);
  const postject = createRequire(import.meta.url).resolve('postject/dist/cli.js');
  const macho = o.platform === 'darwin' ? ['--macho-segment-name', 'NODE_SEA'] : [];
  await run(process.execPath, [postject, o.out, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE, ...macho], {
    maxBuffer: 16 * 1024 * 1024,
  });
}
