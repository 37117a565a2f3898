// The catalogue of every REST endpoint: method, path, schemas and the error codes
// it may answer with. Services mount and document their routes from it (the
// OpenAPI documents are generated from these entries) and the typed client calls
// them through it, so a path or a body is written down exactly once.
import {
  changePasswordRequestSchema,
  jwksSchema,
  loginRequestSchema,
  logoutRequestSchema,
  refreshRequestSchema,
  registerRequestSchema,
  tokenResponseSchema,
  userResponseSchema,
  usernameParamsSchema,
  usersQuerySchema,
  usersResponseSchema,
} from './auth';
import {
  conversationResponseSchema,
  conversationsQuerySchema,
  conversationsResponseSchema,
  createRoomRequestSchema,
  editMessageRequestSchema,
  historyQuerySchema,
  historyResponseSchema,
  idParamsSchema,
  inviteRequestSchema,
  messageResponseSchema,
  presenceQuerySchema,
  presenceResponseSchema,
  reactionParamsSchema,
  reactionRequestSchema,
  readRequestSchema,
  repliesQuerySchema,
  repliesResponseSchema,
  roomsResponseSchema,
  sendMessageRequestSchema,
  syncRequestSchema,
  syncResponseSchema,
  contactsRequestSchema,
  contactsResponseSchema,
  typingRequestSchema,
} from './chat';
import type { ErrorCode } from './errors';
import {
  createWebhookRequestSchema,
  createdWebhookResponseSchema,
  webhookAttemptsResponseSchema,
  webhookParamsSchema,
  webhooksResponseSchema,
} from './webhooks';
import type { z } from './zod';

export type HttpMethod = 'get' | 'post' | 'patch' | 'delete';
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

const AUTHED: readonly ErrorCode[] = ['unauthorized'];
const WITH_BODY: readonly ErrorCode[] = [
  'validation_failed',
  'malformed_json',
  'unsupported_media_type',
  'payload_too_large',
];

function route<const R extends RouteSpec>(r: R): R {
  return r;
}

export const ROUTES = {
  register: route({
    service: 'auth',
    method: 'post',
    path: '/auth/register',
    summary: 'Create an account',
    auth: false,
    body: registerRequestSchema,
    success: { status: 201, schema: userResponseSchema },
    errors: [...WITH_BODY, 'username_taken', 'rate_limited'],
  }),
  login: route({
    service: 'auth',
    method: 'post',
    path: '/auth/login',
    summary: 'Log in; returns an access and a refresh token',
    auth: false,
    body: loginRequestSchema,
    success: { status: 200, schema: tokenResponseSchema },
    errors: [...WITH_BODY, 'invalid_credentials', 'rate_limited'],
  }),
  refresh: route({
    service: 'auth',
    method: 'post',
    path: '/auth/refresh',
    summary: 'Trade a refresh token for new tokens (rotation)',
    auth: false,
    body: refreshRequestSchema,
    success: { status: 200, schema: tokenResponseSchema },
    errors: [...WITH_BODY, 'unauthorized', 'rate_limited'],
  }),
  logout: route({
    service: 'auth',
    method: 'post',
    path: '/auth/logout',
    summary: 'Revoke a refresh token',
    auth: false,
    body: logoutRequestSchema,
    success: { status: 204 },
    errors: [...WITH_BODY],
  }),
  logoutAll: route({
    service: 'auth',
    method: 'post',
    path: '/auth/logout-all',
    summary:
      "Log out everywhere: revoke every refresh token of the caller; open sockets are closed (session_revoked) and the caller's access tokens issued so far are refused by the websocket service",
    auth: true,
    success: { status: 204 },
    errors: AUTHED,
  }),
  changePassword: route({
    service: 'auth',
    method: 'post',
    path: '/auth/password',
    summary:
      'Change the password; like logout-all, every session of the user ends (log in again with the new password). Rate-limited like login',
    auth: true,
    body: changePasswordRequestSchema,
    success: { status: 204 },
    errors: [...AUTHED, ...WITH_BODY, 'invalid_credentials', 'rate_limited'],
  }),
  me: route({
    service: 'auth',
    method: 'get',
    path: '/auth/me',
    summary: 'The caller',
    auth: true,
    success: { status: 200, schema: userResponseSchema },
    errors: AUTHED,
  }),
  getUserByUsername: route({
    service: 'auth',
    method: 'get',
    path: '/users/:username',
    summary: 'Look a user up by username',
    auth: true,
    params: usernameParamsSchema,
    success: { status: 200, schema: userResponseSchema },
    errors: [...AUTHED, 'user_not_found'],
  }),
  getUsersByIds: route({
    service: 'auth',
    method: 'get',
    path: '/users',
    summary: 'Look users up by id (unknown ids are left out)',
    auth: true,
    query: usersQuerySchema,
    success: { status: 200, schema: usersResponseSchema },
    errors: [...AUTHED, 'validation_failed'],
  }),
  jwks: route({
    service: 'auth',
    method: 'get',
    path: '/.well-known/jwks.json',
    summary: 'Public signing keys (JWKS)',
    auth: false,
    success: { status: 200, schema: jwksSchema },
    errors: [],
  }),

  sendMessage: route({
    service: 'chat',
    method: 'post',
    path: '/chat/send',
    summary: 'Send a message (idempotent on clientMsgId)',
    auth: true,
    body: sendMessageRequestSchema,
    success: {
      status: 201,
      schema: messageResponseSchema,
      description: 'Stored; 200 with the original on a repeated clientMsgId',
    },
    errors: [
      ...AUTHED,
      ...WITH_BODY,
      'user_not_found',
      'conversation_not_found',
      'message_not_found',
      'not_a_member',
      'rate_limited',
    ],
  }),
  history: route({
    service: 'chat',
    method: 'get',
    path: '/chat/history',
    summary: 'A page of a conversation, ascending seq',
    auth: true,
    query: historyQuerySchema,
    success: { status: 200, schema: historyResponseSchema },
    errors: [
      ...AUTHED,
      'validation_failed',
      'user_not_found',
      'conversation_not_found',
      'not_a_member',
      'rate_limited',
    ],
  }),
  conversations: route({
    service: 'chat',
    method: 'get',
    path: '/chat/conversations',
    summary: "The caller's conversations, newest activity first",
    auth: true,
    query: conversationsQuerySchema,
    success: { status: 200, schema: conversationsResponseSchema },
    errors: [...AUTHED, 'validation_failed', 'rate_limited'],
  }),
  sync: route({
    service: 'chat',
    method: 'post',
    path: '/chat/sync',
    summary:
      "Missed messages of up to 100 conversations in one call (what a websocket `resume` asks); ids that are not the caller's are listed in notFound",
    auth: true,
    body: syncRequestSchema,
    success: { status: 200, schema: syncResponseSchema },
    errors: [...AUTHED, ...WITH_BODY, 'rate_limited'],
  }),
  contacts: route({
    service: 'chat',
    method: 'post',
    path: '/chat/contacts',
    summary:
      'Which of the given users share a conversation with the caller (whose presence the caller may see)',
    auth: true,
    body: contactsRequestSchema,
    success: { status: 200, schema: contactsResponseSchema },
    errors: [...AUTHED, ...WITH_BODY, 'rate_limited'],
  }),
  markRead: route({
    service: 'chat',
    method: 'post',
    path: '/chat/conversations/:id/read',
    summary: 'Move the read marker',
    auth: true,
    params: idParamsSchema,
    body: readRequestSchema,
    success: { status: 204 },
    errors: [...AUTHED, ...WITH_BODY, 'conversation_not_found', 'not_a_member'],
  }),
  typing: route({
    service: 'chat',
    method: 'post',
    path: '/chat/typing',
    summary:
      'Announce typing (not stored); at most one per user and conversation every 2 s reaches the others, extra ones are dropped (still 204)',
    auth: true,
    body: typingRequestSchema,
    success: { status: 204 },
    errors: [...AUTHED, ...WITH_BODY, 'conversation_not_found', 'not_a_member'],
  }),
  createRoom: route({
    service: 'chat',
    method: 'post',
    path: '/chat/rooms',
    summary: 'Create a room',
    auth: true,
    body: createRoomRequestSchema,
    success: { status: 201, schema: conversationResponseSchema },
    errors: [...AUTHED, ...WITH_BODY, 'user_not_found', 'room_full', 'rate_limited'],
  }),
  listRooms: route({
    service: 'chat',
    method: 'get',
    path: '/chat/rooms',
    summary: 'Public rooms and the private rooms the caller is in',
    auth: true,
    success: { status: 200, schema: roomsResponseSchema },
    errors: [...AUTHED, 'rate_limited'],
  }),
  getRoom: route({
    service: 'chat',
    method: 'get',
    path: '/chat/rooms/:id',
    summary: 'A room (private rooms: members only)',
    auth: true,
    params: idParamsSchema,
    success: { status: 200, schema: conversationResponseSchema },
    errors: [...AUTHED, 'conversation_not_found', 'rate_limited'],
  }),
  joinRoom: route({
    service: 'chat',
    method: 'post',
    path: '/chat/rooms/:id/join',
    summary: 'Join a public room',
    auth: true,
    params: idParamsSchema,
    success: { status: 200, schema: conversationResponseSchema },
    errors: [...AUTHED, 'conversation_not_found', 'room_full'],
  }),
  leaveRoom: route({
    service: 'chat',
    method: 'post',
    path: '/chat/rooms/:id/leave',
    summary: 'Leave a room',
    auth: true,
    params: idParamsSchema,
    success: { status: 200, schema: conversationResponseSchema },
    errors: [...AUTHED, 'conversation_not_found', 'not_a_member'],
  }),
  inviteToRoom: route({
    service: 'chat',
    method: 'post',
    path: '/chat/rooms/:id/members',
    summary: 'Add a user to a room',
    auth: true,
    params: idParamsSchema,
    body: inviteRequestSchema,
    success: { status: 200, schema: conversationResponseSchema },
    errors: [
      ...AUTHED,
      ...WITH_BODY,
      'conversation_not_found',
      'user_not_found',
      'not_a_member',
      'room_full',
      'rate_limited',
    ],
  }),
  editMessage: route({
    service: 'chat',
    method: 'patch',
    path: '/chat/messages/:id',
    summary: 'Edit a message (sender only)',
    auth: true,
    params: idParamsSchema,
    body: editMessageRequestSchema,
    success: { status: 200, schema: messageResponseSchema },
    errors: [
      ...AUTHED,
      ...WITH_BODY,
      'message_not_found',
      'forbidden',
      'not_a_member',
      'rate_limited',
    ],
  }),
  deleteMessage: route({
    service: 'chat',
    method: 'delete',
    path: '/chat/messages/:id',
    summary: 'Delete a message, keeping a tombstone (sender only)',
    auth: true,
    params: idParamsSchema,
    success: { status: 204 },
    errors: [...AUTHED, 'message_not_found', 'forbidden', 'not_a_member', 'rate_limited'],
  }),
  addReaction: route({
    service: 'chat',
    method: 'post',
    path: '/chat/messages/:id/reactions',
    summary: 'React to a message (at most 50 distinct emoji per message, 20 per user)',
    auth: true,
    params: idParamsSchema,
    body: reactionRequestSchema,
    success: { status: 200, schema: messageResponseSchema },
    errors: [
      ...AUTHED,
      ...WITH_BODY,
      'message_not_found',
      'not_a_member',
      'too_many_reactions',
      'rate_limited',
    ],
  }),
  removeReaction: route({
    service: 'chat',
    method: 'delete',
    path: '/chat/messages/:id/reactions/:emoji',
    summary: "Remove the caller's reaction",
    auth: true,
    params: reactionParamsSchema,
    success: { status: 200, schema: messageResponseSchema },
    errors: [...AUTHED, 'validation_failed', 'message_not_found', 'not_a_member', 'rate_limited'],
  }),
  replies: route({
    service: 'chat',
    method: 'get',
    path: '/chat/messages/:id/replies',
    summary: 'Thread replies, ascending seq',
    auth: true,
    params: idParamsSchema,
    query: repliesQuerySchema,
    success: { status: 200, schema: repliesResponseSchema },
    errors: [...AUTHED, 'validation_failed', 'message_not_found', 'not_a_member', 'rate_limited'],
  }),

  createWebhook: route({
    service: 'chat',
    method: 'post',
    path: '/chat/rooms/:id/webhooks',
    summary:
      "Register an outgoing webhook for a room's events (room owners and admins); the signing secret is shown only here",
    auth: true,
    params: idParamsSchema,
    body: createWebhookRequestSchema,
    success: { status: 201, schema: createdWebhookResponseSchema },
    errors: [...AUTHED, ...WITH_BODY, 'conversation_not_found', 'forbidden', 'not_a_member'],
  }),
  listWebhooks: route({
    service: 'chat',
    method: 'get',
    path: '/chat/rooms/:id/webhooks',
    summary: "A room's webhooks (room owners and admins), without their secrets",
    auth: true,
    params: idParamsSchema,
    success: { status: 200, schema: webhooksResponseSchema },
    errors: [...AUTHED, 'validation_failed', 'conversation_not_found', 'forbidden', 'not_a_member'],
  }),
  deleteWebhook: route({
    service: 'chat',
    method: 'delete',
    path: '/chat/rooms/:id/webhooks/:webhookId',
    summary: 'Remove a webhook (room owners and admins); nothing more is sent to it',
    auth: true,
    params: webhookParamsSchema,
    success: { status: 204 },
    errors: [
      ...AUTHED,
      'validation_failed',
      'conversation_not_found',
      'webhook_not_found',
      'forbidden',
      'not_a_member',
    ],
  }),
  webhookDeliveries: route({
    service: 'chat',
    method: 'get',
    path: '/chat/rooms/:id/webhooks/:webhookId/deliveries',
    summary: "The webhook's last 100 delivery attempts, newest first (room owners and admins)",
    auth: true,
    params: webhookParamsSchema,
    success: { status: 200, schema: webhookAttemptsResponseSchema },
    errors: [
      ...AUTHED,
      'validation_failed',
      'conversation_not_found',
      'webhook_not_found',
      'forbidden',
      'not_a_member',
    ],
  }),

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
