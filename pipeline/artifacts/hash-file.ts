/** SHA-256 and size of a local file, streaming (a multi-GB package never sits in memory). */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { SettingsError } from '../../schema/errors.js';

export interface FileDigest {
  sha256: string;
  size: number;
}

export async function hashFile(path: string): Promise<FileDigest> {
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new SettingsError(`cannot read the package "${path}": no such file (give the path of the .pkg)`);
  }
  if (!st.isFile()) throw new SettingsError(`"${path}" is not a regular file; expected the path of the .pkg`);
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}
