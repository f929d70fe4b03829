/**
 * Steps 1 and 2 of a check: fetch the channel's manifest (conditionally: an unchanged one costs
 * a 304 and no body) and verify it. Only a verified manifest moves the rollback mark and
 * replaces the cached copy.
 */
import { markToCheck, marksAfter, marksChanged } from '../schema/accepted-marks.js';
import { ManifestError, type AcceptedManifest, type VerifyOptions } from '../schema/manifest.js';
import { MAX_MANIFEST_BYTES } from '../schema/manifest.schema.js';
import type { PublicKeyInfo } from '../schema/keys.js';
import type { Step } from './check-result.js';
import { DEADLINES, type Deadlines } from './deadlines.js';
import type { HttpClient } from './http/index.js';
import type { AgentState, StateStore } from './state.js';

export interface ManifestDeps {
  manifestUrl: string;
  channel: string;
  trustedKeys: readonly PublicKeyInfo[];
  http: HttpClient;
  state: StateStore;
  now: () => Date;
  /** the downloads' overall limits (default DEADLINES) */
  deadlines?: Deadlines;
}

export type Fetched<V> =
  { ok: true; raw: Buffer; verified: V; source: 'downloaded' | 'cached' } | { ok: false; step: Step; err: unknown };

/** The spec's verify (schema/manifest.ts or schema/manifest2.ts): the same checks, its own schema. */
export type Verify<V> = (raw: Buffer, opts: VerifyOptions) => V;

export async function fetchVerifiedManifest<V extends { accepted: AcceptedManifest; signers: string[] }>(
  d: ManifestDeps,
  state: AgentState,
  verify: Verify<V>,
  refetched = false,
): Promise<Fetched<V>> {
  const cached = state.manifest_etag !== null ? await d.state.readCachedManifest() : null;
  let raw: Buffer;
  let source: 'downloaded' | 'cached';
  let etag: string | null = null;
  try {
    // Endless data: at most 1 MiB is read, the stream stops at the first byte beyond.
    const r = await d.http.getBuffer(d.manifestUrl, {
      maxBytes: MAX_MANIFEST_BYTES,
      // Slow retrieval: a manifest dripped a byte a second still ends within the deadline.
      deadlineMs: (d.deadlines ?? DEADLINES).manifestMs,
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
  const now = d.now();
  try {
    verified = verify(raw, {
      trustedKeys: d.trustedKeys, // forged manifest: one valid signature by a trusted key
      channel: d.channel, // mix-and-match: another channel's manifest is refused
      now, // freeze: an expired manifest is refused; one from beyond the clock too (a leaked key)
      // rollback: a sequence below the highest accepted by a key still trusted is refused
      previous: markToCheck(state.accepted, d.trustedKeys, now),
    });
  } catch (err) {
    if (source === 'cached') {
      state.manifest_etag = null;
      await d.state.write(state);
      await d.state.dropCachedManifest();
      // A damaged cached copy (a torn file, a bad sector) must not cost a whole interval: fetch
      // the manifest whole, once, in this same check. What the server sends is verified as ever.
      if (!refetched) return fetchVerifiedManifest(d, state, verify, true);
    }
    return { ok: false, step: 'verify-manifest', err };
  }
  // An unchanged manifest (304) writes nothing.
  // Each signer's mark moves up (never down); marks of keys no longer trusted are dropped.
  const marks = marksAfter(state.accepted, verified.accepted, verified.signers, d.trustedKeys, now);
  const higher = marksChanged(state.accepted, marks);
  if (source === 'downloaded' || higher) {
    if (higher) state.accepted = marks;
    if (source === 'downloaded') {
      await d.state.writeCachedManifest(raw);
      state.manifest_etag = etag;
    }
    await d.state.write(state);
  }
  return { ok: true, raw, verified, source };
}
