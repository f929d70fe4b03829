/**
 * Reproducible stand-in packages for the examples, the demo and tests: the same version always
 * gives the same bytes, so the example release files' sha256 and size match them. A package built
 * for one architecture (`arm64`, `x86_64`) says so in its first line and has bytes of its own.
 */
import { createHash } from 'node:crypto';

export const SAMPLE_PACKAGE_BYTES = 256 * 1024;

export function samplePackage(version: string, size = SAMPLE_PACKAGE_BYTES, arch?: 'arm64' | 'x86_64'): Buffer {
  const out = Buffer.alloc(size);
  const kind = arch === undefined ? 'sample package' : `sample ${arch} package`;
  const header = Buffer.from(`xar!mngd-agent ${version} (${kind}, not a real installer)\n`);
  header.copy(out, 0, 0, Math.min(header.length, size));
  let offset = Math.min(header.length, size);
  for (let block = 0; offset < size; block++) {
    const seed = arch === undefined ? `mngd-agent/${version}/${block}` : `mngd-agent/${version}/${arch}/${block}`;
    const chunk = createHash('sha256').update(seed).digest();
    offset += chunk.copy(out, offset);
  }
  return out;
}

export function sampleDigest(
  version: string,
  size = SAMPLE_PACKAGE_BYTES,
  arch?: 'arm64' | 'x86_64',
): { sha256: string; size: number } {
  return {
    sha256: createHash('sha256')
      .update(samplePackage(version, size, arch))
      .digest('hex'),
    size,
  };
}
