/**
 * Where Debian's libfaketime lives on this machine, for tests that move a process's wall clock
 * (LD_PRELOAD). Its folder names the architecture (/usr/lib/x86_64-linux-gnu/faketime,
 * /usr/lib/aarch64-linux-gnu/faketime, ...), so it is looked up, not written down; /usr/lib64 and
 * /usr/lib/faketime cover the distributions without multiarch folders.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const LIB = join('faketime', 'libfaketime.so.1');

/** The library under `root` (a test's scratch tree; '/' on the machine), or undefined. */
export function findLibfaketime(root = '/'): string | undefined {
  const usrLib = join(root, 'usr', 'lib');
  const multiarch = existsSync(usrLib)
    ? readdirSync(usrLib, { withFileTypes: true })
        .filter((e) => e.isDirectory() && /-linux-gnu/.test(e.name))
        .map((e) => join(usrLib, e.name, LIB))
        .sort()
    : [];
  return [...multiarch, join(usrLib, LIB), join(root, 'usr', 'lib64', LIB)].find((p) => existsSync(p));
}

/** The library on this machine; a clear failure naming the package when it is not installed. */
export function libfaketime(root = '/'): string {
  const found = findLibfaketime(root);
  if (found === undefined) {
    throw new Error(
      'libfaketime.so.1 is not installed (looked in /usr/lib/*-linux-gnu/faketime, /usr/lib/faketime, /usr/lib64/faketime): apt-get install faketime (.ci/run installs it)',
    );
  }
  return found;
}
