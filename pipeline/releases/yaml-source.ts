/**
 * Parsing one YAML file safely, with exact source positions (pure: bytes in, data out).
 * Refuses what a release file must never hold: several documents, anchors and aliases (a
 * billion-laughs file is rejected before any alias is expanded), custom tags, duplicate keys,
 * invalid UTF-8, non-map documents. The size cap is load.ts's (fileSizeProblem), before any parsing.
 */
import {
  LineCounter,
  isAlias,
  isMap,
  isScalar,
  parseAllDocuments,
  visit,
  type Document,
  type Node,
  type Pair,
} from 'yaml';
import type { ReleaseProblemCode } from '../../schema/codes/index.js';
import type { Position } from './release-set.js';
import type { Problem } from './problems.js';

/** One strict decoder for every file (decode() without `stream` starts afresh each call). */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export interface YamlEntry {
  key: string;
  /** offset of the key in the text (src.positionOf turns it into line and column) */
  keyOffset: number;
  valuePos: Position;
  /** the value as JavaScript (scalars only are kept as they are; see `source`) */
  value: unknown;
  /** the text exactly as written, for plain scalars that YAML reads as numbers (so `1.10` stays 1.10) */
  source: string | null;
  /** true when the value is a plain (unquoted) scalar */
  plain: boolean;
  node: Node | null;
}

export interface YamlSource {
  /** null when the file could not be read as one YAML map; `problems` says why */
  entries: Map<string, YamlEntry> | null;
  doc: Document | null;
  lineCounter: LineCounter;
  problems: Problem[];
  positionOf(offset: number): Position;
}

function firstInvalidUtf8Line(bytes: Buffer): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      try {
        decoder.decode(bytes.subarray(start, i));
      } catch {
        return line;
      }
      line++;
      start = i + 1;
    }
  }
  return 1;
}

/** Where the quoted scalar that runs into `errorOffset` (an unclosed quote) opens, if one does. */
function unclosedQuoteAt(doc: Document, errorOffset: number): number | null {
  let at: number | null = null;
  visit(doc, {
    Scalar(_key, node) {
      const [start, end] = node.range ?? [0, 0];
      if ((node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') && start < errorOffset && end >= errorOffset)
        at = start;
    },
  });
  return at;
}

/** The key repeated at `offset`, and where it first appears in the same map. */
function firstOfKey(doc: Document, offset: number): { key: string; offset: number } | null {
  let found: { key: string; offset: number } | null = null;
  visit(doc, {
    Map(_key, map) {
      const keys = map.items.map((p) => p.key as Node | null).filter(isScalar);
      const dup = keys.find((k) => (k.range?.[0] ?? -1) === offset);
      if (dup === undefined) return undefined;
      const first = keys.find((k) => k.value === dup.value);
      found = { key: String(dup.value), offset: first?.range?.[0] ?? offset };
      return visit.BREAK;
    },
  });
  return found;
}

export function parseYamlSource(file: string, bytes: Buffer, kind: 'release' | 'policy'): YamlSource {
  const lineCounter = new LineCounter();
  const positionOf = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const problems: Problem[] = [];
  const fail = (code: ReleaseProblemCode, message: string, pos?: Position): YamlSource => {
    problems.push({ severity: 'error', code, file, ...(pos ? { line: pos.line, column: pos.column } : {}), message });
    return { entries: null, doc: null, lineCounter, problems, positionOf };
  };
  const what = kind === 'release' ? 'a release file' : 'the policy file';

  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    return fail('FILE_ENCODING', `${what} is not valid UTF-8: save it as UTF-8 (the first bad byte is on this line)`, {
      line: firstInvalidUtf8Line(bytes),
      column: 1,
    });
  }
  if (!/^[ \t]*[^#\s]/m.test(text)) {
    return fail(
      'FILE_EMPTY',
      kind === 'release'
        ? 'the release file is empty: expected a YAML map with version, download_url, sha256 and size (mngd-release new <version> --pkg FILE --url URL writes one)'
        : 'the policy file is empty: expected a YAML map with allowed_url_prefixes, channels and trusted_keys',
    );
  }

  const docs = parseAllDocuments(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    version: '1.2',
    schema: 'core',
  });
  const list = Array.isArray(docs) ? docs : [];
  if (list.length > 1) {
    const second = list[1]!;
    const offset = second.range?.[0] ?? 0;
    return fail(
      'FILE_MULTIPLE_DOCUMENTS',
      `${what} holds ${list.length} YAML documents; expected exactly one: remove the "---" separator and everything after it, or split it into separate files`,
      positionOf(offset),
    );
  }
  const doc = list[0];
  if (doc === undefined) return fail('FILE_EMPTY', `${what} holds no YAML document`);

  for (const err of doc.errors) {
    const pos = positionOf(err.pos[0]);
    const quoteAt = err.code === 'MISSING_CHAR' ? unclosedQuoteAt(doc, err.pos[0]) : null;
    if (quoteAt !== null) {
      // The parser notices only at the end of the file; the mistake is where the quote opened.
      const q = text[quoteAt];
      problems.push({
        severity: 'error',
        code: 'FILE_YAML_SYNTAX',
        file,
        ...positionOf(quoteAt),
        message: `YAML syntax error: the ${q} that opens this value is never closed, so the rest of the file became part of it; expected a closing ${q} at the end of the value: add it (or remove the opening one)`,
      });
    } else if (err.code === 'DUPLICATE_KEY') {
      const dup = firstOfKey(doc, err.pos[0]);
      problems.push({
        severity: 'error',
        code: 'FILE_DUPLICATE_KEY',
        file,
        ...pos,
        message:
          dup === null
            ? 'this key appears twice in the map; expected each key once: delete one of them'
            : `the key "${dup.key}" appears twice, first on line ${positionOf(dup.offset).line}; expected each key once: delete one of them`,
      });
    } else if (err.code === 'TAB_AS_INDENT') {
      problems.push({
        severity: 'error',
        code: 'FILE_YAML_SYNTAX',
        file,
        ...pos,
        message: 'a tab indents this line; YAML indents with spaces only: replace the tab with spaces',
      });
    } else {
      problems.push({
        severity: 'error',
        code: 'FILE_YAML_SYNTAX',
        file,
        ...pos,
        message: `YAML syntax error: ${err.message.split('\n')[0]}`,
      });
    }
  }

  // Anchors, aliases and custom tags: not needed in a release file and a path to surprises
  // (alias bombs, values that differ from what the reviewer saw).
  // Reported once per kind (a billion-laughs file has hundreds of aliases; one line says it).
  const unsafe = new Map<ReleaseProblemCode, { pos: Position; count: number; message: string }>();
  const flag = (code: ReleaseProblemCode, pos: Position, message: string) => {
    const seen = unsafe.get(code);
    if (seen) seen.count++;
    else unsafe.set(code, { pos, count: 1, message });
  };
  // Without any of these characters there can be no anchor, alias or tag: skip the walk.
  if (/[&*!]/.test(text))
    visit(doc, {
      Node(_key, node) {
        const pos = positionOf(node.range?.[0] ?? 0);
        if (isAlias(node)) {
          flag(
            'FILE_ALIAS',
            pos,
            `YAML alias "*${node.source}" is not allowed; expected plain values: write the value out in full`,
          );
          return visit.SKIP;
        }
        if (node.anchor)
          flag(
            'FILE_ANCHOR',
            pos,
            `YAML anchor "&${node.anchor}" is not allowed; expected plain values: remove the anchor`,
          );
        if (node.tag)
          flag(
            'FILE_TAG',
            pos,
            `YAML tag "${node.tag.replace('tag:yaml.org,2002:', '!!')}" is not allowed; expected plain values: remove the tag`,
          );
        return undefined;
      },
    });
  for (const [code, u] of unsafe) {
    const more = u.count > 1 ? ` (and ${u.count - 1} more in this file)` : '';
    problems.push({ severity: 'error', code, file, ...u.pos, message: u.message + more });
  }
  if (problems.length > 0) return { entries: null, doc, lineCounter, problems, positionOf };

  const root = doc.contents;
  if (!isMap(root)) {
    const pos = positionOf(root?.range?.[0] ?? 0);
    return fail(
      'FILE_NOT_A_MAP',
      `${what} must be a YAML map of "key: value" lines; found ${root === null ? 'nothing' : isScalar(root) ? 'a single value' : 'a list'}`,
      pos,
    );
  }
  const entries = new Map<string, YamlEntry>();
  for (const pair of root.items as Pair<unknown, unknown>[]) {
    const keyNode = pair.key as Node | null;
    const keyOffset = keyNode?.range?.[0] ?? 0;
    if (!isScalar(keyNode) || typeof keyNode.value !== 'string') {
      problems.push({
        severity: 'error',
        code: 'FILE_BAD_KEY',
        file,
        ...positionOf(keyOffset),
        message: 'keys must be plain words such as "version"; found a complex key',
      });
      continue;
    }
    const valueNode = (pair.value ?? null) as Node | null;
    const valuePos = positionOf(valueNode?.range ? valueNode.range[0] : keyOffset);
    const plain = isScalar(valueNode) && valueNode.type === 'PLAIN';
    const value = valueNode === null ? null : isScalar(valueNode) ? valueNode.value : valueNode.toJSON();
    // Only numbers need their text: YAML reads 1.10 as 1.1, a version must stay 1.10.
    const source =
      plain && typeof value === 'number' && valueNode.range ? text.slice(valueNode.range[0], valueNode.range[1]) : null;
    entries.set(keyNode.value, { key: keyNode.value, keyOffset, valuePos, value, source, plain, node: valueNode });
  }
  return { entries, doc, lineCounter, problems, positionOf };
}

/** The node at a JSON-pointer-like path (as Ajv reports it), for positions of nested errors. */
export function positionAtPath(src: YamlSource, path: readonly (string | number)[]): Position | null {
  if (src.doc === null) return null;
  const node = src.doc.getIn(path, true) as Node | undefined;
  if (node && typeof node === 'object' && node.range) return src.positionOf(node.range[0]);
  return null;
}
