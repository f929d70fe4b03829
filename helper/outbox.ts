/**
 * The health gate's outcomes on their way to the fleet (docs/helper.md, "Reporting the outcome"):
 * a `health` event when N is committed, a `rollback` event when P is put back (or the rollback is
 * refused, failed, or was taken over by an install of a newer version that landed). The helper cannot reach the mngd server (the agent checks in), so it keeps them
 * durably in `<state dir>/outbox.json` (root-only) and hands them to the agent in its reply to
 * `started` and `health_ok`; the agent queues them in its own durable event queue, then sends
 * `events_ack` with their ids, and only then does the helper drop them.
 *
 * At least once, never counted twice: an event's id says what it is (`rollback-1_0_4`: the health
 * gate commits or rolls back a version at most once on a Mac), so an outcome recorded again after
 * a crash, or handed over again to an agent killed between its queueing and its ack, is the same
 * event: the agent's queue keeps one copy of an id and the server stores (device, id) once. At
 * most OUTBOX_MAX events wait (one or two per update: a Mac whose agent is gone for long loses
 * only the oldest).
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { messageOf } from '../schema/errors.js';
import type { ReportEvent } from '../schema/types.js';
import { STATE_TORN, writeDurable } from './durable.js';
import type { Logger } from './log.js';

/** Events waiting for the agent at most (a torn or full outbox drops the oldest). */
export const OUTBOX_MAX = 20;

interface OutboxFile {
  events: ReportEvent[];
}

const fresh = (): OutboxFile => ({ events: [] });

function parse(text: string): OutboxFile | null {
  try {
    const d = JSON.parse(text) as Partial<OutboxFile>;
    return Array.isArray(d.events) ? (d as OutboxFile) : null;
  } catch {
    return null;
  }
}

/** The id of the outcome about `version`: `health-1_0_4`, `rollback-1_0_4` (the report's id pattern has no dots). */
export function outcomeId(kind: ReportEvent['kind'], version: string): string {
  return `${kind}-${version.replace(/[^A-Za-z0-9]/g, '_')}`.slice(0, 64);
}

/** The gate's event about N (`to` of a health event, `from` of a rollback): its id names both. */
export function outcomeEvent(o: {
  kind: 'health' | 'rollback';
  from: string;
  to: string;
  result: ReportEvent['result'];
  code: string | null;
  ms: number | null;
  at: Date;
}): ReportEvent {
  const duration_ms = o.ms === null ? null : Math.min(86_400_000, Math.max(0, Math.round(o.ms)));
  const id = outcomeId(o.kind, o.kind === 'health' ? o.to : o.from);
  const { kind, from, to, result, code } = o;
  return { id, at: o.at.toISOString(), kind, from, to, result, code, duration_ms, bytes: null };
}

/** A failed rollback attempt away from `version`: one id per N too (`rollback-failed_1_0_4`). */
export function failedOutcomeId(version: string): string {
  return outcomeId('rollback', `failed-${version}`);
}

/** An install of N (`to`) over P (`from`), as the gate's records say it. */
interface Gated {
  from: string;
  to: string;
}

/** N proved healthy (`ms`: since its install, or since this helper's start). */
export function healthOutcome(p: Gated, ms: number, at: Date): ReportEvent {
  return outcomeEvent({ kind: 'health', from: p.from, to: p.to, result: 'ok', code: null, ms, at });
}

/** The rollback of N (`p.to`) back to P: done, refused or failed (`ms`: from the decision, null after a restart). */
export function rollbackOutcome(p: Gated, result: ReportEvent['result'], code: string, ms: number | null, at: Date) {
  return outcomeEvent({ kind: 'rollback', from: p.to, to: p.from, result, code, ms, at });
}

/** The fleet hears of a Mac stuck on N: one event per N (a fixed id), superseded by N's rollback event. */
export function failedOutcome(p: Gated, at: Date): ReportEvent {
  return { ...rollbackOutcome(p, 'error', 'ROLLBACK_FAILED', null, at), id: failedOutcomeId(p.to) };
}

/**
 * N's due rollback was taken over by an install of `version`, which landed: the Mac is off N, so
 * N's rollback event (its id, `rollback-1_0_4`: N's gate ends once on a Mac) says so, from N to
 * `version`, and supersedes N's ROLLBACK_FAILED for the fleet (pipeline/fleet/rollbacks.ts).
 */
export function takenOverOutcome(due: Gated, version: string, ms: number | null, at: Date): ReportEvent {
  return outcomeEvent({
    kind: 'rollback',
    from: due.to,
    to: version,
    result: 'ok',
    code: 'ROLLBACK_TAKEN_OVER',
    ms,
    at,
  });
}

export class Outbox {
  readonly file: string;
  /** one change at a time (a rollback runs beside the socket's requests) */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    stateDir: string,
    private readonly log: Logger,
  ) {
    this.file = join(stateDir, 'outbox.json');
  }

  private async read(): Promise<OutboxFile> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch {
      return fresh();
    }
    const box = parse(text);
    if (box !== null) return box;
    this.log.warn(
      `SelfUpdate: helper state: ${this.file} is torn or unreadable [${STATE_TORN}]; the outcomes it held are not reported`,
    );
    return fresh();
  }

  private change<T>(fn: (box: OutboxFile) => T): Promise<T> {
    const run = this.chain.then(async () => {
      const box = await this.read();
      const out = fn(box);
      await writeDurable(this.file, `${JSON.stringify(box)}\n`, { mode: 0o600, keepCurrent: false });
      return out;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The outcomes waiting for the agent, oldest first. */
  pending(): Promise<ReportEvent[]> {
    const run = this.chain.then(async () => (await this.read()).events);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Records an outcome durably, unless one with its id waits already. */
  add(e: ReportEvent): Promise<void> {
    return this.change((box) => {
      if (box.events.some((x) => x.id === e.id)) return;
      box.events.push(e);
      box.events.splice(0, Math.max(0, box.events.length - OUTBOX_MAX));
    });
  }

  /** add(), for the health gate: reporting never stops it, so a failure is said in the log, never thrown. */
  async record(e: ReportEvent): Promise<void> {
    await this.add(e).catch((err: unknown) =>
      this.log.warn(`SelfUpdate: helper could not record the ${e.kind} event ${e.from} -> ${e.to}: ${messageOf(err)}`),
    );
  }

  /** The agent queued these: drop them. Returns how many still wait. */
  ack(ids: readonly string[]): Promise<number> {
    const gone = new Set(ids);
    return this.change((box) => {
      box.events = box.events.filter((e) => !gone.has(e.id));
      return box.events.length;
    });
  }
}
