/** Writes a release file's text (pure): the schema line for editors, then the fields in contract order. */
import { Document, Scalar } from 'yaml';
import { releaseSchema } from '../../schema/release.schema.js';
import type { ReleaseFile } from '../../schema/types.js';

export const SCHEMA_LINE = '# yaml-language-server: $schema=../schema/release.schema.json';
/** The contract's order: the schema's (yank/halt/pause/rollout insert a missing key at its place in it). */
export const ORDER = Object.keys(releaseSchema.properties) as (keyof ReleaseFile)[];

export function renderReleaseYaml(release: ReleaseFile): string {
  const ordered: Record<string, unknown> = {};
  for (const k of ORDER) if (release[k] !== undefined) ordered[k] = release[k];
  const doc = new Document(ordered);
  // Versions are always quoted, so that no YAML reader turns 1.10 into 1.1.
  for (const k of ['version', 'min_required_version']) {
    const node = doc.get(k, true);
    if (node instanceof Scalar) node.type = Scalar.QUOTE_DOUBLE;
  }
  return `${SCHEMA_LINE}\n${doc.toString({ lineWidth: 0, blockQuote: 'literal' })}`;
}
