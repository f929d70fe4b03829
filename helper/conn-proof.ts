/**
 * One connection's proof of its uid (proof.ts): the challenge its `prove` was given, and the uid
 * its request then proved. A challenge is used once and lives no longer than its connection.
 */
import type { Peer } from './peer-limits.js';
import { answers, issueChallenge, withdraw, type Challenge } from './proof.js';
import { HelperError, type ActionRequest } from './protocol.js';

export class ConnProof {
  private challenge: Challenge | null = null;
  private proving = false;
  private closed = false;

  constructor(private readonly dir: string) {}

  /** A `prove`: the challenge for `uid`, or null when the connection closed meanwhile. */
  async prove(uid: number): Promise<Challenge | null> {
    if (this.proving) throw new HelperError('BAD_REQUEST', 'one "prove" per connection');
    this.proving = true;
    const challenge = await issueChallenge(this.dir, uid);
    if (this.closed) {
      await withdraw(challenge);
      return null;
    }
    this.challenge = challenge;
    return challenge;
  }

  /**
   * The uid a request proved: its proof must answer this connection's challenge. A request
   * without proof on a connection that was given none is unproven (null: an older agent).
   */
  async peerOf(req: ActionRequest): Promise<Peer> {
    const challenge = this.challenge;
    this.challenge = null;
    if (challenge === null) {
      if (req.proof !== undefined)
        throw new HelperError('PEER_UNPROVEN', 'a "proof" without a "prove" first on the same connection');
      return null;
    }
    await withdraw(challenge); // used once, whatever the answer
    if (!answers(challenge, req.proof))
      throw new HelperError(
        'PEER_UNPROVEN',
        `the proof does not match the file this connection was given: uid ${challenge.uid} is not proven; read the file named in the challenge and send its content as "proof"`,
      );
    return challenge.uid;
  }

  /** The connection ended (answered, evicted, timed out, gone): its challenge goes with it. */
  close(): void {
    this.closed = true;
    if (this.challenge !== null) void withdraw(this.challenge).catch(() => undefined);
    this.challenge = null;
  }
}
