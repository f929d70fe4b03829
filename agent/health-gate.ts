/**
 * The agent's side of the helper's health gate (docs/helper.md): the start ping, health_ok, the
 * versions quarantined on this Mac, and the gate's outcomes. The helper cannot reach the server,
 * so it hands its outcomes (N committed, P put back) over in its replies; they go into the agent's
 * durable event queue, reach the fleet with the next checkin, and only once queued does the agent
 * tell the helper to drop them (events_ack): handed over twice, they are queued once.
 */
import { sendHealth } from '../helper/client.js';
import { ackEvents } from '../helper/events-ack-client.js';
import { messageOf } from '../schema/errors.js';
import type { ReportEvent } from '../schema/types.js';
import type { EventQueue } from './event-queue.js';
import type { Logger } from './log.js';

export interface GateAgent {
  socket: string;
  version: string;
  log: Logger;
  queue: EventQueue;
  setQuarantined(versions: readonly string[]): void;
}

/** Queues the helper's outcomes, then acknowledges them; a failure leaves them with the helper for the next start. */
export async function takeOutcomes(a: GateAgent, events: readonly ReportEvent[]): Promise<void> {
  if (events.length === 0) return;
  try {
    const added = await a.queue.adopt(events);
    for (const e of added)
      a.log.info(
        `SelfUpdate: events: queued the helper's ${e.kind} ${e.from ?? '?'} -> ${e.to ?? '?'} (${e.result}${e.code === null ? '' : `, ${e.code}`}) for the next checkin`,
      );
    const r = await ackEvents(
      a.socket,
      events.map((e) => e.id),
    );
    if (!r.ok) a.log.warn(`SelfUpdate: the helper refused events_ack: ${r.error.message} [${r.error.code}]`);
  } catch (err) {
    a.log.warn(`SelfUpdate: events: the helper's outcomes stay with it until the next start: ${messageOf(err)}`);
  }
}

export function healthGateOf(a: GateAgent): { started: () => Promise<boolean>; healthOk: () => Promise<boolean> } {
  const say = async (type: 'started' | 'health_ok'): Promise<boolean | null> => {
    try {
      const r = await sendHealth(a.socket, type, a.version);
      if (!r.ok) {
        a.log.warn(`SelfUpdate: the helper refused ${type}: ${r.error.message} [${r.error.code}]`);
        return null;
      }
      a.setQuarantined(r.quarantined);
      await takeOutcomes(a, r.events ?? []); // none from a helper that predates them
      return r.pending;
    } catch (err) {
      a.log.info(`SelfUpdate: the helper was not told ${type} ${a.version}: ${messageOf(err)}`);
      return null;
    }
  };
  return {
    started: async () => (await say('started')) === true,
    healthOk: async () => {
      const stillPending = await say('health_ok');
      if (stillPending === false) a.log.info(`SelfUpdate: health_ok ${a.version} sent; the helper committed it`);
      return stillPending === false;
    },
  };
}
