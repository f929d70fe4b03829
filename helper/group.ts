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

/** The id in the third field of the /etc/group or /etc/passwd line naming `name` (pure). */
function idFromSystemFile(text: string, name: string): number | null {
  for (const line of text.split('\n')) {
    const [n, , id] = line.split(':');
    if (n === name && id !== undefined) {
      const parsed = unsignedId(id);
      if (parsed !== null) return parsed;
    }
  }
  return null;
}

/** Looks a group up in /etc/group text (pure); macOS's nobody (-2) is gid 4294967294. */
export function gidFromGroupFile(text: string, name: string): number | null {
  return idFromSystemFile(text, name);
}

/** Looks a user up in /etc/passwd text (pure); macOS's nobody (-2) is uid 4294967294. */
export function uidFromPasswdFile(text: string, name: string): number | null {
  return idFromSystemFile(text, name);
}

interface IdKind {
  file: '/etc/group' | '/etc/passwd';
  dscl: { folder: '/Groups' | '/Users'; key: 'PrimaryGroupID' | 'UniqueID' };
}

/** A numeric id as is; a name from the system file, or on macOS from the directory service; null if none. */
function resolveId(name: string, kind: IdKind, platform: NodeJS.Platform): number | null {
  if (/^\d+$/.test(name)) return Number(name);
  let id: number | null = null;
  try {
    id = idFromSystemFile(readFileSync(kind.file, 'utf8'), name);
  } catch {
    id = null;
  }
  if (id === null && platform === 'darwin') {
    try {
      // An argument list, never a shell: the name cannot become a command.
      const out = execFileSync('/usr/bin/dscl', ['.', '-read', `${kind.dscl.folder}/${name}`, kind.dscl.key], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      id = idFromDscl(out, kind.dscl.key);
    } catch {
      id = null;
    }
  }
  return id;
}

/** The socket's group (`--socket-group`): a numeric id, or a name from /etc/group or dscl. */
export function resolveGroup(group: string, platform: NodeJS.Platform = process.platform): number {
  const gid = resolveId(group, { file: '/etc/group', dscl: { folder: '/Groups', key: 'PrimaryGroupID' } }, platform);
  if (gid === null)
    throw new SettingsError(`--socket-group: no group named "${group}"; create it or pass a numeric group id`);
  return gid;
}

/** The agent's user (`--agent-user`): a numeric uid, or a name from /etc/passwd or dscl. */
export function resolveUser(user: string, platform: NodeJS.Platform = process.platform): number {
  const uid = resolveId(user, { file: '/etc/passwd', dscl: { folder: '/Users', key: 'UniqueID' } }, platform);
  if (uid === null)
    throw new SettingsError(
      `--agent-user: no user named "${user}"; pass the user the agent's daemon runs as (the pkg's is nobody), by name or numeric uid`,
    );
  return uid;
}
