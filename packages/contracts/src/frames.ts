// WebSocket frames (docs/design.md §6): JSON text frames, a discriminated union on
// `type` in each direction. Client frames are strict: unknown fields are refused.
import { ERROR_CODES } from './errors';
import {
  clientMsgIdSchema,
  idSchema,
  messageTextSchema,
  seqSchema,
  userRefSchema,
  usernameSchema,
} from './common';
import {
  conversationRefSchema,
  conversationSchema,
  memberChangeSchema,
  messageEditSchema,
  messageSchema,
  presenceViewSchema,
  reactionChangeSchema,
  resumeConversationsSchema,
  PRESENCE_QUERY_MAX_IDS,
} from './chat';
import { z } from './zod';

/** Close codes the server uses. */
export const WS_CLOSE = {
  goingAway: 1001,
  policyViolation: 1008,
  messageTooBig: 1009,
  /** The token expired, or every session of the user was revoked (session_revoked). */
  tokenExpired: 4001,
  slowConsumer: 4008,
} as const;

export const WS_ERROR_CODES = [...ERROR_CODES, 'malformed_frame'] as const;
export const wsErrorCodeSchema = z.enum(WS_ERROR_CODES);
export type WsErrorCode = z.infer<typeof wsErrorCodeSchema>;

// ---- client → server ----

export const pingFrameSchema = z.strictObject({ type: z.literal('ping') });
export const sendFrameSchema = z
  .strictObject({
    type: z.literal('send'),
    ref: clientMsgIdSchema,
    to: usernameSchema.optional(),
    conversationId: idSchema.optional(),
    text: messageTextSchema,
    parentId: idSchema.optional(),
  })
  .refine((f) => (f.to === undefined) !== (f.conversationId === undefined), {
    message: 'give exactly one of to or conversationId',
    path: [],
  });
export const typingFrameSchema = z.strictObject({
  type: z.literal('typing'),
  conversationId: idSchema,
  isTyping: z.boolean(),
});
export const readFrameSchema = z.strictObject({
  type: z.literal('read'),
  conversationId: idSchema,
  seq: seqSchema,
});
export const presenceSubscribeFrameSchema = z.strictObject({
  type: z.literal('presence_subscribe'),
  userIds: z.array(idSchema).max(PRESENCE_QUERY_MAX_IDS),
});
/**
 * At most RESUME_MAX_CONVERSATIONS per frame, and one resume in flight per socket (a
 * second one meanwhile is answered `error` rate_limited with its ref): a client
 * tracking more sends the next frame after the `resumed` of the previous one.
 */
export const resumeFrameSchema = z.strictObject({
  type: z.literal('resume'),
  /** Echoed by the `resumed` frame and any `error` answering this resume. */
  ref: clientMsgIdSchema.optional(),
  conversations: resumeConversationsSchema,
});
export const authFrameSchema = z.strictObject({
  type: z.literal('auth'),
  token: z.string().min(1).max(8192),
});

export const clientFrameSchema = z.discriminatedUnion('type', [
  pingFrameSchema,
  sendFrameSchema,
  typingFrameSchema,
  readFrameSchema,
  presenceSubscribeFrameSchema,
  resumeFrameSchema,
  authFrameSchema,
]);
export type ClientFrame = z.infer<typeof clientFrameSchema>;
export type ClientFrameInput = z.input<typeof clientFrameSchema>;
export const CLIENT_FRAME_TYPES = clientFrameSchema.options.map((o) => o.shape.type.value);

// ---- server → client ----

export const readyFrameSchema = z.object({
  type: z.literal('ready'),
  userId: idSchema,
  username: z.string(),
  connectionId: z.string(),
});
export const messageFrameSchema = z.object({
  type: z.literal('message'),
  message: messageSchema,
  conversation: conversationRefSchema,
});
export const messageUpdatedFrameSchema = z.object({
  type: z.literal('message_updated'),
  message: messageEditSchema,
});
export const reactionFrameSchema = reactionChangeSchema.extend({ type: z.literal('reaction') });
export const typingServerFrameSchema = z.object({
  type: z.literal('typing'),
  conversationId: idSchema,
  user: userRefSchema,
  isTyping: z.boolean(),
});
export const readServerFrameSchema = z.object({
  type: z.literal('read'),
  conversationId: idSchema,
  userId: idSchema,
  seq: seqSchema,
});
export const conversationUpdatedFrameSchema = z.object({
  type: z.literal('conversation_updated'),
  conversation: conversationSchema,
  memberChange: memberChangeSchema.optional(),
});
export const presenceFrameSchema = z.object({
  type: z.literal('presence'),
  userId: idSchema,
  status: presenceViewSchema,
});
export const ackFrameSchema = z.object({
  type: z.literal('ack'),
  ref: z.string(),
  message: messageSchema,
});
export const resumedFrameSchema = z.object({
  type: z.literal('resumed'),
  complete: z.boolean(),
  ref: z.string().optional(),
  /** Conversations named that are not the caller's (unknown ones alike): stop tracking them. */
  notFound: z.array(idSchema).optional(),
});
export const pongFrameSchema = z.object({ type: z.literal('pong') });
export const errorFrameSchema = z.object({
  type: z.literal('error'),
  code: wsErrorCodeSchema,
  message: z.string(),
  ref: z.string().optional(),
});

export const serverFrameSchema = z.discriminatedUnion('type', [
  readyFrameSchema,
  messageFrameSchema,
  messageUpdatedFrameSchema,
  reactionFrameSchema,
  typingServerFrameSchema,
  readServerFrameSchema,
  conversationUpdatedFrameSchema,
  presenceFrameSchema,
  ackFrameSchema,
  resumedFrameSchema,
  pongFrameSchema,
  errorFrameSchema,
]);
export type ServerFrame = z.infer<typeof serverFrameSchema>;
export type ServerFrameOf<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>;
