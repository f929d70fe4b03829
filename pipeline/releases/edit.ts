/**
 * The on-call edits of a release file (yank, halt, pause, rollout), pure: text in, text out.
 * yaml's Document API finds the nodes; the change is spliced into the source text at their
 * ranges, so every other byte (comments, blank lines, quoting, spacing before a comment) stays
 * exactly as the author wrote it. Re-stringifying the document would not keep those.
 */
import { isMap, isScalar, parseDocument, type Node, type Pair, type Scalar, type YAMLMap } from 'yaml';
import { ValidationError } from '../../schema/errors.js';
import { ORDER } from './release-yaml.js';

export type ReleaseEdit =
  | { kind: 'yank' }
  | { kind: 'halt'; reason: string; at: string }
  | { kind: 'pause' }
  | { kind: 'rollout'; percent: number };

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

function unchanged(text: string, change: string, notes: string[] = []): EditOutcome {
  return { text, changed: false, change, notes };
}

/** `file` names the file in messages. The text must be a release file that loads (validate first). */
export function editReleaseText(text: string, file: string, edit: ReleaseEdit): EditOutcome {
  const at = locate(text, file);
  const get = (key: string): unknown => at.doc.get(key);
  const active = get('active') !== false;
  const halted = at.pair('halted') !== undefined;
  const rollout = typeof get('rollout_percent') === 'number' ? (get('rollout_percent') as number) : 100;
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
      const percent = edit.kind === 'pause' ? 0 : edit.percent;
      if (percent === rollout)
        return unchanged(text, `rollout_percent is already ${rollout}: nothing to change`, offNote());
      const notes = offNote();
      if (percent < rollout && edit.kind === 'rollout') {
        notes.unshift(
          `this lowers the share ${rollout}% -> ${percent}%: a safety change (offers less); devices that installed it keep it`,
        );
      }
      return {
        text: setOrInsert(text, at, file, 'rollout_percent', String(percent)),
        changed: true,
        change: `rollout_percent: ${rollout} -> ${percent}`,
        notes,
      };
    }
  }
}
