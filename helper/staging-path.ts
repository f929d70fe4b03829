/**
 * The staging folder's ancestors. The installer is handed a path, and it resolves that path again
 * itself: if any folder on the way could be changed by another user (owned by them, or writable
 * by group or others), that user could rename the root-only staging folder away between our
 * hash check and the installer's open, and put their own package under the same name. So every
 * ancestor must be owned by root (or the helper's own user) and not writable by group or others,
 * except a root-owned sticky folder such as /tmp, where nobody may rename what they do not own.
 * A symbolic link on the way counts as its owner, and the folders it leads to are checked too.
 */
import { lstat, realpath } from 'node:fs/promises';
import { dirname, sep } from 'node:path';

const STICKY = 0o1000;

export interface UnsafeAncestor {
  path: string;
  why: string;
}

/** The uids whose folders the helper may trust: root and itself. */
function trustedOwners(): Set<number> {
  return new Set([0, process.getuid?.() ?? 0]);
}

/** Each prefix of an absolute path, from "/" down to `path` itself. */
function prefixes(path: string): string[] {
  const parts = path.split(sep).filter((p) => p !== '');
  const out = ['/'];
  for (let i = 1; i <= parts.length; i++) out.push(sep + parts.slice(0, i).join(sep));
  return out;
}

/** The first problem on the way to `path` (itself included while it exists), or null. */
async function walk(path: string, owners: Set<number>): Promise<UnsafeAncestor | null> {
  for (const p of prefixes(path)) {
    const st = await lstat(p).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (st === null) return null; // the rest is created by the helper itself, then checked again
    if (!owners.has(st.uid)) return { path: p, why: `is owned by uid ${st.uid}, not by root` };
    if (st.isSymbolicLink()) continue; // a link's mode means nothing; its target is walked below
    if (!st.isDirectory() && p !== path) return { path: p, why: 'is not a folder' };
    const loose = st.mode & 0o022;
    if (loose !== 0 && !(st.mode & STICKY && st.uid === 0)) {
      return {
        path: p,
        why: `is writable by ${st.mode & 0o020 ? 'its group' : 'others'} (mode ${(st.mode & 0o7777).toString(8)})`,
      };
    }
  }
  return null;
}

/**
 * Checks every folder from "/" down to the staging folder (and the folders any link on the way
 * leads to). Returns the first unsafe one, or null when another user can change none of them.
 */
export async function unsafeStagingAncestor(stagingDir: string): Promise<UnsafeAncestor | null> {
  const owners = trustedOwners();
  const parent = dirname(stagingDir);
  const lexical = await walk(parent, owners);
  if (lexical !== null) return lexical;
  // The deepest existing ancestor, with every link resolved: what the kernel will really walk.
  let existing = parent;
  for (;;) {
    const real = await realpath(existing).catch(() => null);
    if (real !== null) {
      if (real === existing) return null;
      return walk(real, owners);
    }
    if (existing === dirname(existing)) return null;
    existing = dirname(existing);
  }
}

/** What to do about an unsafe ancestor, for the refusal's message. */
export function describeUnsafe(stagingDir: string, u: UnsafeAncestor): string {
  return `the staging folder ${stagingDir} is unsafe: ${u.path} ${u.why}, so another user could swap the package under the installer; make every folder on the way owned by root and not group/other-writable (chown root ${u.path}; chmod go-w ${u.path}), or choose another --staging`;
}
