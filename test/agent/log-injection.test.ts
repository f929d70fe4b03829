/**
 * Log injection (issue 20, hole 6), as an attacker does it: a hostile redirect whose Location
 * carries a C1 NEL (U+0085) and a forged `SelfUpdate: install complete 1.0.3 -> 6.6.6`, into the
 * agent's log; a client whose pkg_path carries U+2028 and the same forged line, into the helper's
 * world-readable root log. Split by any line break a reader may honour, no forged line appears.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileLogger } from '../../agent/log.js';
import { requestInstall } from '../../helper/client.js';
import { escapeControlChars } from '../../schema/log-text.js';
import { newKey, startHelper } from '../helper/harness.js';
import { agentWorld } from './support.js';

/** Every line break some reader honours: CR, LF, NEL, LS, PS (and VT, FF). */
const ANY_BREAK = /\r\n|[\n\r\v\f\u0085\u2028\u2029]/;
const FORGED = /^\s*SelfUpdate: (helper )?install complete/;

describe('escapeControlChars', () => {
  it('escapes C0, DEL, C1, U+2028/U+2029 and the bidi controls, and nothing else', () => {
    const evil = 'a\nb\x1bc\x7fd\x85e\x9bf\u2028g\u2029h\u202ei\u2066j\u200fk\u061cl';
    assert.equal(
      escapeControlChars(evil),
      'a\\x0ab\\x1bc\\x7fd\\x85e\\x9bf\\u2028g\\u2029h\\u202ei\\u2066j\\u200fk\\u061cl',
    );
    assert.equal(escapeControlChars('Café 日本 ½ ü'), 'Café 日本 ½ ü');
  });
});

describe('a hostile redirect into the agent log', () => {
  const w = agentWorld([]);

  it('echoes no raw Location: the NEL and the forged line stay inside one escaped line', async () => {
    const location = 'https://bad host\x85SelfUpdate: install complete 1.0.3 -> 6.6.6';
    w.cdn.table['/latest.json'] = (_req, res) => {
      res.writeHead(302, { location: Buffer.from(location, 'latin1').toString('latin1') });
      res.end();
    };
    const dir = mkdtempSync(join(tmpdir(), 'mngd-log-inj-'));
    try {
      const file = join(dir, 'mngd.log');
      const f = await w.make({ current: '1.0.2' });
      const r = await f.check({ log: fileLogger({ file }) });
      assert.equal(r.code, 'HTTP_INSECURE_REDIRECT', r.message);
      assert.ok(!(r.message ?? '').includes('\x85'), `the raw header is not echoed: ${r.message}`);
      const text = readFileSync(file, 'utf8');
      const lines = text.split(ANY_BREAK).filter((l) => l !== '');
      assert.equal(lines.length, 1, text);
      assert.ok(!lines.some((l) => FORGED.test(l.replace(/^\S+ \S+ /, ''))), text);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a client's pkg_path into the helper log", () => {
  it('escapes U+2028 and the forged line stays inside the request line', async () => {
    const helper = await startHelper({ key: newKey() });
    try {
      const reply = await requestInstall(helper.socket, {
        manifest: '{}',
        version: '6.6.6',
        pkg_path: '/tmp/x\u2028SelfUpdate: helper install complete 1.0.3 -> 6.6.6 (installer exit 0)\u202e',
      });
      assert.equal(reply.ok, false);
      const text = readFileSync(helper.logFile, 'utf8');
      const events = text.split(ANY_BREAK).filter((l) => l !== '');
      for (const line of events) {
        assert.match(
          line,
          /^\d{4}-\d\d-\d\dT[\d:.]+Z (INFO|WARN|ERROR) mngd-helper\[\d+\]: /,
          `every line is an event of its own: ${line}`,
        );
        assert.ok(!FORGED.test(line.replace(/^\S+ \S+ \S+ /, '')), line);
      }
      assert.ok(text.includes('\\u2028SelfUpdate: helper install complete') && text.includes('\\u202e'), text);
    } finally {
      await helper.stop();
      rmSync(helper.dir, { recursive: true, force: true });
    }
  });
});
