import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalBytes } from '../../schema/canonical.js';
import { generateSigningKey, publicKeyFromBase64, signingKeyFromText, signingKeysFromText } from '../../schema/keys.js';
import { signEnvelope, validSigners } from '../../schema/signing.js';
import { ValidationError } from '../../schema/errors.js';

describe('keys and signatures', () => {
  it('makes key ids as the lowercase hex SHA-256 of the raw public key', () => {
    const k = generateSigningKey();
    assert.equal(k.keyid, createHash('sha256').update(Buffer.from(k.public_key, 'base64')).digest('hex'));
    assert.equal(signingKeyFromText(k.privateKeyText).keyid, k.keyid);
    assert.equal(publicKeyFromBase64(k.public_key).keyid, k.keyid);
  });

  it('verifies a signature from a trusted key and ignores untrusted or broken ones', () => {
    const a = signingKeyFromText(generateSigningKey().privateKeyText);
    const b = signingKeyFromText(generateSigningKey().privateKeyText);
    const env = signEnvelope({ hello: 'world', n: 1 }, [a, b]);
    assert.deepEqual(validSigners(env, [publicKeyFromBase64(a.public_key)]), [a.keyid]);
    assert.deepEqual(validSigners(env, []), []);
    const tampered = { ...env, signed: { hello: 'world', n: 2 } };
    assert.deepEqual(validSigners(tampered, [a, b]), []);
  });

  it('parses a rotation list of keys and never echoes a bad key', () => {
    const a = generateSigningKey();
    const b = generateSigningKey();
    assert.deepEqual(
      signingKeysFromText(`${a.privateKeyText},\n${b.privateKeyText}`).map((k) => k.keyid),
      [a.keyid, b.keyid],
    );
    const secret = 'ed25519:c2VjcmV0LXNlY3JldC1zZWNyZXQ=';
    assert.throws(
      () => signingKeyFromText(secret),
      (err: unknown) =>
        err instanceof ValidationError && err.code === 'KEY_INVALID' && !err.message.includes('c2VjcmV0'),
    );
  });

  it('makes signatures that openssl verifies over the canonical bytes (an independent verifier)', () => {
    const k = signingKeyFromText(generateSigningKey().privateKeyText);
    const signed = { type: 'mngd-agent-manifest', z: [1, 2], a: 'é' };
    const env = signEnvelope(signed, [k]);
    const dir = mkdtempSync(join(tmpdir(), 'mngd-ossl-'));
    writeFileSync(join(dir, 'pub.pem'), k.key.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(dir, 'msg.bin'), canonicalBytes(signed));
    writeFileSync(join(dir, 'sig.bin'), Buffer.from(env.signatures[0]!.sig, 'base64'));
    const out = execFileSync(
      'openssl',
      ['pkeyutl', '-verify', '-pubin', '-inkey', 'pub.pem', '-rawin', '-in', 'msg.bin', '-sigfile', 'sig.bin'],
      { cwd: dir },
    ).toString();
    assert.match(out, /Signature Verified Successfully/);
    writeFileSync(join(dir, 'msg.bin'), canonicalBytes({ ...signed, a: 'e' }));
    assert.throws(() =>
      execFileSync(
        'openssl',
        ['pkeyutl', '-verify', '-pubin', '-inkey', 'pub.pem', '-rawin', '-in', 'msg.bin', '-sigfile', 'sig.bin'],
        { cwd: dir, stdio: 'pipe' },
      ),
    );
  });
});
