/**
 * JSON Schema validators (Ajv, draft 2020-12), each compiled on its first use: the agent and the
 * helper only ever need the manifest's, and compiling costs start-up time on every launch.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { releaseSchema } from './release.schema.js';
import { policySchema } from './policy.schema.js';
import { manifestSchema } from './manifest.schema.js';
import { reportSchema } from './report.schema.js';
import { manifest2Schema } from './manifest2.schema.js';
import type { Manifest, Manifest2, PolicyFile, ReleaseFile, Report } from './types.js';

export type { ErrorObject };

const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });

export interface Validator<T> {
  (data: unknown): data is T;
  /** the errors of the last call, as Ajv reports them */
  errors: ErrorObject[] | null | undefined;
}

function lazy<T>(schema: object): Validator<T> {
  let compiled: ValidateFunction<T> | null = null;
  const v = ((data: unknown): data is T => {
    compiled ??= ajv.compile<T>(schema);
    const ok = compiled(data);
    v.errors = compiled.errors;
    return ok;
  }) as Validator<T>;
  v.errors = null;
  return v;
}

export const validateReleaseFile = lazy<ReleaseFile>(releaseSchema);
export const validatePolicyFile = lazy<PolicyFile>(policySchema);
export const validateManifest = lazy<Manifest>(manifestSchema);
export const validateManifest2 = lazy<Manifest2>(manifest2Schema);
export const validateReport = lazy<Report>(reportSchema);

/** One line per schema error, for places that have no source positions (manifests). */
export function describeSchemaErrors(errors: readonly ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => {
      const at = e.instancePath === '' ? '(top level)' : e.instancePath;
      if (e.keyword === 'additionalProperties') return `${at}: unknown key "${String(e.params['additionalProperty'])}"`;
      return `${at}: ${e.message ?? e.keyword}`;
    })
    .join('; ');
}
