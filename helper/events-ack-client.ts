/**
 * The agent's side of the health gate's outbox (outbox.ts, docs/helper.md "Reporting the outcome
 * to the fleet"): once it queued the outcomes a `started` or `health_ok` reply carried, it says so,
 * and the helper drops them. One request, one connection, as every client call (client.ts).
 */
import { randomUUID } from 'node:crypto';
import { exchange, type ClientOptions } from './client.js';
import { HelperClientError, PROTOCOL_VERSION, type ActionRequest, type EventsAckResponse } from './protocol.js';

/** The agent queued the health gate's outcomes it was handed (`events` of a started or health_ok reply): the helper drops them. */
export async function ackEvents(
  socketPath: string,
  ids: readonly string[],
  opts: ClientOptions & { id?: string } = {},
): Promise<EventsAckResponse> {
  const request: ActionRequest = {
    v: PROTOCOL_VERSION,
    id: opts.id ?? randomUUID(),
    type: 'events_ack',
    ids: [...ids],
  };
  const reply = await exchange(socketPath, request, opts.timeoutMs ?? 5000);
  if (reply.ok && !('outcome' in reply && reply.outcome === 'events_ack')) {
    throw new HelperClientError(
      'HELPER_PROTOCOL',
      `the helper at ${socketPath} answered events_ack with another kind of reply`,
    );
  }
  return reply as EventsAckResponse;
}
