/**
 * One CommonJS file per bin, from the compiled dist/ code, for a single executable: esbuild
 * bundles every import (the SEA runs one script and can `require` only node's own modules),
 * agent/embedded.ts becomes constants (the package version, the download worker's code),
 * schema/validators.ts the validators compiled ahead of time (./validators.ts), and the
 * node flags of the bin's shebang line are applied first, since a single executable has no
 * command line for them. got's HTTP/2 support (http2-wrapper, and with it node's http2, assert
 * and their compilation: ~1/3 of a cold check's CPU) is left out: the agent speaks HTTP/1.1
 * (got's default, `http2: false`), and a request that asked for HTTP/2 would fail by name.
 */
import { build, type Plugin } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { standaloneValidators } from './validators.js';

export type BinName = 'mngd-agent' | 'mngd-helper';

/** Each bin's compiled entry, under dist/. */
export const BIN_ENTRIES: Record<BinName, string> = {
  'mngd-agent': 'agent/cli.js',
  'mngd-helper': 'helper/cli.js',
};
const WORKER_ENTRY = 'agent/package-file.worker.js';

const COMMON = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  write: false,
  logLevel: 'silent',
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
} as const;

/**
 * A bin's `#!/usr/bin/env -S [NAME=value…] node [--flag…]` line (a plain `#!/usr/bin/env node`
 * has neither): the environment settings before `node` and the node flags. The settings are the
 * C library's (glibc's MALLOC_MMAP_THRESHOLD_ for the agent): a process cannot set them for
 * itself once started.
 */
export function parseShebang(source: string): { env: Record<string, string>; flags: string[] } {
  const first = source.split('\n', 1)[0] ?? '';
  const m = /^#!\/usr\/bin\/env(?: -S((?: [A-Z_][A-Z0-9_]*=\S+)*))? node((?: --[\w-]+(?:=\S+)?)*)\s*$/.exec(first);
  if (m === null)
    throw new Error(`the first line "${first}" is not a "#!/usr/bin/env [-S [NAME=value…]] node [--flag…]" line`);
  const words = (text: string | undefined) => (text ?? '').split(' ').filter((w) => w !== '');
  const env = Object.fromEntries(words(m[1]).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
  return { env, flags: words(m[2]) };
}

/**
 * The node flags of a bin's shebang, which its single executable applies at start. Not the
 * environment settings: the single executables run on macOS, whose allocator has none of them.
 */
export function shebangFlags(source: string): string[] {
  return parseShebang(source).flags;
}

/** Code that applies `flags` at start: V8 flags as set at run time, and `gc` for --expose-gc. */
function flagsPrelude(flags: string[]): string {
  if (flags.length === 0) return '';
  return `(()=>{const v8=require('node:v8');for(const f of ${JSON.stringify(flags)})v8.setFlagsFromString(f);${
    flags.includes('--expose-gc') ? "globalThis.gc=require('node:vm').runInNewContext('gc');" : ''
  }})();`;
}

function embedded(version: string, workerCode: string, dist: string): Plugin {
  return {
    name: 'mngd-embedded',
    setup(b) {
      b.onLoad({ filter: /[\\/]schema[\\/]validators\.js$/ }, () => ({
        loader: 'js',
        contents: standaloneValidators(),
        resolveDir: join(dist, 'schema'),
      }));
      b.onLoad({ filter: /[\\/]agent[\\/]embedded\.js$/ }, () => ({
        loader: 'js',
        contents: `export const PACKAGE_VERSION = ${JSON.stringify(version)};\nexport const DOWNLOAD_WORKER = { code: ${JSON.stringify(workerCode)} };\n`,
      }));
      // --version on every bin: the version as a constant, no package.json beside the executable.
      b.onLoad({ filter: /[\\/]schema[\\/]package-version\.js$/ }, () => ({
        loader: 'js',
        contents: `export const PACKAGE_VERSION = ${JSON.stringify(version)};\n`,
      }));
    },
  };
}

/** The message a request that asks got for HTTP/2 gets from a single executable. */
export const NO_HTTP2 = 'HTTP/2 is not in the single executables (got runs with http2: false)';

/** got imports http2-wrapper for its `http2: true` option only; the bundles get a stand-in that refuses it. */
const withoutHttp2: Plugin = {
  name: 'mngd-without-http2',
  setup(b) {
    b.onResolve({ filter: /^http2-wrapper$/ }, () => ({ path: 'http2-wrapper', namespace: 'mngd-no-http2' }));
    b.onLoad({ filter: /.*/, namespace: 'mngd-no-http2' }, () => ({
      loader: 'js',
      contents: `const refuse = () => { throw new Error(${JSON.stringify(NO_HTTP2)}); };\nmodule.exports = { globalAgent: undefined, auto: refuse };\n`,
    }));
  },
};

async function bundleOne(entry: string, plugins: Plugin[], banner: string): Promise<string> {
  const result = await build({ ...COMMON, entryPoints: [entry], plugins, banner: { js: banner } });
  const problems = result.warnings.filter((w) => !/"import\.meta" is not available/.test(w.text));
  if (problems.length > 0)
    throw new Error(`esbuild ${entry}: ${problems.map((w) => `${w.location?.file ?? ''}: ${w.text}`).join('; ')}`);
  const text = result.outputFiles[0]?.text ?? '';
  // A hashbang line is not JavaScript the SEA's CommonJS wrapper accepts.
  return text.replace(/^#!.*\n/, '');
}

/** The bundled CommonJS source of `bin`, from the compiled code under `dist`. */
export async function bundleBin(root: string, dist: string, bin: BinName): Promise<string> {
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const worker = await bundleOne(join(dist, WORKER_ENTRY), [], '');
  const entry = join(dist, BIN_ENTRIES[bin]);
  const flags = shebangFlags(readFileSync(entry, 'utf8'));
  return bundleOne(entry, [embedded(version, worker, dist), withoutHttp2], flagsPrelude(flags));
}
