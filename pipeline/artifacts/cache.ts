/**
 * The verified-results cache: which packages were verified, and the server's ETag or
 * Last-Modified at the time. A re-run asks the server with a conditional request; a 304 proves
 * the bytes are the ones verified before, so nothing is downloaded. It is only a cache: a
 * missing or unreadable file means "verify everything", never an error.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const CACHE_FILE = 'artifact-cache.json';
const FORMAT = 1;

export interface CacheEntry {
  etag?: string;
  lastModified?: string;
  /** ISO time of the verification */
  verifiedAt: string;
}

export interface ArtifactCache {
  get(url: string, sha256: string, size: number): CacheEntry | undefined;
  set(url: string, sha256: string, size: number, entry: CacheEntry): void;
  delete(url: string, sha256: string, size: number): void;
  /** writes the file if anything changed */
  save(): Promise<void>;
}

/** URL, sha256 and size together: a changed sha256 or size in the release file is a new entry. */
export function cacheKey(url: string, sha256: string, size: number): string {
  return `${sha256} ${size} ${url}`;
}

function isEntry(v: unknown): v is CacheEntry {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return (
    typeof e['verifiedAt'] === 'string' &&
    (e['etag'] === undefined || typeof e['etag'] === 'string') &&
    (e['lastModified'] === undefined || typeof e['lastModified'] === 'string') &&
    (e['etag'] !== undefined || e['lastModified'] !== undefined)
  );
}

export function memoryCache(
  initial: Record<string, CacheEntry> = {},
  persist?: (entries: Record<string, CacheEntry>) => Promise<void>,
): ArtifactCache {
  const entries = new Map(Object.entries(initial));
  let dirty = false;
  return {
    get: (url, sha256, size) => entries.get(cacheKey(url, sha256, size)),
    set(url, sha256, size, entry) {
      entries.set(cacheKey(url, sha256, size), entry);
      dirty = true;
    },
    delete(url, sha256, size) {
      dirty = entries.delete(cacheKey(url, sha256, size)) || dirty;
    },
    async save() {
      if (!dirty || !persist) return;
      await persist(Object.fromEntries([...entries].sort(([a], [b]) => a.localeCompare(b))));
      dirty = false;
    },
  };
}

/** Opens `<stateDir>/artifact-cache.json`; written atomically (temp file + rename) on save. */
export async function openArtifactCache(stateDir: string): Promise<ArtifactCache> {
  const file = join(stateDir, CACHE_FILE);
  const initial: Record<string, CacheEntry> = {};
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as unknown;
    const raw = (parsed as { format?: unknown; entries?: unknown } | null) ?? {};
    if (raw.format === FORMAT && typeof raw.entries === 'object' && raw.entries !== null) {
      for (const [k, v] of Object.entries(raw.entries)) if (isEntry(v)) initial[k] = v;
    }
  } catch {
    // absent or unreadable: start empty (everything gets verified)
  }
  return memoryCache(initial, async (entries) => {
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify({ format: FORMAT, entries }, null, 2)}\n`);
    await rename(tmp, file);
  });
}
