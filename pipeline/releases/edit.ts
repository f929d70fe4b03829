/**
 * The on-call edits of a release file (yank, halt, pause, rollout), pure: text in, text out.
 * yaml's Document API finds the nodes; the change is spliced into the source text at their
 * ranges, so every other byte (comments, blank lines, quoting, spacing before a comment) stays
 * exactly as the author wrote it. Re-stringifying the document would not keep those.
 */
import { isMap, isScalar, parseDocument, type Node, type Pair, type Scalar, type YAMLMap } from 'yaml';
import { ValidationError } from '../../schema/errors.js';
import { ORDER } from './release-yaml.js';
import { shareOf, type Schedule } from '../../schema/rollout.js';
import { scheduleBlock, scheduleSummary, stepInForce } from './edit-schedule.js';

/** `at`: when the command runs (RFC 3339 UTC): a pause freezes the share in force then. */
export type ReleaseEdit =
  | { kind: 'yank' }
  | { kind: 'halt'; reason: string; at: string }
  | { kind: 'pause'; at: string }
  | { kind: 'rollout'; percent: number; at: string }
  | { kind: 'schedule'; schedule: Schedule; at: string };

export interface EditOutcome {
  /** the new text; the input itself when nothing changes */
  text: string;
  changed: boolean;
  /** what changed (or why nothing did), one line: "rollout_percent 10 -> 50" */
  change: string;
  /** what the person should know besides: a lowered share, a release that stays off, ... */
  notes: string[];
}

interface Located {
  doc: ReturnType<typeof parseDocument>;
  root: YAMLMap;
  pair(key: string): Pair<Scalar, Node | null> | undefined;
}

function locate(text: string, file: string): Located {
  const doc = parseDocument(text, { version: '1.2', schema: 'core', uniqueKeys: true });
  const root = doc.contents;
  // Only the block layout the pipeline writes is edited in place; anything else is rare enough to edit by hand.
  if (doc.errors.length > 0 || !isMap(root) || root.flow === true) {
    throw new ValidationError(
      'RELEASE_EDIT_LAYOUT',
      `${file} is not a block-style YAML map ("key: value" lines); expected the layout "mngd-release new" writes: edit the file by hand`,
    );
  }
  const pair = (key: string) =>
    (root.items as Pair<Scalar, Node | null>[]).find((p) => isScalar(p.key) && p.key.value === key);
  return { doc, root, pair };
}

/** Replaces the text of an existing scalar value (its comment and spacing stay). */
function replaceValue(text: string, value: Node | null, replacement: string, file: string, key: string): string {
  if (!isScalar(value) || value.range === undefined || value.range === null) {
    throw new ValidationError('RELEASE_EDIT_LAYOUT', `${file}: ${key} has no single value to change; edit it by hand`);
  }
  const [start, end] = value.range;
  return text.slice(0, start) + replacement + text.slice(end);
}

/** The offset just after the line that ends `pair` (past a block scalar, past a comment on the same line). */
function endOfPair(text: string, pair: Pair<Scalar, Node | null>): number {
  const node = pair.value ?? pair.key;
  const end = node?.range?.[1] ?? text.length;
  if (end > 0 && text[end - 1] === '\n') return end;
  const nl = text.indexOf('\n', end);
  return nl === -1 ? text.length : nl + 1;
}

/** Inserts `lines` (ending in a newline) after the key that precedes `key` in the contract order. */
function insertPair(text: string, at: Located, key: string, lines: string): string {
  const before = ORDER.slice(0, ORDER.indexOf(key as (typeof ORDER)[number]));
  let after: Pair<Scalar, Node | null> | undefined;
  for (const k of before) after = at.pair(k) ?? after;
  after ??= at.root.items[at.root.items.length - 1] as Pair<Scalar, Node | null> | undefined;
  if (after === undefined) return text + lines;
  const offset = endOfPair(text, after);
  const head = text.slice(0, offset);
  return (head.endsWith('\n') || head === '' ? head : `${head}\n`) + lines + text.slice(offset);
}

function setOrInsert(text: string, at: Located, file: string, key: string, valueText: string): string {
  const existing = at.pair(key);
  return existing
    ? replaceValue(text, existing.value, valueText, file, key)
    : insertPair(text, at, key, `${key}: ${valueText}\n`);
}

/** Removes a pair whole: from the start of its key's line to the end of its value. */
function removePair(text: string, pair: Pair<Scalar, Node | null>): { text: string; offset: number } {
  const keyStart = pair.key.range?.[0] ?? 0;
  const start = text.lastIndexOf('\n', keyStart - 1) + 1;
  return { text: text.slice(0, start) + text.slice(endOfPair(text, pair)), offset: start };
}

/** Writes `lines` (ending in a newline) in place of the `replaced` keys present, or inserts them as `key` in order. */
function writeBlock(text: string, at: Located, key: string, lines: string, replaced: readonly string[]): string {
  // Removed from the last in the file to the first, so each range is still right when its turn comes.
  const pairs = replaced
    .map((k) => at.pair(k))
    .filter((p) => p !== undefined)
    .sort((x, y) => (y.key.range?.[0] ?? 0) - (x.key.range?.[0] ?? 0));
  if (pairs.length === 0) return insertPair(text, at, key, lines);
  let out = text;
  let offset = 0;
  for (const p of pairs) ({ text: out, offset } = removePair(out, p));
  return out.slice(0, offset) + lines + out.slice(offset);
}

/** Adds `paused_at` at the end of the rollout_schedule map, at the indentation of its keys. */
function insertPausedAt(text: string, at: Located, file: string, when: string): string {
  const value = at.pair('rollout_schedule')?.value;
  if (!isMap(value) || value.flow === true || value.items.length === 0) {
    throw new ValidationError(
      'RELEASE_EDIT_LAYOUT',
      `${file}: rollout_schedule is not a block map ("key: value" lines); expected the layout "mngd-release rollout --schedule" writes: add paused_at: "${when}" to it by hand`,
    );
  }
  const first = value.items[0] as Pair<Scalar, Node | null>;
  const keyStart = first.key.range?.[0] ?? 0;
  const indent = keyStart - (text.lastIndexOf('\n', keyStart - 1) + 1);
  const offset = endOfPair(text, value.items[value.items.length - 1] as Pair<Scalar, Node | null>);
  const head = text.slice(0, offset);
  return `${head.endsWith('\n') ? head : `${head}\n`}${' '.repeat(indent)}paused_at: ${JSON.stringify(when)}\n${text.slice(offset)}`;
}

function unchanged(text: string, change: string, notes: string[] = []): EditOutcome {
  return { text, changed: false, change, notes };
}

/** `file` names the file in messages. The text must be a release file that loads (validate first). */
export function editReleaseText(text: string, file: string, edit: ReleaseEdit): EditOutcome {
  const at = locate(text, file);
  const get = (key: string): unknown => at.doc.get(key);
  const active = get('active') !== false;
  const halted = at.pair('halted') !== undefined;
  const js = at.doc.toJS() as { rollout_percent?: number; rollout_schedule?: Schedule };
  const schedule = js.rollout_schedule;
  const now = 'at' in edit ? Date.parse(edit.at) : 0;
  const rollout = shareOf(js, now);
  const offNote = (): string[] =>
    halted || !active
      ? [
          `it stays offered to nobody while it is ${halted ? 'halted' : 'yanked'}: the share counts only once it is offered again`,
        ]
      : [];

  switch (edit.kind) {
    case 'yank': {
      if (!active) return unchanged(text, 'already yanked (active: false): nothing to change');
      const notes = halted
        ? ['it was halted already: active: false keeps it off for good, with the halt on record']
        : [];
      return {
        text: setOrInsert(text, at, file, 'active', 'false'),
        changed: true,
        change: 'active: true -> false',
        notes,
      };
    }
    case 'halt': {
      if (halted) {
        const h = at.doc.toJS() as { halted?: { reason?: unknown; at?: unknown } };
        return unchanged(
          text,
          `already halted at ${String(h.halted?.at)} (${JSON.stringify(h.halted?.reason)}): nothing to change`,
        );
      }
      const block = `halted:\n  reason: ${JSON.stringify(edit.reason)}\n  at: ${JSON.stringify(edit.at)}\n`;
      const notes = active ? [] : ['it was yanked already (active: false): the halt records why it must stay off'];
      return { text: insertPair(text, at, 'halted', block), changed: true, change: `halted at ${edit.at}`, notes };
    }
    case 'pause':
    case 'rollout': {
      // A ramp's pause freezes the share in force; a fixed share has nothing to freeze, so pause stops it.
      if (edit.kind === 'pause' && schedule !== undefined)
        return pauseSchedule(text, at, file, schedule, edit.at, offNote());
      const percent = edit.kind === 'pause' ? 0 : edit.percent;
      if (percent === rollout && schedule === undefined)
        return unchanged(text, `rollout_percent is already ${rollout}: nothing to change`, offNote());
      const notes = offNote();
      if (percent < rollout && edit.kind === 'rollout') {
        notes.unshift(
          `this lowers the share ${rollout}% -> ${percent}%: a safety change (offers less); devices that installed it keep it`,
        );
      }
      return {
        text:
          schedule === undefined
            ? setOrInsert(text, at, file, 'rollout_percent', String(percent))
            : writeBlock(text, at, 'rollout_percent', `rollout_percent: ${percent}\n`, ['rollout_schedule']),
        changed: true,
        change:
          schedule === undefined
            ? `rollout_percent: ${rollout} -> ${percent}`
            : `rollout_schedule (${scheduleSummary(schedule)}, ${rollout} % now) -> rollout_percent: ${percent}`,
        notes,
      };
    }
    case 'schedule': {
      const next = shareOf({ rollout_schedule: edit.schedule }, Date.parse(edit.at));
      const notes = offNote();
      if (next < rollout)
        notes.unshift(
          `this lowers the share now ${rollout}% -> ${next}%: a safety change (offers less); devices that installed it keep it`,
        );
      if (Date.parse(edit.schedule.start) < Date.parse(edit.at))
        notes.push(
          `the schedule started before now: ${stepInForce(edit.schedule, Date.parse(edit.at))} once published`,
        );
      return {
        text: writeBlock(text, at, 'rollout_schedule', `${scheduleBlock(edit.schedule)}\n`, [
          'rollout_schedule',
          'rollout_percent',
        ]),
        changed: true,
        change: `${schedule === undefined ? `rollout_percent: ${rollout}` : `rollout_schedule (${scheduleSummary(schedule)})`} -> rollout_schedule ${scheduleSummary(edit.schedule)}`,
        notes,
      };
    }
  }
}

/** A pause of a ramp: `paused_at` now, so the share in force now holds (rolloutStepsOf cuts the steps there). */
function pauseSchedule(
  text: string,
  at: Located,
  file: string,
  s: Schedule,
  when: string,
  notes: string[],
): EditOutcome {
  if (s.paused_at !== undefined)
    return unchanged(text, `the schedule is already paused since ${s.paused_at}: nothing to change`, notes);
  const t = Date.parse(when);
  const share = shareOf({ rollout_schedule: s }, t);
  const holds =
    share === 0
      ? `it had not started (starts ${s.start}): offered to nobody until resumed, a share of 0 for good like rollout_percent: 0`
      : `holds ${stepInForce(s, t)} until resumed`;
  return {
    text: insertPausedAt(text, at, file, when),
    changed: true,
    change: `rollout_schedule paused at ${when}: ${holds}`,
    notes: [
      ...notes,
      'resume with "mngd-release rollout <version> --schedule ..." (a new ramp) or "rollout <version> <percent>"',
    ],
  };
}
