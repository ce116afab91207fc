/**
 * The OpenAPI 3.1 document of the REST API, generated from the contract's zod schemas with zod's own
 * `z.toJSONSchema` (JSON Schema 2020-12, which OpenAPI 3.1 uses as is). Requests are described by what zod
 * accepts (`io: 'input'`: defaults make a field optional), answers by what the server sends.
 */
import { z } from 'zod';
import { restContract } from './contract.js';
import type { ErrorStatus, RouteDef, SuccessBody } from './route.js';
import { errorResponseSchema } from './views.js';

type JsonSchema = Record<string, unknown>;

const ERROR_DESCRIPTIONS: Record<ErrorStatus, string> = {
  400: 'VALIDATION_FAILED: a parameter, the query or the body does not match its schema, or does not parse',
  401: 'UNAUTHENTICATED or INVALID_CREDENTIALS: no valid token, session or credentials',
  403: 'FORBIDDEN (or REMOVED_FROM_MEETING): not allowed for this caller',
  404: 'NOT_FOUND or MEETING_NOT_FOUND',
  409: 'CONFLICT, LIMIT_EXCEEDED, MEETING_CANCELLED or MEETING_FULL',
  410: 'MEETING_EXPIRED or MEETING_ENDED',
  413: 'PAYLOAD_TOO_LARGE or FILE_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE: a body of another type, charset or Content-Encoding',
  429: 'RATE_LIMITED: retry after the seconds in Retry-After',
  503: 'SERVICE_UNAVAILABLE or CHAT_UNAVAILABLE: a dependency is down; retry later',
};

const SUCCESS_DESCRIPTIONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No content',
};

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const generated = z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' });
  // The dialect is the document's (OpenAPI 3.1 is JSON Schema 2020-12); a `$schema` per schema only adds bytes.
  const described: JsonSchema = { ...generated };
  delete described.$schema;
  return described;
}

/** `/users/:id` → `/users/{id}`; a router's `/` is its mount point. */
export function openApiPath(def: RouteDef): string {
  const path = def.path === '/' ? '' : def.path;
  return (def.mount + path).replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): JsonSchema[] {
  if (!schema) return [];
  const object = jsonSchema(schema, 'input') as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(object.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (object.required ?? []).includes(name),
    schema: property,
  }));
}

function requestBody(def: RouteDef): JsonSchema | undefined {
  if (def.bodyType === 'csv') {
    return { required: true, content: { 'text/csv': { schema: { type: 'string' } } } };
  }
  if (def.bodyType === 'binary') {
    const types = def.contentTypes ?? ['application/octet-stream'];
    return {
      required: true,
      description: def.contentTypes
        ? `The file itself, as ${types.join(', ')}`
        : 'The file itself (a JSON file as application/octet-stream)',
      content: Object.fromEntries(types.map((t) => [t, { schema: { type: 'string', format: 'binary' } }])),
    };
  }
  if (!def.body) return undefined;
  return { required: true, content: { 'application/json': { schema: jsonSchema(def.body, 'input') } } };
}

function success(status: number, body: SuccessBody): JsonSchema {
  const description = SUCCESS_DESCRIPTIONS[status] ?? 'Success';
  if (body instanceof z.ZodType) {
    return { description, content: { 'application/json': { schema: jsonSchema(body, 'output') } } };
  }
  if ('empty' in body) return { description };
  const types: readonly string[] =
    typeof body.contentType === 'string' ? [body.contentType] : body.contentType;
  return {
    description: body.description,
    content: Object.fromEntries(types.map((t) => [t, { schema: {} }])),
  };
}

function error(status: ErrorStatus): JsonSchema {
  const answer: JsonSchema = {
    description: ERROR_DESCRIPTIONS[status],
    content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponse' } } },
  };
  if (status === 429) {
    answer.headers = {
      'Retry-After': { description: 'Seconds to wait', schema: { type: 'string', pattern: '^\\d+$' } },
    };
  }
  return answer;
}

function operation(tag: string, name: string, def: RouteDef): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [status, body] of Object.entries(def.success)) responses[status] = success(Number(status), body);
  for (const status of [...new Set(def.errors)].sort()) responses[String(status)] = error(status);
  const op: JsonSchema = {
    operationId: `${tag}.${name}`,
    tags: [tag],
    summary: def.summary,
    parameters: [...parameters(def.params, 'path'), ...parameters(def.query, 'query')],
    responses,
  };
  const body = requestBody(def);
  if (body) op.requestBody = body;
  if (def.auth === 'public') op.security = [];
  else if (def.auth !== 'user')
    op.description = def.auth === 'admin' ? 'Administrators only.' : 'PRO plan only.';
  return op;
}

/** The document, from `restContract` (or another contract of the same shape). */
export function openApiDocument(
  contract: Record<string, Record<string, RouteDef>> = restContract,
  version = '0.1.0',
): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const [tag, routes] of Object.entries(contract)) {
    for (const [name, def] of Object.entries(routes)) {
      const path = openApiPath(def);
      paths[path] ??= {};
      paths[path][def.method] = operation(tag, name, def);
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'OpiVoice UCC REST API',
      version,
      description:
        'Generated from shared/rest/contract.ts (npm run openapi). Errors are always `{ error: { code, message, details? } }`; see docs/api.md.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { ErrorResponse: jsonSchema(errorResponseSchema, 'output') },
    },
  };
}
