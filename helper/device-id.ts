/**
 * The machine's device id, the one fact of the cohort the helper must not take from a request:
 * it reads it itself from a root-owned file (created once, here) that every agent reads too.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { SettingsError, messageOf } from '../schema/errors.js';

/** Printable ASCII, 1 to 128 characters: what the agent accepts as a device id. */
const DEVICE_ID_RE = /^[\x21-\x7e]{1,128}$/;

/** The id in `file`, or null when the file is missing or holds no valid id. */
export async function readDeviceId(file: string): Promise<string | null> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return null;
  }
  const id = text.trim();
  return DEVICE_ID_RE.test(id) ? id : null;
}

/**
 * Creates `file` with a random id (mode 0644: agents read it, only root writes it) unless it
 * holds one already. The id never changes once written: it is the device's rollout cohort.
 */
export async function ensureDeviceId(file: string): Promise<string> {
  const existing = await readDeviceId(file);
  if (existing !== null) return existing;
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await fs.mkdir(dirname(file), { recursive: true, mode: 0o755 });
    await fs.writeFile(tmp, `${randomBytes(16).toString('hex')}\n`, { mode: 0o644 });
    // link, not rename: a file that appeared meanwhile (another start) is kept, never replaced.
    await fs.link(tmp, file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  } catch (err) {
    throw new SettingsError(
      `--device-id-file ${file}: cannot create it (${messageOf(err)}); choose a writable place`,
      'DEVICE_ID_FILE',
    );
  } finally {
    await fs.rm(tmp, { force: true });
  }
  const id = await readDeviceId(file);
  if (id === null)
    throw new SettingsError(
      `--device-id-file ${file} holds no device id (1 to 128 printable ASCII characters); remove it and restart the helper to create one`,
      'DEVICE_ID_FILE',
    );
  return id;
}
