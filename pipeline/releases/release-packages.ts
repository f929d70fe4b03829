/**
 * The package and macOS fields of one release file (docs/DESIGN.md "Release file additions"):
 * the single package (download_url/sha256/size) or `artifacts`, never both; `requires`;
 * `desupports`. Schema errors inside them, and the rules the schema cannot say, each at the line
 * of the value at fault with the fix. Pure.
 */
import { isScalar, type Document, type Node } from 'yaml';
import type { ErrorObject } from 'ajv';
import { ARCHES } from '../../schema/artifacts.js';
import type { ReleaseProblemCode } from '../../schema/codes/index.js';
import { compareMacos, explainMacosVersion, isMacosVersion } from '../../schema/macos.js';
import { closest } from '../../schema/suggest.js';
import type { Policy } from '../../schema/types.js';
import { urlProblems } from './release-url.js';

export const PACKAGE_FIELDS = ['artifacts', 'requires', 'desupports'] as const;
export const SINGLE_FORM = ['download_url', 'sha256', 'size'] as const;

export const PACKAGE_EXPECTED = {
  artifacts:
    'a list of 1 to 3 packages, each {arch: universal|arm64|x86_64, download_url, sha256, size}, one per arch (mngd-release hash <pkg> prints sha256 and size)',
  requires:
    'a map with macos_min and/or macos_max, macOS product versions as sw_vers -productVersion prints them, e.g. macos_min: "13.0"',
  desupports: 'a map with macos_below: a macOS product version, e.g. macos_below: "13.0"',
} as const;

export type Path = readonly (string | number)[];

export interface PackageProblem {
  code: ReleaseProblemCode;
  /** where in the file: a path of keys and list indexes */
  path: Path;
  message: string;
}

const MACOS_PATHS: Path[] = [
  ['requires', 'macos_min'],
  ['requires', 'macos_max'],
  ['desupports', 'macos_below'],
];

/**
 * Values read as written: YAML reads `macos_min: 13.0` as the number 13 and a sha256 of digits as
 * a number; the rules judge the text (13.0), as they do for versions.
 */
export function keepSourceText(doc: Document, text: string, data: Record<string, unknown>): void {
  const paths: Path[] = [...MACOS_PATHS];
  if (Array.isArray(data['artifacts'])) data['artifacts'].forEach((_, i) => paths.push(['artifacts', i, 'sha256']));
  for (const path of paths) {
    const node = doc.getIn(path, true) as Node | undefined;
    if (!isScalar(node) || node.type !== 'PLAIN' || typeof node.value !== 'number' || !node.range) continue;
    let parent: unknown = data;
    for (const k of path.slice(0, -1)) parent = (parent as Record<string | number, unknown>)[k];
    if (parent !== null && typeof parent === 'object')
      (parent as Record<string | number, unknown>)[path[path.length - 1]!] = text.slice(node.range[0], node.range[1]);
  }
}

const label = (path: Path): string =>
  path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');

/** One schema error inside artifacts, requires or desupports, as a problem at its place; null: not one of them. */
export function packageSchemaProblem(e: ErrorObject, data: Record<string, unknown>): PackageProblem | null {
  const path: (string | number)[] = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  const field = path[0] as (typeof PACKAGE_FIELDS)[number];
  if (!PACKAGE_FIELDS.includes(field)) return null;
  let value: unknown = data;
  for (const k of path) value = (value as Record<string | number, unknown> | undefined)?.[k];
  const code = `RELEASE_BAD_${field.toUpperCase()}` as ReleaseProblemCode;
  const expected = PACKAGE_EXPECTED[field];
  if (e.keyword === 'enum' && path[path.length - 1] === 'arch') {
    const guess = closest(String(value), ARCHES);
    return {
      code: 'RELEASE_UNKNOWN_ARCH',
      path,
      message: `${label(path)} is ${JSON.stringify(value)}, not an architecture${guess ? ` (did you mean "${guess}"?)` : ''}; expected universal, arm64 or x86_64`,
    };
  }
  if (e.keyword === 'pattern' && typeof value === 'string' && field !== 'artifacts') {
    return {
      code,
      path,
      message: `${label(path)} ${JSON.stringify(value)} is not a macOS product version: ${explainMacosVersion(value) ?? 'write it as sw_vers -productVersion prints it'}`,
    };
  }
  if (e.keyword === 'additionalProperties') {
    const key = String(e.params['additionalProperty']);
    return { code, path: [...path, key], message: `${label(path)} has an unknown key "${key}"; expected ${expected}` };
  }
  if (e.keyword === 'required') {
    const key = String(e.params['missingProperty']);
    return { code, path, message: `${label(path)} has no "${key}"; expected ${expected}` };
  }
  return { code, path, message: `${label(path)} ${e.message ?? e.keyword}; expected ${expected}` };
}

interface Artifactish {
  arch: string;
  download_url: string;
  sha256: string;
  size: number;
}

/** The rules a schema-valid file's package fields must keep, against each other and the policy. */
export function packageRules(
  data: Record<string, unknown>,
  has: (k: string) => boolean,
  policy: Policy | null,
): PackageProblem[] {
  const out: PackageProblem[] = [];
  const single = SINGLE_FORM.filter(has);
  if (has('artifacts')) {
    if (single.length > 0)
      out.push({
        code: 'RELEASE_PACKAGE_BOTH',
        path: [single[0]!],
        message: `this file has ${single.join(', ')} and artifacts; expected one form: move the package into artifacts as {arch: universal, download_url, sha256, size}, or remove artifacts`,
      });
    const artifacts = data['artifacts'] as Artifactish[];
    const seen = new Map<string, number>();
    artifacts.forEach((a, i) => {
      const first = seen.get(a.arch);
      if (first !== undefined)
        out.push({
          code: 'RELEASE_DUPLICATE_ARCH',
          path: ['artifacts', i, 'arch'],
          message: `artifacts[${i}] is ${a.arch} again (artifacts[${first}] is already ${a.arch}); expected each arch once: remove one of them`,
        });
      else seen.set(a.arch, i);
      for (const p of urlProblems(a.download_url, policy, `artifacts[${i}].download_url`))
        out.push({ ...p, path: ['artifacts', i, 'download_url'] });
    });
  } else {
    for (const k of SINGLE_FORM)
      if (!has(k))
        out.push({
          code: 'RELEASE_MISSING_FIELD',
          path: [],
          message: `required field "${k}" is missing: add "${k}: …" (mngd-release hash <pkg> prints sha256 and size), or list the packages per arch under artifacts`,
        });
  }
  if (has('requires')) out.push(...requiresRules(data['requires'] as Record<string, string>, policy));
  return out;
}

function requiresRules(req: Record<string, string>, policy: Policy | null): PackageProblem[] {
  const out: PackageProblem[] = [];
  const lo = req['macos_min'];
  const hi = req['macos_max'];
  if (lo !== undefined && hi !== undefined && isMacosVersion(lo) && isMacosVersion(hi) && compareMacos(lo, hi) > 0)
    out.push({
      code: 'RELEASE_BAD_REQUIRES',
      path: ['requires', 'macos_max'],
      message: `requires.macos_max ${hi} is below macos_min ${lo}: no Mac could run this release; expected macos_min at or below macos_max`,
    });
  const supported = policy?.supported_macos;
  if (supported === undefined) return out;
  // A macos_min above every supported macOS is a typo (often a Darwin number): no Mac takes it.
  if (lo !== undefined && isMacosVersion(lo) && compareMacos(lo, supported.newest) > 0)
    out.push({
      code: 'RELEASE_MACOS_UNSUPPORTED',
      path: ['requires', 'macos_min'],
      message: `requires.macos_min ${lo} is above the newest macOS the policy supports (${supported.newest}): no Mac in the fleet could run this release; ${explainMacosVersion(lo) ?? `write the product version sw_vers -productVersion prints, or raise supported_macos.newest in releases/policy.yaml in its own reviewed change once macOS ${lo.split('.')[0]} ships`}`,
    });
  if (hi !== undefined && isMacosVersion(hi) && compareMacos(hi, supported.oldest) < 0)
    out.push({
      code: 'RELEASE_MACOS_UNSUPPORTED',
      path: ['requires', 'macos_max'],
      message: `requires.macos_max ${hi} is below the oldest macOS the policy supports (${supported.oldest}): no Mac in the fleet could run this release; expected a macos_max at or above ${supported.oldest}, or none`,
    });
  return out;
}
