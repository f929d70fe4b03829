/**
 * The schema validators compiled ahead of time (Ajv's standalone code) for the single
 * executables: the same options and schemas as schema/validators.ts, whose module this replaces
 * in the bundle, so a check runs no schema compiler and loads no Ajv beyond its small runtime.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import standalone from 'ajv/dist/standalone/index.js';
import { AJV_OPTIONS, VALIDATOR_SCHEMAS } from '../../schema/validators.js';

/** An ES module with the exports of schema/validators.ts that a bundle uses. */
// A CommonJS module: node gives its module.exports (the function), TypeScript types it as the namespace.
const standaloneCode = standalone as unknown as typeof standalone.default;

export function standaloneValidators(): string {
  const ajv = new Ajv2020({ ...AJV_OPTIONS, code: { source: true, esm: true } });
  const refs: Record<string, string> = {};
  for (const [name, schema] of Object.entries(VALIDATOR_SCHEMAS)) {
    ajv.addSchema(schema);
    refs[name] = schema.$id;
  }
  return `${standaloneCode(ajv, refs)}\nexport { describeSchemaErrors } from './schema-errors.js';\n`;
}
