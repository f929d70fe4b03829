/**
 * Canary rings: named lists of device ids that take a release at 100 % whatever its schedule.
 * Plain ids live in git only (`rings/<name>.txt`, named by the policy); every published byte
 * carries them hashed, SHA-256(ring_salt + "/" + device_id), and the agent hashes its own id the
 * same way to look itself up. Pure: the pipeline reads the files, this parses and hashes them.
 */
import { createHash } from 'node:crypto';

export const RING_NAME_PATTERN = '^[a-z][a-z0-9-]{0,31}$';
export const MAX_RINGS = 16;
export const MAX_RING_MEMBERS = 1000;
/** random hex from the policy (openssl rand -hex 32) */
export const RING_SALT_PATTERN = '^[0-9a-f]{32,128}$';
/** Printable ASCII without spaces, 1 to 128 characters: what agent and helper accept as a device id. */
export const DEVICE_ID_PATTERN = '^[\\x21-\\x7e]{1,128}$';
const DEVICE_ID = new RegExp(DEVICE_ID_PATTERN);
/** A ring file: at most 1,000 ids of at most 128 characters, with comments: 256 KiB is plenty. */
export const MAX_RING_FILE_BYTES = 256 * 1024;

export function isDeviceId(text: string): boolean {
  return DEVICE_ID.test(text);
}

/** The hashed ring entry of a device: SHA-256(ring_salt + "/" + device_id), hex. No raw id is published. */
export function ringHash(ringSalt: string, deviceId: string): string {
  return createHash('sha256').update(`${ringSalt}/${deviceId}`, 'utf8').digest('hex');
}

export interface RingLineProblem {
  line: number;
  kind: 'malformed' | 'duplicate' | 'too_many';
  message: string;
}

export interface ParsedRing {
  ids: string[];
  problems: RingLineProblem[];
}

/**
 * A ring file: one device id per line; blank lines and lines starting with # are skipped, and
 * so are spaces around an id. Every malformed line, every duplicate (naming both lines) and a
 * ring over 1,000 ids is a problem at its line.
 */
export function parseRingFile(text: string): ParsedRing {
  const ids: string[] = [];
  const problems: RingLineProblem[] = [];
  const seen = new Map<string, number>();
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const id = raw.replace(/\r$/, '').trim();
    if (id === '' || id.startsWith('#')) return;
    if (!isDeviceId(id)) {
      problems.push({
        line,
        kind: 'malformed',
        message: `line ${line} is not a device id; expected one id per line, 1 to 128 printable characters without spaces (as the agent's device id file holds it), or a # comment: fix or remove the line`,
      });
      return;
    }
    const first = seen.get(id);
    if (first !== undefined) {
      problems.push({
        line,
        kind: 'duplicate',
        message: `line ${line} repeats the device id of line ${first}; expected each id once: delete one of lines ${first} and ${line}`,
      });
      return;
    }
    seen.set(id, line);
    ids.push(id);
    if (ids.length === MAX_RING_MEMBERS + 1)
      problems.push({
        line,
        kind: 'too_many',
        message: `line ${line} is the ${MAX_RING_MEMBERS + 1}st id; a ring holds at most ${MAX_RING_MEMBERS}: keep a canary ring small, or split it into two rings`,
      });
  });
  return { ids, problems };
}

/** What a manifest publishes of the rings: each name with its members hashed, sorted (no order leaks). */
export function hashedRings(
  ringSalt: string,
  members: Readonly<Record<string, readonly string[]>>,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const name of Object.keys(members).sort()) out[name] = members[name]!.map((id) => ringHash(ringSalt, id)).sort();
  return out;
}
