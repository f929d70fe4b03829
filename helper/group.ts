/** Group name -> id for the socket's group (Node has no getgrnam). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { SettingsError } from '../schema/errors.js';

/** Looks a group up in /etc/group text (pure). */
export function gidFromGroupFile(text: string, name: string): number | null {
  for (const line of text.split('\n')) {
    const [n, , gid] = line.split(':');
    if (n === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
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
      const m = /PrimaryGroupID:\s*(\d+)/.exec(out);
      gid = m ? Number(m[1]) : null;
    } catch {
      gid = null;
    }
  }
  if (gid === null)
    throw new SettingsError(`--socket-group: no group named "${group}"; create it or pass a numeric group id`);
  return gid;
}
