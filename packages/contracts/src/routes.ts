// The catalogue of every REST endpoint: method, path, schemas and the error codes
// it may answer with. Services mount and document their routes from it (the
// OpenAPI documents are generated from these entries) and the typed client calls
// them through it, so a path or a body is written down exactly once.
import { presenceQuerySchema, presenceResponseSchema } from './chat';
import { AUTH_ROUTES } from './auth-routes';
import { CHAT_ROUTES } from './chat-routes';
import { ROOM_ROUTES } from './room-routes';
import { AUTHED, route, type RouteSpec, type ServiceName } from './route-spec';

export type { HttpMethod, RouteSpec, ServiceName } from './route-spec';

export const ROUTES = {
  ...AUTH_ROUTES,
  ...CHAT_ROUTES,
  ...ROOM_ROUTES,
  presence: route({
    service: 'websocket',
    method: 'get',
    path: '/presence',
    summary:
      'Online status of users, across all websocket instances (`unknown` for users who share no conversation with the caller)',
    auth: true,
    query: presenceQuerySchema,
    success: { status: 200, schema: presenceResponseSchema },
    errors: [...AUTHED, 'validation_failed', 'dependency_unavailable'],
  }),
} as const;

export type RouteName = keyof typeof ROUTES;

/** The routes one service serves. */
export function routesOf(service: ServiceName): Array<[RouteName, RouteSpec]> {
  return (Object.entries(ROUTES) as Array<[RouteName, RouteSpec]>).filter(
    ([, r]) => r.service === service,
  );
}
