// What one REST endpoint is in the route catalogue (routes.ts), and the error codes many
// of them share.
import type { ErrorCode } from './errors';
import type { z } from './zod';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';
export type ServiceName = 'auth' | 'chat' | 'websocket';

export interface RouteSpec {
  service: ServiceName;
  method: HttpMethod;
  /** Express-style path (`/chat/rooms/:id`). */
  path: string;
  summary: string;
  /** Requires `Authorization: Bearer <accessToken>`. */
  auth: boolean;
  body?: z.ZodType;
  query?: z.ZodType;
  params?: z.ZodType;
  /** The success status, and the body schema unless the answer is empty (204). */
  success: { status: number; schema?: z.ZodType; description?: string };
  /** Error codes this route may answer with besides the ones every route may. */
  errors: readonly ErrorCode[];
}

export const AUTHED: readonly ErrorCode[] = ['unauthorized'];
export const WITH_BODY: readonly ErrorCode[] = [
  'validation_failed',
  'malformed_json',
  'unsupported_media_type',
  'payload_too_large',
];

/** What a room moderation route naming a user may answer besides those. */
export const MODERATION: readonly ErrorCode[] = [
  'validation_failed',
  'conversation_not_found',
  'user_not_found',
  'not_a_member',
  'forbidden',
  'rate_limited',
];

export function route<const R extends RouteSpec>(r: R): R {
  return r;
}
