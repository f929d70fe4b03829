/**
 * Reproducible stand-in packages for the examples, the demo and tests: the same version always
 * gives the same bytes, so the example release files' sha256 and size match them.
 */
import { createHash } from 'node:crypto';

export const SAMPLE_PACKAGE_BYTES = 256 * 1024;

export function samplePackage(version: string, size = SAMPLE_PACKAGE_BYTES): Buffer {
  const out = Buffer.alloc(size);
  const header = Buffer.from(`xar!mngd-agent ${version} (sample package, not a real installer)\n`);
  header.copy(out, 0, 0, Math.min(header.length, size));
  let offset = Math.min(header.length, size);
  for (let block = 0; offset < size; block++) {
    const chunk = createHash('sha256').update(`mngd-agent/${version}/${block}`).digest();
    offset += chunk.copy(out, offset);
  }
  return out;
}

export function sampleDigest(version: string, size = SAMPLE_PACKAGE_BYTES): { sha256: string; size: number } {
  return { sha256: createHash('sha256').update(samplePackage(version, size)).digest('hex'), size };
}
