/**
 * Per-uid limits (pure; the clock comes in): one local user cannot use up the helper for
 * another. Keyed on the uid a client proved (proof.ts); clients that proved nothing (an agent
 * older than the proof) share one key, so skipping the proof buys no more than one user gets.
 * Each key has at most `maxInFlight` requests being handled at once (a request waiting on the
 * install lock holds a connection that a full table cannot close) and a token bucket of
 * `burst` requests, refilled at `refillPerSecond`. Root is not limited: it can stop the helper
 * anyway.
 */

export interface PeerLimitSettings {
  maxInFlight: number;
  burst: number;
  refillPerSecond: number;
}

/** Who a request comes from: a proven uid, or null (proved nothing). */
export type Peer = number | null;

export const PEER_LIMITS: PeerLimitSettings = { maxInFlight: 4, burst: 20, refillPerSecond: 1 / 3 };

interface Account {
  inFlight: number;
  tokens: number;
  at: number;
}

export type Admission = { ok: true; release: () => void } | { ok: false; reason: string };

function describe(peer: Peer): string {
  return peer === null ? 'clients that proved no uid (agents older than the proof) together' : `uid ${peer}`;
}

export class PeerLimits {
  private readonly accounts = new Map<Peer, Account>();

  constructor(
    private readonly settings: PeerLimitSettings = PEER_LIMITS,
    /** seconds on a monotonic clock */
    private readonly now: () => number = () => performance.now() / 1000,
  ) {}

  /** Admits one request of `peer`, or says why not; `release` once it is answered. */
  admit(peer: Peer): Admission {
    if (peer === 0) return { ok: true, release: () => undefined };
    const { maxInFlight, burst, refillPerSecond } = this.settings;
    const t = this.now();
    this.forgetIdle(t);
    const acc = this.accounts.get(peer) ?? { inFlight: 0, tokens: burst, at: t };
    acc.tokens = Math.min(burst, acc.tokens + (t - acc.at) * refillPerSecond);
    acc.at = t;
    this.accounts.set(peer, acc);
    if (acc.inFlight >= maxInFlight)
      return {
        ok: false,
        reason: `${describe(peer)} already ha${peer === null ? 've' : 's'} ${acc.inFlight} requests in progress (at most ${maxInFlight} per user); retry once they are answered`,
      };
    if (acc.tokens < 1)
      return {
        ok: false,
        reason: `${describe(peer)} sent more than ${burst} requests in a row (then one every ${Math.round(1 / refillPerSecond)} s per user); retry later`,
      };
    acc.tokens -= 1;
    acc.inFlight += 1;
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        acc.inFlight -= 1;
      },
    };
  }

  /** Accounts back to a full bucket with nothing in flight are forgotten: the map stays small. */
  private forgetIdle(t: number): void {
    const { burst, refillPerSecond } = this.settings;
    for (const [peer, acc] of this.accounts)
      if (acc.inFlight === 0 && acc.tokens + (t - acc.at) * refillPerSecond >= burst) this.accounts.delete(peer);
  }
}
