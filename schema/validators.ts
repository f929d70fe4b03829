/** Compiled JSON Schema validators (Ajv, draft 2020-12), built once per process. */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { releaseSchema } from './release.schema.js';
import { policySchema } from './policy.schema.js';
import { manifestSchema } from './manifest.schema.js';
import type { Manifest, PolicyFile, ReleaseFile } from './types.js';

export type { ErrorObject };

const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });

export const validateReleaseFile = ajv.compile(releaseSchema as object) as ValidateFunction<ReleaseFile>;
export const validatePolicyFile = ajv.compile(policySchema as object) as ValidateFunction<PolicyFile>;
export const validateManifest = ajv.compile(manifestSchema as object) as ValidateFunction<Manifest>;

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
