/**
 * The config's JSON Schema, for editors (`gatehouse schema`, gatehouse.schema.json): the zod schemas
 * converted with z.toJSONSchema, input side (what a user writes: durations as "30s", defaults optional),
 * draft-07 (what the YAML language server and most editors read).
 *
 * A policy entry is validated in zod by a loose object plus a transform that picks the type's schema at run
 * time, which no JSON Schema can express; here each entry becomes a `oneOf` with one branch per policy type
 * (`type` a const, its settings strict), built from the registry, so editors complete policy settings too.
 * The JSON Schema is a guide for editors: cross-field rules (refinements) stay with `gatehouse validate`.
 */
import { z } from 'zod';
import { policyDefinitions } from '../policies/policy-registry.ts';
import { policyEntrySchema } from './policies-schema.ts';
import { configSchema } from './schema.ts';

type JsonSchema = Record<string, unknown>;

const OPTIONS = { io: 'input', target: 'draft-7' } as const;

/**
 * load.ts replaces ${NAME} and ${NAME:-default} in every string before validation, and an unquoted
 * `port: ${PORT:-8080}` then types as a number: so wherever a value is constrained (a number, a boolean, an
 * enum, a pattern, a format), a string holding a reference is accepted too, or editors would flag what the
 * gateway loads.
 */
const ENV_REFERENCE = {
  type: 'string',
  pattern: String.raw`\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}`,
  description: 'An environment variable reference, ${NAME} or ${NAME:-default}, replaced when the config is loaded.',
};
const SCALAR_TYPES = new Set(['number', 'integer', 'boolean']);
const STRING_CONSTRAINTS = ['pattern', 'format', 'enum', 'const', 'maxLength'];
/** Keys whose values are data (defaults, allowed values), not schemas: never rewritten. */
const DATA_KEYS = new Set(['default', 'const', 'enum', 'examples']);

function isConstrainedScalar(node: JsonSchema): boolean {
  if (typeof node.type !== 'string') return false;
  return SCALAR_TYPES.has(node.type) || (node.type === 'string' && STRING_CONSTRAINTS.some((key) => key in node));
}

function allowEnvReferences(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(allowEnvReferences);
  if (node === null || typeof node !== 'object') return node;
  const walked = Object.fromEntries(Object.entries(node).map(([key, value]) => [key, DATA_KEYS.has(key) ? value : allowEnvReferences(value)]));
  if (!isConstrainedScalar(walked)) return walked;
  // Description and default stay outside, where editors show them on hover.
  const { description, default: fallback, ...value } = walked;
  return { ...(description === undefined ? {} : { description }), ...(fallback === undefined ? {} : { default: fallback }), anyOf: [value, ENV_REFERENCE] };
}

/** One `oneOf` branch: the policy's own settings plus `type` fixed to its name, listed first. */
function policyBranch(type: string, settings: z.ZodType): JsonSchema {
  const { $schema: _, ...schema } = allowEnvReferences(z.toJSONSchema(settings, OPTIONS)) as JsonSchema & {
    properties?: Record<string, unknown>; required?: string[];
  };
  return {
    ...schema,
    title: type,
    properties: { type: { const: type, description: `The policy type: ${type} (see docs/policies.md).` }, ...schema.properties },
    required: ['type', ...(schema.required ?? [])],
  };
}

/** The whole config's JSON Schema, draft-07. */
export function configJsonSchema(): JsonSchema {
  const policyEntry = {
    description: 'A policy: `type` picks it, the other keys are its settings (see docs/policies.md).',
    oneOf: policyDefinitions.map((definition) => policyBranch(definition.type, definition.schema)),
  };
  const schema = allowEnvReferences(z.toJSONSchema(configSchema, {
    ...OPTIONS,
    override(ctx) {
      if (ctx.zodSchema !== policyEntrySchema) return;
      for (const key of Object.keys(ctx.jsonSchema)) delete ctx.jsonSchema[key];
      ctx.jsonSchema.$ref = '#/definitions/policy';
    },
  })) as JsonSchema;
  const { $schema, definitions, ...rest } = schema;
  return {
    $schema, title: 'Gatehouse config', description: 'A Gatehouse config file (docs/configuration.md).', ...rest,
    // Defined once: the gateway-wide list and every route's list refer to it.
    definitions: { ...(definitions as JsonSchema | undefined), policy: policyEntry },
  };
}
