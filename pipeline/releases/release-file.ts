/**
 * One release file: YAML source -> a checked Release with the position of every field, and the
 * problems of this file alone (pure). Rules across files live in rules.ts.
 */
import type { ReleaseProblemCode } from '../../schema/codes/index.js';
import type { ErrorObject } from 'ajv';
import { explainVersion, VERSION_RULE, compareVersions, isVersion } from '../../schema/version.js';
import { releaseSchema, MAX_RELEASE_NOTES_BYTES } from '../../schema/release.schema.js';
import { withReleaseDefaults, type Policy, type Release, type ReleaseFile } from '../../schema/types.js';
import { validateReleaseFile } from '../../schema/validators.js';
import type { Problem } from './problems.js';
import type { LoadedRelease, Position } from './release-set.js';
import { closest } from '../../schema/suggest.js';
import { parseYamlSource, positionAtPath, type YamlEntry } from './yaml-source.js';
import { integerFix } from './integer-text.js';
import { ringFieldProblems, rolloutFieldProblems, SCHEDULE_EXPECTED } from './release-rollout.js';
import { keepSourceText, packageRules, packageSchemaProblem, PACKAGE_EXPECTED, type Path } from './release-packages.js';
import { DOWNLOAD_URL_EXPECTED, urlProblems } from './release-url.js';

export const RELEASE_KEYS = Object.keys(releaseSchema.properties) as (keyof ReleaseFile)[];
const INTEGER_FIELDS = new Set(['size', 'rollout_percent']);
const VERSION_FIELDS = new Set(['version', 'min_required_version']);

/** What each field expects, with an example: the second half of every message about it. */
const EXPECTED: Record<string, string> = {
  version: `${VERSION_RULE}`,
  download_url: DOWNLOAD_URL_EXPECTED,
  sha256: 'the lowercase hex SHA-256 of the pkg, 64 characters (mngd-release hash <pkg> prints it)',
  size: "the pkg's size in bytes, a whole number above 0 without quotes (mngd-release hash <pkg> prints it)",
  release_notes: `text of at most ${MAX_RELEASE_NOTES_BYTES} bytes`,
  min_required_version: `a version at or below this release's version (${VERSION_RULE})`,
  active: 'true or false (false yanks the release)',
  halted:
    'a map with reason (text, at most 1024 characters) and at (UTC time like "2026-12-04T17:40:00Z"), as mngd-release halt writes it',
  channel: "one of the policy's channels, e.g. stable or beta",
  rings: "a list of the policy's ring names, e.g. [canary]",
  rollout_percent: 'a whole number from 0 to 100 without quotes (0 pauses the release)',
  rollout_schedule: SCHEDULE_EXPECTED,
  ...PACKAGE_EXPECTED,
};

function describe(value: unknown): string {
  if (value === null) return 'nothing (an empty value)';
  if (typeof value === 'string')
    return `the text ${JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return 'a list';
  return 'a map';
}

function fieldMessage(field: string, value: unknown, err: ErrorObject, plain: boolean): string {
  const expected = EXPECTED[field] ?? 'a valid value';
  if (VERSION_FIELDS.has(field) && typeof value === 'string' && err.keyword === 'pattern') {
    return `${field} ${JSON.stringify(value)} is not a version: ${explainVersion(value) ?? 'it is not dotted numeric'}; expected ${expected}`;
  }
  if (field === 'download_url' && typeof value === 'string' && err.keyword === 'pattern') {
    if (/^http:\/\//i.test(value))
      return `download_url uses http://; expected https:// (agents refuse plain http): change it to ${value.replace(/^http:/i, 'https:')} and make sure the CDN serves it`;
    return `download_url ${JSON.stringify(value)} is not an https:// URL; expected ${expected}`;
  }
  if (field === 'sha256' && typeof value === 'string' && err.keyword === 'pattern') {
    if (/^[0-9a-fA-F]{64}$/.test(value))
      return `sha256 has uppercase letters; expected lowercase hex: write ${value.toLowerCase()}`;
    // A pasted `shasum -a 256` line ("<hash>  <file>") or its --tag form ("SHA256 (<file>) = <hash>").
    const pasted = /^([0-9a-fA-F]{64})\s+\*?\S/.exec(value) ?? /^SHA2?-?256 \(.*\) = ([0-9a-fA-F]{64})$/i.exec(value);
    if (pasted)
      return `sha256 holds a whole shasum line, the hash and the file name; expected only the hash: write ${pasted[1]!.toLowerCase()}`;
    return `sha256 is ${value.length} characters long${/[^0-9a-fA-F]/.test(value) ? ' and not all hex' : ''}; expected ${expected}`;
  }
  if (INTEGER_FIELDS.has(field) && typeof value === 'string') {
    const fix = integerFix(field, value);
    if (!plain)
      return `${field} is quoted text ${JSON.stringify(value)}; expected ${expected}: ${/^\d+$/.test(value) ? 'remove the quotes' : fix === null ? 'write the number alone' : `write ${fix}`}`;
    return `${field} is written as ${value}; expected ${expected}${fix === null ? '' : `: write ${fix}`}`;
  }
  if (err.keyword === 'type' && value === null) {
    return `${field} has no value; expected ${expected}: give it a value or remove the line`;
  }
  return `${field} is ${describe(value)}, which is not allowed (${err.message ?? err.keyword}); expected ${expected}`;
}

/**
 * The value Ajv sees for an entry. Versions are read exactly as written (`1.10` stays "1.10"),
 * and integers must be written as plain decimal digits (`1.0` or `0x10` are not sizes).
 */
function valueFor(entry: YamlEntry): unknown {
  if (entry.plain && entry.source !== null && typeof entry.value === 'number') {
    // A hash made only of digits (or digits around one "e") is a number to YAML: keep its text.
    if (VERSION_FIELDS.has(entry.key) || entry.key === 'sha256') return entry.source;
  }
  return entry.value;
}

export interface ParsedRelease {
  loaded: LoadedRelease | null;
  problems: Problem[];
}

/**
 * `file` is the path relative to the repository; `name` the file name (e.g. 1.0.3.yaml); `now`
 * (ms since the epoch) the time whose share a schedule gives `rollout_percent` (Release says why).
 */
export function parseRelease(
  file: string,
  name: string,
  bytes: Buffer,
  policy: Policy | null,
  now: number,
): ParsedRelease {
  const src = parseYamlSource(file, bytes, 'release');
  const problems = src.problems;
  if (src.entries === null) return { loaded: null, problems };
  const entries = src.entries;
  const at = (pos: Position) => ({ line: pos.line, column: pos.column });
  const err = (code: ReleaseProblemCode, pos: Position | undefined, message: string) =>
    problems.push({ severity: 'error', code, file, ...(pos ? at(pos) : { line: 1, column: 1 }), message });

  const data: Record<string, unknown> = {};
  const badFields = new Set<string>();
  const pos0 = (k: string | number | undefined) => entries.get(String(k))?.valuePos;
  for (const [key, entry] of entries) {
    data[key] = valueFor(entry);
    // 1.0, 1e3 or 0x10 are numbers to YAML but not how a byte count or a share is written.
    if (
      INTEGER_FIELDS.has(key) &&
      entry.plain &&
      typeof entry.value === 'number' &&
      entry.source !== null &&
      !/^-?\d+$/.test(entry.source)
    ) {
      badFields.add(key);
      err(
        `RELEASE_BAD_${key.toUpperCase()}`,
        entry.valuePos,
        `${key} is written as ${entry.source}; expected ${EXPECTED[key]}`,
      );
    }
  }

  const scheduleErrors: ErrorObject[] = [];
  if (src.doc !== null) keepSourceText(src.doc, bytes.toString('utf8'), data);
  const atPath = (path: Path) =>
    path.length === 0 ? { line: 1, column: 1 } : (positionAtPath(src, path) ?? undefined);
  const seenPaths = new Set<string>();
  if (!validateReleaseFile(data)) {
    for (const e of validateReleaseFile.errors ?? []) {
      if (e.instancePath.startsWith('/rollout_schedule')) {
        scheduleErrors.push(e); // placed at the step at fault by rolloutFieldProblems
        continue;
      }
      const inPackage = packageSchemaProblem(e, data);
      if (inPackage !== null) {
        // one message per place; the field is then judged no further
        badFields.add(String(inPackage.path[0]));
        const key = inPackage.path.slice(0, 2).join('/');
        if (seenPaths.has(key)) continue;
        seenPaths.add(key);
        err(inPackage.code, atPath(inPackage.path) ?? pos0(inPackage.path[0]), inPackage.message);
        continue;
      }
      const nested = e.instancePath.split('/').slice(1);
      if (
        nested.length > 0 &&
        (nested.length > 1 || e.keyword === 'additionalProperties' || e.keyword === 'required')
      ) {
        // Inside a map field (halted): one message per field, at its key.
        const field = nested[0]!;
        if (badFields.has(field)) continue;
        badFields.add(field);
        const what =
          e.keyword === 'additionalProperties'
            ? `has an unknown key "${String(e.params['additionalProperty'])}"`
            : e.keyword === 'required'
              ? `has no "${String(e.params['missingProperty'])}"`
              : `${nested.slice(1).join('.')} ${e.message ?? e.keyword}`;
        err(
          `RELEASE_BAD_${field.toUpperCase()}`,
          src.positionOf(entries.get(field)?.keyOffset ?? 0),
          `${field} ${what}; expected ${EXPECTED[field] ?? 'a valid value'}`,
        );
        continue;
      }
      if (e.keyword === 'additionalProperties') {
        const key = String(e.params['additionalProperty']);
        const guess = closest(key, RELEASE_KEYS);
        err(
          'RELEASE_UNKNOWN_KEY',
          src.positionOf(entries.get(key)?.keyOffset ?? 0),
          `unknown key "${key}"${guess ? `: did you mean "${guess}"?` : ''} Expected only ${RELEASE_KEYS.join(', ')}`,
        );
        continue;
      }
      if (e.keyword === 'required') {
        const key = String(e.params['missingProperty']);
        err(
          'RELEASE_MISSING_FIELD',
          { line: 1, column: 1 },
          `required field "${key}" is missing: add "${key}: …" (${EXPECTED[key]})`,
        );
        continue;
      }
      const field = e.instancePath.split('/')[1] ?? '';
      if (badFields.has(field)) continue; // one message per field is enough
      badFields.add(field);
      err(
        `RELEASE_BAD_${field.toUpperCase()}`,
        entries.get(field)?.valuePos,
        fieldMessage(field, data[field], e, entries.get(field)?.plain ?? false),
      );
    }
  }

  for (const p of rolloutFieldProblems(src, data, scheduleErrors)) err(p.code, p.pos, p.message);
  for (const p of ringFieldProblems(src, data, policy)) err(p.code, p.pos, p.message);

  const pos = (k: string) => entries.get(k)?.valuePos;
  const good = (k: string) => entries.has(k) && !badFields.has(k);
  const version = good('version') ? (data['version'] as string) : null;

  // The file name is the version as written: 1.0.3.yaml says version 1.0.3.
  const base = name.slice(0, -'.yaml'.length);
  if (version !== null && version !== base) {
    err(
      'RELEASE_FILE_NAME_MISMATCH',
      pos('version'),
      `the file is named ${name} but says version ${version}; expected them to match: rename the file to ${version}.yaml or set version: ${JSON.stringify(base)}`,
    );
  }
  if (good('download_url'))
    for (const p of urlProblems(data['download_url'] as string, policy)) err(p.code, pos('download_url'), p.message);
  if (!badFields.has('artifacts') && !badFields.has('requires'))
    for (const p of packageRules(data, (k) => entries.has(k), policy))
      err(p.code, atPath(p.path) ?? pos0(p.path[0]), p.message);
  if (good('release_notes') && Buffer.byteLength(data['release_notes'] as string) > MAX_RELEASE_NOTES_BYTES) {
    err(
      'RELEASE_BAD_RELEASE_NOTES',
      pos('release_notes'),
      `release_notes is ${Buffer.byteLength(data['release_notes'] as string)} bytes; expected at most ${MAX_RELEASE_NOTES_BYTES}: shorten it and link the full changelog`,
    );
  }
  if (version !== null && good('min_required_version')) {
    const floor = data['min_required_version'] as string;
    if (isVersion(floor) && compareVersions(floor, version) > 0) {
      err(
        'RELEASE_FLOOR_ABOVE_VERSION',
        pos('min_required_version'),
        `min_required_version ${floor} is above this release's version ${version}; expected a version at or below ${version}: devices could never reach the floor through this release`,
      );
    }
  }
  if (good('channel') && policy !== null && !policy.channels.includes(data['channel'] as string)) {
    const guess = closest(data['channel'] as string, policy.channels);
    err(
      'RELEASE_UNKNOWN_CHANNEL',
      pos('channel'),
      `channel "${String(data['channel'])}" is not in the policy${guess ? ` (did you mean "${guess}"?)` : ''}; expected one of ${policy.channels.join(', ')}`,
    );
  }

  if (problems.length > 0) return { loaded: null, problems };
  const release: Release = withReleaseDefaults(data as ReleaseFile, now);
  const positions: LoadedRelease['positions'] = {};
  for (const [key, entry] of entries) positions[key as keyof Release] = entry.valuePos;
  // where each artifact's fields are, for verify-artifacts' annotations: "artifacts.1.sha256"
  const nested: Record<string, Position> = {};
  (release.artifacts ?? []).forEach((_, i) => {
    for (const f of ['download_url', 'sha256', 'size'] as const) {
      const p = positionAtPath(src, ['artifacts', i, f]);
      if (p !== null) nested[`artifacts.${i}.${f}`] = p;
    }
  });
  return { loaded: { release, file, positions, ...(release.artifacts ? { nested } : {}) }, problems };
}
