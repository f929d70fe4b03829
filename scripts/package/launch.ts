/**
 * How the tests and the demo start mngd-agent and mngd-helper: the compiled bins under dist/
 * (node runs them), or, when MNGD_BIN_DIR names a folder of single executables (`npm run
 * package`), those, with no node on their PATH, as a Mac runs them:
 *
 *   npm run package && MNGD_BIN_DIR=dist/package/linux-x64 node scripts/run-tests.mjs helper/e2e
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BinName } from './bundle.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DIST_BINS: Record<BinName, string> = {
  'mngd-agent': join(ROOT, 'dist/agent/cli.js'),
  'mngd-helper': join(ROOT, 'dist/helper/cli.js'),
};
/** What a Mac does not have: node and the tools that come with it. */
const NODE_TOOLS = new Set(['node', 'nodejs', 'npm', 'npx', 'corepack']);

export interface Launch {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** The folder of single executables the tests run, or null for the dist/ bins. */
export function packagedBinDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const dir = env['MNGD_BIN_DIR'];
  return dir === undefined || dir === '' ? null : resolve(dir);
}

/** The command that starts `bin` with `args`, and the environment it gets (from `env`). */
export function launchOf(bin: BinName, args: string[], env: NodeJS.ProcessEnv = process.env): Launch {
  const dir = packagedBinDir(env);
  if (dir !== null) return { command: join(dir, bin), args, env: { ...env, PATH: pathWithoutNode(env['PATH'] ?? '') } };
  // The agent's bin itself, as launchd ran it before: its shebang's node flags apply (agent/cli.ts).
  if (bin === 'mngd-agent') return { command: DIST_BINS[bin], args, env };
  return { command: process.execPath, args: [DIST_BINS[bin], ...args], env };
}

/**
 * `path` with every folder that holds node replaced by a copy of it (links) without node's
 * tools, so a child finds /bin/sh, cat and the rest, but no node.
 */
export function pathWithoutNode(path: string): string {
  return path
    .split(delimiter)
    .filter((d) => d !== '')
    .map((d) => {
      if (![...NODE_TOOLS].some((t) => existsSync(join(d, t)))) return d;
      const shadow = join(
        tmpdir(),
        `mngd-no-node-${process.getuid?.() ?? 0}`,
        createHash('sha256').update(d).digest('hex').slice(0, 16),
      );
      if (!existsSync(shadow)) {
        const building = `${shadow}.${process.pid}`;
        mkdirSync(building, { recursive: true });
        for (const name of readdirSync(d)) if (!NODE_TOOLS.has(name)) symlinkSync(join(d, name), join(building, name));
        try {
          renameSync(building, shadow);
        } catch {
          // Another process made it meanwhile, with the same links.
          rmSync(building, { recursive: true, force: true });
        }
      }
      return shadow;
    })
    .join(delimiter);
}
