/**
 * JSON Schema validators (Ajv, draft 2020-12), each compiled on its first use: the agent and the
 * helper only ever need the manifest's, and compiling costs start-up time on every launch. The
 * single executables (`npm run package`) carry them compiled ahead of time instead (Ajv's
 * standalone code, scripts/package/validators.ts, from the same options and schemas), which
 * replaces this module in their bundle.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { releaseSchema } from './release.schema.js';
import { policySchema } from './policy.schema.js';
import { manifestSchema } from './manifest.schema.js';
import { reportSchema } from './report.schema.js';
import { manifest2Schema } from './manifest2.schema.js';
import type { Manifest, Manifest2, PolicyFile, ReleaseFile, Report } from './types.js';

export type { ErrorObject };
export { describeSchemaErrors } from './schema-errors.js';

/** Ajv's options, here and for the ahead-of-time compile. */
export const AJV_OPTIONS = { allErrors: true, strict: true, allowUnionTypes: true } as const;

/** Each exported validator's schema (every one has an $id). */
export const VALIDATOR_SCHEMAS = {
  validateReleaseFile: releaseSchema,
  validatePolicyFile: policySchema,
  validateManifest: manifestSchema,
  validateManifest2: manifest2Schema,
  validateReport: reportSchema,
} as const;

const ajv = new Ajv2020(AJV_OPTIONS);

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

export const validateReleaseFile = lazy<ReleaseFile>(VALIDATOR_SCHEMAS.validateReleaseFile);
export const validatePolicyFile = lazy<PolicyFile>(VALIDATOR_SCHEMAS.validatePolicyFile);
export const validateManifest = lazy<Manifest>(VALIDATOR_SCHEMAS.validateManifest);
export const validateManifest2 = lazy<Manifest2>(VALIDATOR_SCHEMAS.validateManifest2);
export const validateReport = lazy<Report>(VALIDATOR_SCHEMAS.validateReport);
