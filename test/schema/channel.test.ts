import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MANIFEST_ENTRY_FIELDS } from '../../schema/channel.js';
import { manifestSchema } from '../../schema/manifest.schema.js';

describe('manifest entries', () => {
  // The builder copies and the diff compares exactly these: a field the schema adds must be here.
  it('carry every field the manifest schema lists for a release, and no other', () => {
    const inSchema = Object.keys(manifestSchema.properties.signed.properties.releases.items.properties);
    assert.deepEqual([...MANIFEST_ENTRY_FIELDS].sort(), inSchema.sort());
  });
});
