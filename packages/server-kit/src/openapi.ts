// Each service's OpenAPI document is generated from the same zod schemas that
// validate its requests (contracts first, never hand-written). This adds what every
// Parley API shares — the problem+json error responses and bearer security — so a
// route description is one call with its schemas and the error codes it can answer.
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { ERROR_STATUS, problemSchema, type ErrorCode } from '@parley/contracts';
import type { z } from 'zod';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ApiResponse {
  description: string;
  /** JSON body schema; omit for an empty response (204). */
  schema?: z.ZodType;
}

/**
 * One operation. Structurally the same as the contracts' `RouteSpec`, so services
 * pass `ROUTES.login` etc. straight in.
 */
export interface ApiRoute {
  method: HttpMethod;
  /** Express-style path; `:id` segments become `{id}`. */
  path: string;
  summary: string;
  description?: string;
  /** Default: the first path segment (`/chat/send` → `chat`). */
  tags?: string[];
  operationId?: string;
  /** Bearer token required; default true. */
  auth?: boolean;
  body?: z.ZodType;
  /** The body's media type; default application/json (a raw upload: its own type, `*\/*`). */
  bodyContentType?: string;
  /** Request headers the route reads, as a z.object. */
  headers?: z.ZodType;
  /** The success body's media type; default application/json. */
  successContentType?: string;
  /** A z.object (or a pipe of one): each key becomes a query parameter. */
  query?: z.ZodType;
  params?: z.ZodType;
  /** The success status and body schema (none for an empty answer such as 204). */
  success: { status: number; schema?: z.ZodType; description?: string };
  /** Further success responses, e.g. 200 for an idempotent repeat of a 201. */
  otherResponses?: Record<number, ApiResponse>;
  /**
   * Error codes this route answers with beyond the automatic ones (validation,
   * body and auth errors where they apply, internal, dependency_unavailable).
   */
  errors?: readonly ErrorCode[];
}

export interface OpenApiBuilder {
  /** The underlying registry, for anything the helpers do not cover. */
  readonly registry: OpenAPIRegistry;
  route(route: ApiRoute): void;
  routes(routes: Iterable<ApiRoute>): void;
  /** Puts a schema under components/schemas as `name` (via zod's `.meta({ id })`). */
  schema<T extends z.ZodType>(name: string, schema: T): T;
}

export interface OpenApiDocumentOptions {
  title: string;
  version: string;
  description?: string;
  servers?: { url: string; description?: string }[];
  register(api: OpenApiBuilder): void;
}

/** A generated OpenAPI 3.1 document (plain JSON). */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, unknown>>;
  components?: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

export const BEARER_SECURITY_SCHEME = 'bearerAuth';

export function createOpenApiDocument(options: OpenApiDocumentOptions): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  // Schemas carry their component name in zod's own `.meta({ id })` (the contracts
  // do not patch zod with `.openapi()`), so they are handed to the generator as is.
  const namedSchemas: z.ZodType[] = [problemSchema];
  registry.registerComponent('securitySchemes', BEARER_SECURITY_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'An access token from POST /auth/login',
  });

  const builder: OpenApiBuilder = {
    registry,
    route: (route) => registry.registerPath(toRouteConfig(route)),
    routes: (routes) => {
      for (const route of routes) registry.registerPath(toRouteConfig(route));
    },
    schema: (name, schema) => {
      const named = schema.meta({ id: name }) as typeof schema;
      namedSchemas.push(named);
      return named;
    },
  };
  options.register(builder);

  const info: OpenApiDocument['info'] = { title: options.title, version: options.version };
  if (options.description !== undefined) info.description = options.description;
  const generator = new OpenApiGeneratorV31([...registry.definitions, ...namedSchemas]);
  const document = generator.generateDocument({
    openapi: '3.1.0',
    info,
    ...(options.servers ? { servers: options.servers } : {}),
  });
  return JSON.parse(JSON.stringify(document)) as OpenApiDocument;
}

/** `/chat/messages/:id` → `/chat/messages/{id}`. */
export function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

type RouteConfig = Parameters<OpenAPIRegistry['registerPath']>[0];
type RouteParameter = NonNullable<RouteConfig['request']>['query'];

function defaultDescription(status: number): string {
  if (status === 201) return 'Created';
  if (status === 204) return 'No content';
  return 'OK';
}

function defaultTag(path: string): string {
  return (
    path
      .split('/')
      .find((segment) => segment !== '')
      ?.replace(/^\./, '') ?? 'default'
  );
}

function toRouteConfig(route: ApiRoute): RouteConfig {
  const auth = route.auth ?? true;
  const codes = new Set<ErrorCode>(route.errors ?? []);
  if (route.body || route.query || route.params) codes.add('validation_failed');
  if (route.body) {
    for (const code of ['payload_too_large', 'unsupported_media_type'] as const) codes.add(code);
    if (route.bodyContentType === undefined) codes.add('malformed_json');
  }
  if (auth) codes.add('unauthorized');
  codes.add('internal');
  codes.add('dependency_unavailable');

  const responses: RouteConfig['responses'] = {};
  const successes: Record<number, ApiResponse> = {
    [route.success.status]: {
      description: route.success.description ?? defaultDescription(route.success.status),
      ...(route.success.schema ? { schema: route.success.schema } : {}),
    },
    ...route.otherResponses,
  };
  for (const [status, response] of Object.entries(successes)) {
    responses[status] = response.schema
      ? {
          description: response.description,
          content: {
            [Number(status) === route.success.status
              ? (route.successContentType ?? 'application/json')
              : 'application/json']: { schema: response.schema },
          },
        }
      : { description: response.description };
  }
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  for (const [status, statusCodes] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[String(status)] = {
      description: `Problem: ${statusCodes.map((c) => `\`${c}\``).join(', ')}`,
      content: { 'application/problem+json': { schema: problemSchema } },
    };
  }

  const request: NonNullable<RouteConfig['request']> = {};
  if (route.body) {
    request.body = {
      required: true,
      content: { [route.bodyContentType ?? 'application/json']: { schema: route.body } },
    };
  }
  // zod-to-openapi wants objects here; contracts declare them as z.object or a pipe of one
  if (route.query) request.query = route.query as RouteParameter;
  if (route.params) request.params = route.params as RouteParameter;
  if (route.headers) request.headers = route.headers as RouteParameter;

  const config: RouteConfig = {
    method: route.method,
    path: toOpenApiPath(route.path),
    summary: route.summary,
    request,
    responses,
  };
  if (route.description !== undefined) config.description = route.description;
  config.tags = route.tags ?? [defaultTag(route.path)];
  if (route.operationId !== undefined) config.operationId = route.operationId;
  if (auth) config.security = [{ [BEARER_SECURITY_SCHEME]: [] }];
  return config;
}
