/**
 * The agent's durable queue of update events (docs/DESIGN.md, "Closing the loop"): `events.json`
 * in the private state folder, at most 200 events, the oldest dropped (and counted) when more
 * come. The checkin sends what is queued and drops exactly what it sent once the server answered
 * 2xx; on anything else the events stay for the next checkin.
 *
 * Never lose, never duplicate: every change is written through writeAtomic (temporary file,
 * fsync, rename), so a SIGKILL at any moment leaves the old queue or the new one. An event's id
 * is `<queue id>-<counter>`, the counter kept in the same file, the queue id random when the file
 * is created: an event killed between its send and its drop is sent again with the same id, and
 * the server stores (device, id) once; a queue started afresh never reuses an id.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_REPORT_EVENTS } from '../schema/report.schema.js';
import type { ReportEvent } from '../schema/types.js';
import type { Logger } from './log.js';
import { writeAtomic } from './state.js';

export const MAX_QUEUED_EVENTS = MAX_REPORT_EVENTS;

export type NewEvent = Omit<ReportEvent, 'id'>;

export interface QueueFile {
  /** random, made when the file is created: ids of a queue started afresh never repeat */
  queue: string;
  /** the next event's number */
  next: number;
  /** events dropped (oldest first) because the queue was full, not yet reported */
  dropped: number;
  events: ReportEvent[];
}

/** What one checkin sends: these events, and the count of dropped ones. */
export interface Batch {
  events: ReportEvent[];
  dropped: number;
}

const fresh = (): QueueFile => ({ queue: randomBytes(6).toString('hex'), next: 1, dropped: 0, events: [] });

function parse(text: string): QueueFile | null {
  try {
    const d = JSON.parse(text) as Partial<QueueFile>;
    if (
      typeof d.queue !== 'string' ||
      !/^[0-9a-f]{12}$/.test(d.queue) ||
      !Number.isSafeInteger(d.next) ||
      !Number.isSafeInteger(d.dropped) ||
      !Array.isArray(d.events)
    )
      return null;
    return d as QueueFile;
  } catch {
    return null;
  }
}

/** Appends `added`; beyond 200 the oldest go, counted in `dropped`. */
function push(q: QueueFile, added: ReportEvent[]): ReportEvent[] {
  q.events.push(...added);
  const over = q.events.length - MAX_QUEUED_EVENTS;
  if (over > 0) {
    q.events.splice(0, over);
    q.dropped += over;
  }
  return added;
}

export class EventQueue {
  readonly path: string;
  private readonly log: Logger | undefined;
  /** one change at a time within this process */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(stateDir: string, log?: Logger) {
    this.path = join(stateDir, 'events.json');
    this.log = log;
  }

  async read(): Promise<QueueFile> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch {
      return fresh();
    }
    const q = parse(text);
    if (q === null) {
      // The agent must not stop over its own bookkeeping: start a new queue (new ids).
      this.log?.warn(`SelfUpdate: events: ${this.path} is unreadable; starting a new event queue`);
      return fresh();
    }
    return q;
  }

  private change<T>(fn: (q: QueueFile) => T): Promise<T> {
    const run = this.chain.then(async () => {
      const q = await this.read();
      const out = fn(q);
      await writeAtomic(this.path, `${JSON.stringify(q)}\n`);
      return out;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Queues events (ids assigned here); beyond 200 the oldest go, counted in `dropped`. */
  append(events: readonly NewEvent[]): Promise<ReportEvent[]> {
    if (events.length === 0) return Promise.resolve([]);
    return this.change((q) => {
      return push(
        q,
        events.map((e) => ({ id: `${q.queue}-${q.next++}`, ...e })),
      );
    });
  }

  /**
   * Queues events that already have their ids (the helper's health gate outcomes), skipping an id
   * already queued: handed over twice, they are queued once. Returns those added.
   */
  adopt(events: readonly ReportEvent[]): Promise<ReportEvent[]> {
    if (events.length === 0) return Promise.resolve([]);
    return this.change((q) => {
      const have = new Set(q.events.map((e) => e.id));
      return push(
        q,
        events.filter((e) => !have.has(e.id) && have.add(e.id)),
      );
    });
  }

  /** After a 2xx: drops exactly the events that were sent (newer ones stay), and the dropped count sent. */
  ack(sent: Batch): Promise<void> {
    const ids = new Set(sent.events.map((e) => e.id));
    return this.change((q) => {
      q.events = q.events.filter((e) => !ids.has(e.id));
      q.dropped = Math.max(0, q.dropped - sent.dropped);
    });
  }
}
