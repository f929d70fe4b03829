/**
 * Local denial of service of the helper (issue 20, hole 4), as another uid does it: a process
 * running as uid 65534 (`setpriv`, through the 0660 socket's group) opens all 64 connections and
 * pings on each every 100 ms to keep them alive; then all 64 again, each with a `prove` it never
 * answers (a challenge pending). The agent's own requests (root here) are still served: one
 * request per connection (a ping's reply ends it), and a full table closes the oldest connection
 * that has sent no request yet, a pending proof included. Before, every ping re-armed the idle
 * timer and the agent got BUSY for as long as the attacker liked.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ping } from '../../helper/client.js';
import { newKey, startHelper, type HelperProcess } from './harness.js';

const NOBODY = 65534;

const HOG = `
const net = require('node:net');
const [socket, how] = process.argv.slice(1);
let connected = 0;
for (let i = 0; i < 64; i++) {
  const c = net.createConnection({ path: socket });
  c.on('error', () => undefined);
  c.on('data', () => undefined);
  c.on('connect', () => {
    if (how === 'prove') {
      c.write(JSON.stringify({ v: 1, id: 'hog-' + i, type: 'prove', uid: process.getuid() }) + '\\n');
      c.once('data', () => { if (++connected === 64) process.stdout.write('ready\\n'); });
      return;
    }
    if (++connected === 64) process.stdout.write('ready\\n');
    const t = setInterval(() => {
      if (!c.writable) return clearInterval(t);
      c.write(JSON.stringify({ v: 1, id: 'hog-' + i, type: 'ping' }) + '\\n');
    }, 100);
  });
}
`;

for (const how of ['ping', 'prove'] as const)
  describe(`another uid holding every helper connection: ${how === 'ping' ? 'pinging on each' : 'a proof pending on each'}`, () => {
    let helper: HelperProcess;
    let hog: ChildProcess;

    before(async () => {
      helper = await startHelper({
        key: newKey(),
        installed: '1.0.2',
        idleTimeout: 60,
        extraArgs: ['--socket-group', String(NOBODY)],
      });
      chmodSync(helper.dir, 0o755);
      chmodSync(join(helper.dir, 'run'), 0o755);
      hog = spawn(
        'setpriv',
        [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, '-e', HOG, helper.socket, how],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stderr = '';
      hog.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      await new Promise<void>((resolve, reject) => {
        hog.stdout!.on('data', (c: Buffer) => c.toString().includes('ready') && resolve());
        hog.once('exit', (code) => reject(new Error(`the attacker as uid ${NOBODY} exited ${code}: ${stderr}`)));
      });
    });
    after(async () => {
      hog.kill('SIGKILL');
      await helper.stop();
      rmSync(helper.dir, { recursive: true, force: true });
    });

    it("serves the agent's requests while the attacker keeps 64 connections open", async () => {
      for (let i = 0; i < 5; i++) {
        const reply = await ping(helper.socket, { id: `agent-${i}` });
        assert.equal(reply.ok, true, `request ${i}: ${JSON.stringify(reply)}`);
      }
    });
  });
