/**
 * Runs one of the demo's spec-2 stories for an end-to-end test: in a fresh folder, on PostgreSQL
 * when the run has one (CI) or else the embedded PGlite the demo uses, its story text collected.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MacStoryOptions } from '../../scripts/demo/mixed-fleet.js';
import { openTestDatabase } from '../support/db.js';

export interface StoryRun<R> {
  result: R;
  dir: string;
  /** what the story printed */
  output: string;
}

export async function runStory<R>(
  name: string,
  only: readonly string[],
  run: (opts: MacStoryOptions) => Promise<R>,
): Promise<StoryRun<R>> {
  const db = process.env['TEST_DATABASE_URL'] ? await openTestDatabase() : null;
  const dir = mkdtempSync(join(tmpdir(), `mngd-e2e-${name}-`));
  let output = '';
  try {
    const result = await run({
      dir,
      ...(db?.url ? { databaseUrl: db.url } : {}),
      out: (t) => void (output += t),
      only,
    });
    return { result, dir, output };
  } finally {
    await db?.close();
  }
}
