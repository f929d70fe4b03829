import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRelease } from '../../../pipeline/releases/release-file.js';
import { manifestPlanSection } from '../../../pipeline/manifests/plan-section.js';
import { DirectoryStore } from '../../../pipeline/manifests/store/directory-store.js';
import { withPolicyDefaults, type Release } from '../../../schema/types.js';
import { runRelease, tempRepo } from '../../support/cli.js';

const U = 'https://cdn.mngd.app/agent/';
const THREE = `version: "1.1.0"
artifacts:
  - arch: universal
    download_url: ${U}u-1.1.0.pkg
    sha256: ${'1'.repeat(64)}
    size: 30
  - arch: arm64
    download_url: ${U}a-1.1.0.pkg
    sha256: ${'2'.repeat(63)}a
    size: 10
  - arch: x86_64
    download_url: ${U}x-1.1.0.pkg
    sha256: ${'3'.repeat(63)}a
    size: 20
requires:
  macos_min: 13.0
`;
const POLICY = withPolicyDefaults({
  allowed_url_prefixes: [U],
  channels: ['stable', 'beta'],
  trusted_keys: [],
  supported_macos: { oldest: '12.0', newest: '26.1' },
});

const parse = (text: string, v = '1.1.0') =>
  parseRelease(`releases/${v}.yaml`, `${v}.yaml`, Buffer.from(text), POLICY, Date.now());

describe('release file: artifacts, requires, desupports', () => {
  it('reads three artifacts, keeps the universal one in the legacy fields, and reads macos_min 13.0 as written', () => {
    const r = parse(THREE);
    assert.deepEqual(r.problems, []);
    const rel = r.loaded!.release;
    assert.deepEqual(
      rel.artifacts?.map((a) => a.arch),
      ['universal', 'arm64', 'x86_64'],
    );
    assert.equal(rel.download_url, `${U}u-1.1.0.pkg`);
    assert.equal(rel.size, 30);
    assert.deepEqual(rel.requires, { macos_min: '13.0' });
    // a sha256 written as 64 digits is YAML's number, kept as text
    assert.equal(rel.artifacts?.[0]?.sha256, '1'.repeat(64));
  });

  it('without a universal artifact, the legacy fields carry x86_64', () => {
    const r = parse(THREE.replace(/ {2}- arch: universal\n.*\n.*\n.*\n/, ''));
    assert.deepEqual(r.problems, []);
    assert.equal(r.loaded!.release.download_url, `${U}x-1.1.0.pkg`);
  });

  it('a floor that leaves macOS 12 behind passes validate with desupports, and plan names the load event', async () => {
    const { root, releases } = tempRepo();
    const text = `${THREE}min_required_version: "1.1.0"\n`;
    writeFileSync(join(releases, '1.1.0.yaml'), text);
    const refused = await runRelease(['validate'], { cwd: root });
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /releases\/1\.1\.0\.yaml:17:23: error RELEASE_FLOOR_STRANDS: .*macOS 12\.0 \(arm64\).*desupports: \{macos_below: "13\.0"\}/,
    );
    assert.match(refused.stderr, /on channels stable, beta/);
    writeFileSync(join(releases, '1.1.0.yaml'), `${text}desupports:\n  macos_below: "13.0"\n`);
    const ok = await runRelease(['validate'], { cwd: root });
    assert.equal(ok.code, 0, ok.stderr);

    const loaded = parse(`${text}desupports:\n  macos_below: "13.0"\n`).loaded!.release;
    const store = new DirectoryStore(mkdtempSync(join(tmpdir(), 'mngd-plan-')));
    const older: Release = { ...loaded, version: '1.0.0', min_required_version: undefined, desupports: undefined };
    delete older.min_required_version;
    delete older.desupports;
    delete older.requires;
    const section = await manifestPlanSection(store, [loaded, older], POLICY, new Date('2026-12-04T12:00:00Z'));
    const w = section.warnings ?? [];
    assert.deepEqual(
      w.map((x) => [x.code, x.channel]),
      [
        ['FLOOR_DESUPPORTS', 'stable'],
        ['FLOOR_DESUPPORTS', 'beta'],
      ],
    );
    assert.match(w[0]!.message, /leaves Macs below macOS 13\.0 behind .*unsupported \(checkin not blocked\)/);
    // the plan names what spec-1 readers get instead: 1.1.0 needs macOS 13, so its floor is dropped for them
    assert.ok(
      section.lines.includes(
        '  spec-1 readers: 1.1.0 not offered (requires macOS ≥ 13.0); floor 1.1.0 dropped (no release they can take satisfies it)',
      ),
      section.lines.join('\n'),
    );
    assert.ok(section.lines.some((l) => l.startsWith('stable (v2/latest.json): publish will write it')));
  });
});
