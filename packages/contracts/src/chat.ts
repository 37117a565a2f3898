// Bodies and queries of the chat service (docs/design.md §4).
import {
  clientMsgIdSchema,
  emojiSchema,
  idSchema,
  isoDateTimeSchema,
  messageTextSchema,
  queryInt,
  seqSchema,
  textField,
  userRefSchema,
  usernameSchema,
} from './common';
import { z } from './zod';

export const messageSchema = z
  .object({
    id: idSchema,
    conversationId: idSchema,
    seq: z.number().int().min(1),
    sender: userRefSchema,
    text: z.string().meta({ description: 'Empty once the message is deleted' }),
    parentId: idSchema.optional().meta({ description: 'The thread root this message replies to' }),
    clientMsgId: z.string().optional(),
    reactions: z
      .record(z.string(), z.array(idSchema))
      .meta({ description: 'emoji → ids of the users who reacted with it' }),
    createdAt: isoDateTimeSchema,
    editedAt: isoDateTimeSchema.optional(),
    deletedAt: isoDateTimeSchema.optional(),
  })
  .meta({ id: 'Message' });
export type Message = z.infer<typeof messageSchema>;

export const conversationKindSchema = z.enum(['direct', 'room']);
export type ConversationKind = z.infer<typeof conversationKindSchema>;

/** The short form carried by `new_message` events and `message` frames. */
export const conversationRefSchema = z
  .object({ id: idSchema, kind: conversationKindSchema, name: z.string().optional() })
  .meta({ id: 'ConversationRef' });
export type ConversationRef = z.infer<typeof conversationRefSchema>;

export const conversationSchema = z
  .object({
    id: idSchema,
    kind: conversationKindSchema,
    name: z.string().optional(),
    isPrivate: z.boolean().meta({ description: 'Rooms only: invisible to non-members' }),
    members: z.array(userRefSchema),
    lastSeq: seqSchema.meta({ description: 'seq of the newest message (0 when empty)' }),
    lastMessage: messageSchema.optional(),
    createdAt: isoDateTimeSchema,
    updatedAt: isoDateTimeSchema,
  })
  .meta({ id: 'Conversation' });
export type Conversation = z.infer<typeof conversationSchema>;

export const conversationSummarySchema = conversationSchema
  .extend({
    unreadCount: z.number().int().min(0),
    lastReadSeq: seqSchema,
  })
  .meta({ id: 'ConversationSummary' });
export type ConversationSummary = z.infer<typeof conversationSummarySchema>;

/** Exactly one of `to` / `conversationId`. */
function exactlyOneTarget(body: { to?: unknown; conversationId?: unknown }): boolean {
  return (body.to === undefined) !== (body.conversationId === undefined);
}
const EXACTLY_ONE_TARGET = { message: 'give exactly one of to or conversationId', path: [] };

export const sendMessageRequestSchema = z
  .strictObject({
    to: usernameSchema.optional(),
    conversationId: idSchema.optional(),
    text: messageTextSchema,
    clientMsgId: clientMsgIdSchema.optional(),
    parentId: idSchema.optional(),
  })
  .refine(exactlyOneTarget, EXACTLY_ONE_TARGET)
  .meta({ id: 'SendMessageRequest' });
export type SendMessageRequest = z.input<typeof sendMessageRequestSchema>;

export const messageResponseSchema = z
  .object({ message: messageSchema })
  .meta({ id: 'MessageResponse' });
export type MessageResponse = z.infer<typeof messageResponseSchema>;

export const HISTORY_LIMIT_DEFAULT = 50;
export const HISTORY_LIMIT_MAX = 100;
const limitQuery = (max: number, fallback: number) =>
  queryInt({ min: 1, max }).optional().default(fallback);
const seqQuery = queryInt({ min: 0, max: Number.MAX_SAFE_INTEGER });

export const historyQuerySchema = z
  .object({
    with: usernameSchema.optional(),
    conversationId: idSchema.optional(),
    before: seqQuery.optional(),
    after: seqQuery.optional(),
    limit: limitQuery(HISTORY_LIMIT_MAX, HISTORY_LIMIT_DEFAULT),
  })
  .refine((q) => (q.with === undefined) !== (q.conversationId === undefined), {
    message: 'give exactly one of with or conversationId',
    path: [],
  })
  .refine((q) => q.before === undefined || q.after === undefined, {
    message: 'give at most one of before or after',
    path: [],
  });
export type HistoryQuery = z.output<typeof historyQuerySchema>;

export const historyResponseSchema = z
  .object({
    conversationId: idSchema,
    conversation: conversationRefSchema.optional().meta({
      description:
        'The conversation (id, kind, name) the page belongs to, so a reader (e.g. websocket resume) can label messages without another call',
    }),
    messages: z.array(messageSchema).meta({ description: 'Ascending seq' }),
    hasMore: z.boolean().meta({ description: 'Another page exists in the direction asked' }),
  })
  .meta({ id: 'HistoryResponse' });
export type HistoryResponse = z.infer<typeof historyResponseSchema>;

export const CONVERSATIONS_LIMIT_DEFAULT = 20;
export const conversationsQuerySchema = z.object({
  limit: limitQuery(100, CONVERSATIONS_LIMIT_DEFAULT),
  before: z
    .string()
    .min(1)
    .max(256)
    .optional()
    .meta({ description: 'nextCursor of the previous page' }),
});
export type ConversationsQuery = z.output<typeof conversationsQuerySchema>;

export const conversationsResponseSchema = z
  .object({
    conversations: z
      .array(conversationSummarySchema)
      .meta({ description: 'Newest activity first' }),
    nextCursor: z.string().optional(),
  })
  .meta({ id: 'ConversationsResponse' });
export type ConversationsResponse = z.infer<typeof conversationsResponseSchema>;

export const readRequestSchema = z.strictObject({ seq: seqSchema }).meta({ id: 'ReadRequest' });
export type ReadRequest = z.infer<typeof readRequestSchema>;

export const typingRequestSchema = z
  .strictObject({ conversationId: idSchema, isTyping: z.boolean() })
  .meta({ id: 'TypingRequest' });
export type TypingRequest = z.infer<typeof typingRequestSchema>;

export const ROOM_INITIAL_MEMBERS_MAX = 100;
export const roomNameSchema = textField({ min: 1, max: 64, label: 'name' }).transform((s) =>
  s.trim(),
);
export const createRoomRequestSchema = z
  .strictObject({
    name: roomNameSchema,
    isPrivate: z.boolean().optional().default(false),
    members: z.array(usernameSchema).max(ROOM_INITIAL_MEMBERS_MAX).optional().default([]),
  })
  .meta({ id: 'CreateRoomRequest' });
export type CreateRoomRequest = z.input<typeof createRoomRequestSchema>;

export const inviteRequestSchema = z
  .strictObject({ username: usernameSchema })
  .meta({ id: 'InviteRequest' });
export type InviteRequest = z.infer<typeof inviteRequestSchema>;

export const conversationResponseSchema = z
  .object({ conversation: conversationSchema })
  .meta({ id: 'ConversationResponse' });
export type ConversationResponse = z.infer<typeof conversationResponseSchema>;

export const roomsResponseSchema = z
  .object({ rooms: z.array(conversationSchema) })
  .meta({ id: 'RoomsResponse' });
export type RoomsResponse = z.infer<typeof roomsResponseSchema>;

export const editMessageRequestSchema = z
  .strictObject({ text: messageTextSchema })
  .meta({ id: 'EditMessageRequest' });
export type EditMessageRequest = z.infer<typeof editMessageRequestSchema>;

export const reactionRequestSchema = z
  .strictObject({ emoji: emojiSchema })
  .meta({ id: 'ReactionRequest' });
export type ReactionRequest = z.infer<typeof reactionRequestSchema>;

export const repliesQuerySchema = z.object({
  limit: limitQuery(HISTORY_LIMIT_MAX, HISTORY_LIMIT_DEFAULT),
  after: seqQuery.optional(),
});
export type RepliesQuery = z.output<typeof repliesQuerySchema>;

export const repliesResponseSchema = z
  .object({ messages: z.array(messageSchema), hasMore: z.boolean() })
  .meta({ id: 'RepliesResponse' });
export type RepliesResponse = z.infer<typeof repliesResponseSchema>;

export const idParamsSchema = z.object({ id: idSchema });
export const reactionParamsSchema = z.object({ id: idSchema, emoji: emojiSchema });

export const presenceStatusSchema = z.enum(['online', 'offline']);
export type PresenceStatus = z.infer<typeof presenceStatusSchema>;

export const PRESENCE_QUERY_MAX_IDS = 500;
export const presenceQuerySchema = z.object({
  userIds: z
    .string()
    .transform((s) => [
      ...new Set(
        s
          .split(',')
          .map((id) => id.trim())
          .filter(Boolean),
      ),
    ])
    .pipe(z.array(idSchema).min(1).max(PRESENCE_QUERY_MAX_IDS)),
});
export const presenceResponseSchema = z
  .object({
    presence: z.array(z.object({ userId: idSchema, status: presenceStatusSchema })),
  })
  .meta({ id: 'PresenceResponse' });
export type PresenceResponse = z.infer<typeof presenceResponseSchema>;
