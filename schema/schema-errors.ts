/** Schema errors as text, for places that have no source positions (manifests, reports). */
import type { ErrorObject } from 'ajv/dist/2020.js';

/** One line per schema error. */
export function describeSchemaErrors(errors: readonly ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => {
      const at = e.instancePath === '' ? '(top level)' : e.instancePath;
      if (e.keyword === 'additionalProperties') return `${at}: unknown key "${String(e.params['additionalProperty'])}"`;
      return `${at}: ${e.message ?? e.keyword}`;
    })
    .join('; ');
}
