/**
 * Group name -> id for the socket's group, user name -> id for the agent's user (Node has no
 * getgrnam or getpwnam).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { SettingsError } from '../schema/errors.js';

/**
 * An id as the system files spell it: macOS writes nobody as -2, which is uid_t 4294967294. -1 is
 * no id (chown's "leave it unchanged").
 */
function unsignedId(text: string): number | null {
  if (!/^-?\d+$/.test(text)) return null;
  const n = Number(text);
  if (n === -1) return null;
  return n < 0 ? n + 2 ** 32 : n;
}

/** An id from `dscl . -read <record> <key>` output ("PrimaryGroupID: -2"), or null (pure). */
export function idFromDscl(out: string, key: 'PrimaryGroupID' | 'UniqueID'): number | null {
  const m = new RegExp(`^${key}:\\s*(-?\\d+)\\s*$`, 'm').exec(out);
  return m ? unsignedId(m[1]!) : null;
}

/** Looks a group up in /etc/group text (pure); macOS's nobody (-2) is gid 4294967294. */
export function gidFromGroupFile(text: string, name: string): number | null {
  for (const line of text.split('\n')) {
    const [n, , gid] = line.split(':');
    if (n === name && gid !== undefined) {
      const id = unsignedId(gid);
      if (id !== null) return id;
    }
  }
  return null;
}

/** A numeric id as is; a name from /etc/group, or on macOS from the directory service. */
export function resolveGroup(group: string, platform: NodeJS.Platform = process.platform): number {
  if (/^\d+$/.test(group)) return Number(group);
  let gid: number | null = null;
  try {
    gid = gidFromGroupFile(readFileSync('/etc/group', 'utf8'), group);
  } catch {
    gid = null;
  }
  if (gid === null && platform === 'darwin') {
    try {
      // An argument list, never a shell: the group name cannot become a command.
      const out = execFileSync('/usr/bin/dscl', ['.', '-read', `/Groups/${group}`, 'PrimaryGroupID'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      gid = idFromDscl(out, 'PrimaryGroupID');
    } catch {
      gid = null;
    }
  }
  if (gid === null)
    throw new SettingsError(`--socket-group: no group named "${group}"; create it or pass a numeric group id`);
  return gid;
}

/** Looks a user up in /etc/passwd text (pure). */
export function uidFromPasswdFile(text: string, name: string): number | null {
  for (const line of text.split('\n')) {
    const [n, , uid] = line.split(':');
    if (n === name && uid !== undefined) {
      const id = unsignedId(uid);
      if (id !== null) return id;
    }
  }
  return null;
}

/** A numeric uid as is; a name from /etc/passwd, or on macOS from the directory service. */
export function resolveUser(user: string, platform: NodeJS.Platform = process.platform): number {
  if (/^\d+$/.test(user)) return Number(user);
  let uid: number | null = null;
  try {
    uid = uidFromPasswdFile(readFileSync('/etc/passwd', 'utf8'), user);
  } catch {
    uid = null;
  }
  if (uid === null && platform === 'darwin') {
    try {
      // An argument list, never a shell: the user name cannot become a command.
      const out = execFileSync('/usr/bin/dscl', ['.', '-read', `/Users/${user}`, 'UniqueID'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      uid = idFromDscl(out, 'UniqueID');
    } catch {
      uid = null;
    }
  }
  if (uid === null)
    throw new SettingsError(
      `--agent-user: no user named "${user}"; pass the user the agent's daemon runs as (the pkg's is nobody), by name or numeric uid`,
    );
  return uid;
}
