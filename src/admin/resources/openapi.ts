/**
 * GET /openapi.json: an OpenAPI 3.1 description of the admin API, built at request time from the resources
 * served and their zod schemas (z.toJSONSchema, JSON Schema 2020-12, which OpenAPI 3.1 uses as is). Named
 * schemas (.meta({ id })) become components; nothing here is written by hand twice.
 */
import { z } from 'zod';
import { jsonReply } from '../admin-http.ts';
import { CSRF_HEADER, SESSION_COOKIE } from '../auth.ts';
import type { Resource } from '../resource.ts';
import { version } from '../version.ts';
import { errorSchema } from './shared-schemas.ts';

type Json = Record<string, unknown>;

/** JSON Schema for `schema`, its named parts moved into `components` and referenced from there. */
function schemaOf(schema: z.ZodType, components: Json): Json {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'output', unrepresentable: 'any' });
  const moved = JSON.parse(JSON.stringify(json).replaceAll('"#/$defs/', '"#/components/schemas/')) as Json;
  const { $defs, $schema: _dialect, ...rest } = moved;
  Object.assign(components, $defs as Json | undefined);
  return rest;
}

function security(resource: Resource): Json[] | undefined {
  if (resource.access === 'public') return [];
  if (resource.access === 'session') return [{ bearer: [] }];
  return resource.access === 'read' ? [{ bearer: [] }, { session: [] }] : [{ bearer: [] }, { session: [], csrf: [] }];
}

function operation(resource: Resource, components: Json): Json {
  const parameters = resource.query === undefined ? [] : Object.entries(resource.query.shape).map(([name, schema]) => ({
    name, in: 'query', required: !(schema as z.ZodType).safeParse(undefined).success,
    description: (schema as z.ZodType).description, schema: schemaOf(schema as z.ZodType, components),
  }));
  const responses = Object.fromEntries(Object.entries(resource.responses).map(([status, spec]) => [status, {
    description: spec.description,
    ...(spec.schema ? { content: { [spec.contentType ?? 'application/json']: { schema: schemaOf(spec.schema, components) } } } : {}),
  }]));
  if (resource.access !== 'public') responses['401'] ??= { description: 'admin_unauthorized: no valid token or session.', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  if (resource.access === 'change') responses['403'] ??= { description: 'admin_csrf_failed: a cookie-authenticated change without the CSRF token, or cross-site.', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  const body = resource.requestBody;
  return {
    summary: resource.summary,
    ...(resource.description ? { description: resource.description } : {}),
    operationId: `${resource.method.toLowerCase()}${resource.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
    ...(parameters.length ? { parameters } : {}),
    ...(body ? { requestBody: { required: true, description: body.description, content: { [body.contentType]: { schema: schemaOf(body.schema, components) } } } } : {}),
    responses,
    security: security(resource),
  };
}

export function openapiDocument(resources: readonly Resource[]): Json {
  const components: Json = {};
  schemaOf(errorSchema, components);
  const paths: Record<string, Json> = {};
  for (const resource of resources.filter((r) => !r.hidden)) {
    (paths[resource.path] ??= {})[resource.method.toLowerCase()] = operation(resource, components);
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Gatehouse admin API', version, description: 'The admin listener of a Gatehouse gateway (docs/admin-api.md).' },
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'admin.token' },
        session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'From POST /session.' },
        csrf: { type: 'apiKey', in: 'header', name: CSRF_HEADER, description: 'The csrfToken POST /session returned; needed with the cookie for changes.' },
      },
    },
  };
}

export const openapiResource: Resource = {
  method: 'GET', path: '/openapi.json', access: 'public', summary: 'This description (OpenAPI 3.1).',
  responses: { 200: { description: 'The OpenAPI document.' } },
  handle: (_req, { resources }) => jsonReply(200, openapiDocument(resources)),
};
