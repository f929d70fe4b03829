/**
 * A full disk under the agent's state folder: the real `mngd-agent check` in a private mount
 * namespace (`unshare -rm`: root in its own user namespace, so no privilege is needed and the
 * mount goes away with the process) whose state folder is a small tmpfs. Before, the check
 * crashed ("check crashed: ENOSPC"), left `*.tmp` files behind and counted the disk toward the
 * package's cool-down; now it is one `SelfUpdate:` warning, nothing left, nothing counted.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AGENT_BIN, writeAgentConfig } from './process.js';
import { agentWorld, manifestBytes, pkg, release } from './support.js';

/** Runs `script` (sh) as root of a new user and mount namespace; resolves with its output. */
function inNamespace(script: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('unshare', ['-rm', 'sh', '-c', script], { env: { ...process.env, ...env } });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (out += c.toString()));
    p.on('close', (code) => resolve({ code, out }));
  });
}

describe('agent on a full disk', () => {
  const p102 = pkg('1.0.2');
  const p103 = pkg('1.0.3');
  const w = agentWorld([p102, p103]);
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'mngd-agent-full-'));
    w.cdn.setManifest(
      manifestBytes(w.signer, {
        releases: [release(p103, w.cdn.srv.origin, { min_required_version: '1.0.3' }), release(p102, w.cdn.srv.origin)],
      }),
    );
  });
  after(() => rm(work, { recursive: true, force: true }));

  async function setUp(name: string) {
    const dir = join(work, name);
    await mkdir(join(dir, 'state'), { recursive: true, mode: 0o700 });
    await writeFile(join(dir, 'device-id'), 'device-1\n');
    const config = await writeAgentConfig(dir, w.cdn, w.signer, w.helper.socketPath, {
      device_id_file: join(dir, 'device-id'),
    });
    return { dir, config, state: join(dir, 'state'), log: join(dir, 'logs', 'mngd.log') };
  }
  const selfUpdateWarnings = async (log: string) =>
    (await readFile(log, 'utf8')).split('\n').filter((l) => l.includes(' WARN SelfUpdate:'));

  it('writing the state on a full disk: one warning, exit 3, no temporary file left', async () => {
    const s = await setUp('state-write');
    // The tmpfs filled to the last byte: the first write of the check (the manifest) fails.
    const r = await inNamespace(
      `mount -t tmpfs -o size=1m tmpfs "$STATE" && chmod 700 "$STATE" && mkdir -m 700 "$STATE/downloads" &&
       (cat /dev/zero > "$STATE/filler" 2>/dev/null; true) &&
       "$AGENT" check --once --json --config "$CONFIG" > "$DIR/out.json" 2> "$DIR/err.txt"; echo "exit=$?";
       rm "$STATE/filler"; ls -A "$STATE"`,
      { STATE: s.state, DIR: s.dir, CONFIG: s.config, AGENT: AGENT_BIN },
    );
    assert.match(r.out, /^exit=3$/m, r.out);
    const listing = r.out.split('\n').filter((l) => l !== '' && !l.startsWith('exit='));
    assert.deepEqual(
      listing.filter((n) => n.endsWith('.tmp')),
      [],
      `left behind: ${listing.join(' ')}`,
    );
    const result = JSON.parse(await readFile(join(s.dir, 'out.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(result['outcome'], 'failed');
    assert.equal(result['code'], 'DISK_FULL');
    assert.equal(result['blocked'], false);
    const warns = await selfUpdateWarnings(s.log);
    assert.equal(warns.length, 1, warns.join('\n'));
    assert.match(warns[0]!, /the disk is full .*\[DISK_FULL\].*not counted toward the cool-down/);
    assert.ok(!(await readFile(s.log, 'utf8')).includes('crashed'));
  });

  it('downloading onto a nearly full disk: refused before a byte is written, never counted toward the cool-down', async () => {
    const s = await setUp('download');
    // Room for the state, not for the package and the space the Mac keeps: four checks in a row.
    const r = await inNamespace(
      `mount -t tmpfs -o size=2m tmpfs "$STATE" && chmod 700 "$STATE" &&
       for i in 1 2 3 4; do "$AGENT" check --once --json --config "$CONFIG" > "$DIR/out$i.json" 2>/dev/null; echo "exit=$?"; done;
       cat "$STATE/state.json"; echo; ls -A "$STATE/downloads"`,
      { STATE: s.state, DIR: s.dir, CONFIG: s.config, AGENT: AGENT_BIN },
    );
    assert.equal(r.out.match(/^exit=3$/gm)?.length, 4, r.out);
    const state = JSON.parse(r.out.slice(r.out.indexOf('{'), r.out.lastIndexOf('}') + 1)) as {
      cooldowns: Record<string, unknown>;
    };
    assert.deepEqual(state.cooldowns, {}, 'no failure on record for the package');
    assert.ok(!r.out.includes('.partial') && !r.out.includes('.tmp'), r.out);
    for (let i = 1; i <= 4; i++) {
      const out = JSON.parse(await readFile(join(s.dir, `out${i}.json`), 'utf8')) as Record<string, unknown>;
      assert.equal(out['outcome'], 'failed');
      assert.equal(out['step'], 'download');
      assert.equal(out['code'], 'DISK_FULL');
    }
    const warns = await selfUpdateWarnings(s.log);
    assert.equal(warns.length, 4, 'one warning per check');
    assert.ok(
      warns.every((l) => l.includes('not counted toward the cool-down')),
      warns.join('\n'),
    );
  });
});
