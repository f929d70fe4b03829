/**
 * Steps 1 and 2 of a check: fetch the channel's manifest (conditionally: an unchanged one costs
 * a 304 and no body) and verify it. Only a verified manifest moves the rollback mark and
 * replaces the cached copy.
 */
import { ManifestError, type AcceptedManifest, type VerifyOptions } from '../schema/manifest.js';
import { MAX_MANIFEST_BYTES } from '../schema/manifest.schema.js';
import type { PublicKeyInfo } from '../schema/keys.js';
import type { Step } from './check-result.js';
import type { HttpClient } from './http/index.js';
import type { AgentState, StateStore } from './state.js';

export interface ManifestDeps {
  manifestUrl: string;
  channel: string;
  trustedKeys: readonly PublicKeyInfo[];
  http: HttpClient;
  state: StateStore;
  now: () => Date;
}

export type Fetched<V> =
  { ok: true; raw: Buffer; verified: V; source: 'downloaded' | 'cached' } | { ok: false; step: Step; err: unknown };

/** The spec's verify (schema/manifest.ts or schema/manifest2.ts): the same checks, its own schema. */
export type Verify<V> = (raw: Buffer, opts: VerifyOptions) => V;

export async function fetchVerifiedManifest<V extends { accepted: AcceptedManifest }>(
  d: ManifestDeps,
  state: AgentState,
  verify: Verify<V>,
): Promise<Fetched<V>> {
  const cached = state.manifest_etag !== null ? await d.state.readCachedManifest() : null;
  let raw: Buffer;
  let source: 'downloaded' | 'cached';
  let etag: string | null = null;
  try {
    // Endless data: at most 1 MiB is read, the stream stops at the first byte beyond.
    const r = await d.http.getBuffer(d.manifestUrl, {
      maxBytes: MAX_MANIFEST_BYTES,
      ...(cached !== null && state.manifest_etag !== null ? { etag: state.manifest_etag } : {}),
    });
    if (r.status === 304) {
      if (cached === null)
        throw new ManifestError(
          'MANIFEST_MALFORMED',
          'the server answered 304 Not Modified to an unconditional request',
        );
      raw = cached;
      source = 'cached';
    } else {
      raw = r.body;
      source = 'downloaded';
      etag = r.etag ?? null;
    }
  } catch (err) {
    return { ok: false, step: 'fetch-manifest', err };
  }

  // The cached copy is verified again too: it may have expired since (freeze).
  let verified: V;
  try {
    verified = verify(raw, {
      trustedKeys: d.trustedKeys, // forged manifest: one valid signature by a trusted key
      channel: d.channel, // mix-and-match: another channel's manifest is refused
      now: d.now(), // freeze: an expired manifest is refused
      previous: state.accepted, // rollback: a sequence below the highest accepted is refused
    });
  } catch (err) {
    if (source === 'cached') {
      state.manifest_etag = null;
      await d.state.write(state);
      await d.state.dropCachedManifest();
    }
    return { ok: false, step: 'verify-manifest', err };
  }
  // An unchanged manifest (304) writes nothing.
  const higher = state.accepted === null || verified.accepted.sequence > state.accepted.sequence;
  if (source === 'downloaded' || higher) {
    if (higher) state.accepted = verified.accepted;
    if (source === 'downloaded') {
      await d.state.writeCachedManifest(raw);
      state.manifest_etag = etag;
    }
    await d.state.write(state);
  }
  return { ok: true, raw, verified, source };
}
