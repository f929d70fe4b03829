/**
 * The machine's device id, the one fact of the cohort the helper must not take from a request:
 * it reads it itself from a root-owned file (created once, here) that every agent reads too.
 * On a Mac the id comes from the hardware UUID (`ioreg -rd1 -c IOPlatformExpertDevice`), hashed
 * with a fixed salt, so every user, a reinstall and a wiped state folder all give one id per Mac,
 * and the raw UUID never leaves it. Without ioreg (not a Mac) the id is random, made once.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { SettingsError, messageOf } from '../schema/errors.js';
import { isDeviceId } from '../schema/rings.js';
import { syncDir, writeSynced } from './durable.js';

/** Fixed for good: a new salt would move every Mac to a new rollout cohort. */
export const DEVICE_ID_SALT = 'mngd-device-id/v1/';

/** The hardware UUID in `ioreg -rd1 -c IOPlatformExpertDevice` output, or null. */
export function ioregPlatformUuid(output: string): string | null {
  const m =
    /^\s*\|?\s*"IOPlatformUUID" = "([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})"\s*$/m.exec(
      output,
    );
  return m?.[1]?.toUpperCase() ?? null;
}

/** The device id of a Mac: hex SHA-256 of the salt and its hardware UUID. */
export function deviceIdOfUuid(uuid: string): string {
  return createHash('sha256').update(`${DEVICE_ID_SALT}${uuid.toUpperCase()}`).digest('hex');
}

/** Runs `ioreg` (its path) and derives the id; throws DEVICE_ID_FILE naming what failed. */
export async function hardwareDeviceId(ioreg: string): Promise<string> {
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(ioreg, ['-rd1', '-c', 'IOPlatformExpertDevice'], {
      timeout: 10_000,
      maxBuffer: 1024 * 1024,
    }));
  } catch (err) {
    throw new SettingsError(
      `--ioreg ${ioreg} -rd1 -c IOPlatformExpertDevice failed (${messageOf(err)}); on a Mac leave --ioreg at /usr/sbin/ioreg`,
      'DEVICE_ID_FILE',
    );
  }
  const uuid = ioregPlatformUuid(stdout);
  if (uuid === null)
    throw new SettingsError(
      `--ioreg ${ioreg} printed no "IOPlatformUUID" = "<UUID>" line; on a Mac leave --ioreg at /usr/sbin/ioreg`,
      'DEVICE_ID_FILE',
    );
  return deviceIdOfUuid(uuid);
}

/** The id in `file`, or null when the file is missing or holds no valid id. */
export async function readDeviceId(file: string): Promise<string | null> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return null;
  }
  const id = text.trim();
  return isDeviceId(id) ? id : null;
}

/**
 * Creates `file` (mode 0644: agents read it, only root writes it) unless it holds an id already:
 * from the hardware UUID when `ioreg` is given (a Mac), else a random one. The id never changes
 * once written: it is the device's rollout cohort.
 */
export async function ensureDeviceId(file: string, ioreg: string | null): Promise<string> {
  const existing = await readDeviceId(file);
  if (existing !== null) return existing;
  const fresh = ioreg === null ? randomBytes(16).toString('hex') : await hardwareDeviceId(ioreg);
  let tmp: string | null = null;
  try {
    await fs.mkdir(dirname(file), { recursive: true, mode: 0o755 });
    // Durable (write, fsync, link, fsync the folder): a power loss never leaves an empty id file.
    tmp = await writeSynced(
      file,
      `${fresh}
`,
      0o644,
    );
    // link, not rename: a file that appeared meanwhile (another start) is kept, never replaced.
    await fs.link(tmp, file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    await syncDir(dirname(file));
  } catch (err) {
    throw new SettingsError(
      `--device-id-file ${file}: cannot create it (${messageOf(err)}); choose a writable place`,
      'DEVICE_ID_FILE',
    );
  } finally {
    if (tmp !== null) await fs.rm(tmp, { force: true });
  }
  const id = await readDeviceId(file);
  if (id === null)
    throw new SettingsError(
      `--device-id-file ${file} holds no device id (1 to 128 printable ASCII characters); remove it and restart the helper to create one`,
      'DEVICE_ID_FILE',
    );
  return id;
}
