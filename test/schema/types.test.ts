import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { releaseSchema } from '../../schema/release.schema.js';
import { policySchema } from '../../schema/policy.schema.js';
import { manifestSchema } from '../../schema/manifest.schema.js';
import type { ManifestRelease, PolicyFile, ReleaseFile, SignedManifest } from '../../schema/types.js';
import { validateManifest, validatePolicyFile, validateReleaseFile } from '../../schema/validators.js';
import { SCHEMA_FILES, schemaFileText } from '../../scripts/write-schemas.js';
import { REPO_ROOT } from '../support/cli.js';

// These objects must name exactly the keys the types derive from the schemas: adding, removing
// or renaming a schema property without the type following is a compile error here.
const releaseKeys: Record<keyof ReleaseFile, true> = {
  version: true,
  download_url: true,
  sha256: true,
  size: true,
  release_notes: true,
  min_required_version: true,
  active: true,
  channel: true,
  rollout_percent: true,
  rollout_schedule: true,
  rings: true,
  halted: true,
  artifacts: true,
  requires: true,
  desupports: true,
};
const policyKeys: Record<keyof PolicyFile, true> = {
  allowed_url_prefixes: true,
  channels: true,
  manifest: true,
  trusted_keys: true,
  rings: true,
  ring_salt: true,
  publish: true,
  supported_macos: true,
  guard: true,
};
const signedKeys: Record<keyof SignedManifest, true> = {
  type: true,
  spec: true,
  channel: true,
  sequence: true,
  published_at: true,
  expires_at: true,
  min_required_version: true,
  releases: true,
};
const entryKeys: Record<keyof ManifestRelease, true> = {
  version: true,
  download_url: true,
  sha256: true,
  size: true,
  release_notes: true,
  rollout_percent: true,
};

describe('schemas and types', () => {
  it('derive the TypeScript types from the schemas, key for key', () => {
    assert.deepEqual(Object.keys(releaseKeys).sort(), Object.keys(releaseSchema.properties).sort());
    assert.deepEqual(Object.keys(policyKeys).sort(), Object.keys(policySchema.properties).sort());
    assert.deepEqual(Object.keys(signedKeys).sort(), Object.keys(manifestSchema.properties.signed.properties).sort());
    assert.deepEqual(
      Object.keys(entryKeys).sort(),
      Object.keys(manifestSchema.properties.signed.properties.releases.items.properties).sort(),
    );
  });

  it('accept a typed value at run time too', () => {
    const r: ReleaseFile = {
      version: '1.0.3',
      download_url: 'https://cdn.mngd.app/agent/a.pkg',
      sha256: 'a'.repeat(64),
      size: 1,
      channel: 'beta',
    };
    assert.equal(validateReleaseFile(r), true);
    const p: PolicyFile = {
      allowed_url_prefixes: ['https://cdn.mngd.app/agent/'],
      channels: ['stable'],
      trusted_keys: [{ keyid: 'a'.repeat(64), public_key: `${'A'.repeat(43)}=` }],
    };
    assert.equal(validatePolicyFile(p), true);
    const m = {
      signed: {
        type: 'mngd-agent-manifest',
        spec: 1,
        channel: 'stable',
        sequence: 1,
        published_at: '2026-11-27T02:00:00Z',
        expires_at: '2026-12-11T02:00:00Z',
        min_required_version: null,
        releases: [],
      },
      signatures: [{ keyid: 'a'.repeat(64), sig: `${'A'.repeat(86)}==` }],
    };
    assert.equal(validateManifest(m), true);
  });

  for (const [name, schema] of Object.entries(SCHEMA_FILES)) {
    it(`ships schema/${name} equal to its TypeScript source (run "npm run schemas" if this fails)`, () => {
      assert.equal(readFileSync(join(REPO_ROOT, 'schema', name), 'utf8'), schemaFileText(schema));
    });
  }

  it('starts every example release file with the editor schema line', () => {
    for (const v of ['1.0.0', '1.0.1', '1.0.2', '1.0.3', '1.1.0']) {
      assert.match(
        readFileSync(join(REPO_ROOT, 'releases', `${v}.yaml`), 'utf8'),
        /^# yaml-language-server: \$schema=\.\.\/schema\/release\.schema\.json\n/,
      );
    }
  });
});
