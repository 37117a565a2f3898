// Bodies and queries of the chat service (docs/design.md §4).
import {
  clientMsgIdSchema,
  emojiSchema,
  idSchema,
  isoDateTimeSchema,
  BIDI_OVERRIDES,
  MESSAGE_CONTROL_CHARACTERS,
  messageTextSchema,
  nameField,
  textField,
  queryInt,
  seqSchema,
  userRefSchema,
  usernameSchema,
} from './common';
import { attachmentIdsSchema, attachmentSchema } from './attachments';
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
    mentions: z.array(userRefSchema).optional().meta({
      description: 'Members of the conversation the text names with @username (left out when none)',
    }),
    createdAt: isoDateTimeSchema,
    editedAt: isoDateTimeSchema.optional(),
    deletedAt: isoDateTimeSchema.optional(),
    attachments: z.array(attachmentSchema).optional().meta({ description: 'Files sent with it' }),
  })
  .meta({ id: 'Message' });
export type Message = z.infer<typeof messageSchema>;

/** docs/design.md §4.8: distinct emoji on one message, and reactions of one user on one message. */
export const REACTIONS_MAX_EMOJI = 50;
export const REACTIONS_MAX_PER_USER = 20;

/**
 * What an edit or a delete changed (the `message_updated` event and frame): the
 * message's identity and its new text and times, never its reactions, so the event
 * stays the same size however much the message was reacted to. A deleted message
 * (`deletedAt` set, text '') has no reactions left.
 */
export const messageEditSchema = z
  .object({
    id: idSchema,
    conversationId: idSchema,
    seq: z.number().int().min(1),
    text: z.string().meta({ description: 'The new text; empty once deleted' }),
    mentions: z
      .array(userRefSchema)
      .optional()
      .meta({ description: 'Who the new text mentions (left out when nobody)' }),
    editedAt: isoDateTimeSchema.optional(),
    deletedAt: isoDateTimeSchema.optional(),
  })
  .meta({ id: 'MessageEdit' });
export type MessageEdit = z.infer<typeof messageEditSchema>;

/** One reaction added or removed (the `reaction` event and frame). */
export const reactionChangeSchema = z
  .object({
    messageId: idSchema,
    conversationId: idSchema,
    emoji: z.string().min(1).max(64),
    userId: idSchema,
    added: z.boolean().meta({ description: 'true: the user reacted; false: took it back' }),
  })
  .meta({ id: 'ReactionChange' });
export type ReactionChange = z.infer<typeof reactionChangeSchema>;

export const conversationKindSchema = z.enum(['direct', 'room']);
export type ConversationKind = z.infer<typeof conversationKindSchema>;

/** The short form carried by `new_message` events and `message` frames. */
export const conversationRefSchema = z
  .object({ id: idSchema, kind: conversationKindSchema, name: z.string().optional() })
  .meta({ id: 'ConversationRef' });
export type ConversationRef = z.infer<typeof conversationRefSchema>;

export const roomRoleSchema = z.enum(['owner', 'admin', 'member']);
export type RoomRole = z.infer<typeof roomRoleSchema>;

export const conversationMemberSchema = userRefSchema
  .extend({ role: roomRoleSchema.optional().meta({ description: 'Rooms only' }) })
  .meta({ id: 'ConversationMember' });
export type ConversationMember = z.infer<typeof conversationMemberSchema>;

export const roomDescriptionSchema = textField({
  min: 1,
  max: 1000,
  label: 'description',
  forbidden: [
    { pattern: BIDI_OVERRIDES, what: 'bidirectional override characters' },
    { pattern: MESSAGE_CONTROL_CHARACTERS, what: 'control characters' },
  ],
});

export const conversationSchema = z
  .object({
    id: idSchema,
    kind: conversationKindSchema,
    name: z.string().optional(),
    description: z.string().optional().meta({ description: 'Rooms only' }),
    isPrivate: z.boolean().meta({ description: 'Rooms only: invisible to non-members' }),
    members: z.array(conversationMemberSchema).meta({
      description:
        'Every member, unless membersComplete is false: then a bounded list (the users the change or the request is about, then owners, then admins), the rest paged from GET /chat/rooms/:id/members',
    }),
    membersComplete: z.boolean().optional().meta({
      description:
        'false: members lists only some of a room larger than the server lists inline (ROOM_MEMBERS_INLINE_MAX); left out (or true): members lists everyone',
    }),
    memberCount: z.number().int().min(0).meta({ description: 'Exact, whatever members lists' }),
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
    mentionCount: z.number().int().min(0).meta({
      description: 'Unread messages that mention the caller (counted even while muted)',
    }),
    muted: z.boolean(),
    mutedUntil: isoDateTimeSchema
      .optional()
      .meta({ description: 'When a timed mute ends; left out for an indefinite one' }),
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
    text: messageTextSchema
      .optional()
      .meta({ description: 'May be left out when attachmentIds are given' }),
    clientMsgId: clientMsgIdSchema.optional(),
    parentId: idSchema.optional(),
    attachmentIds: attachmentIdsSchema.optional(),
  })
  .refine(exactlyOneTarget, EXACTLY_ONE_TARGET)
  .refine((body) => body.text !== undefined || body.attachmentIds !== undefined, {
    message: 'text is required unless attachmentIds are given',
    path: ['text'],
  })
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
export const roomNameSchema = nameField({ min: 1, max: 64, label: 'name' });
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

export const updateRoomRequestSchema = z
  .strictObject({
    name: roomNameSchema.optional(),
    description: roomDescriptionSchema.optional(),
    isPrivate: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'give at least one field', path: [] })
  .meta({ id: 'UpdateRoomRequest' });
export type UpdateRoomRequest = z.input<typeof updateRoomRequestSchema>;

export const setRoleRequestSchema = z
  .strictObject({
    role: roomRoleSchema.meta({
      description:
        'owner hands over (or shares) ownership; an owner may step down only while another owner remains',
    }),
  })
  .meta({ id: 'SetRoleRequest' });
export type SetRoleRequest = z.infer<typeof setRoleRequestSchema>;

export const banRequestSchema = z
  .strictObject({
    username: usernameSchema,
    reason: nameField({ min: 1, max: 500, label: 'reason' }).optional(),
  })
  .meta({ id: 'BanRequest' });
export type BanRequest = z.input<typeof banRequestSchema>;

export const roomBanSchema = z
  .object({
    user: userRefSchema,
    reason: z.string().optional(),
    bannedBy: userRefSchema,
    bannedAt: isoDateTimeSchema,
  })
  .meta({ id: 'RoomBan' });
export type RoomBan = z.infer<typeof roomBanSchema>;

export const bansResponseSchema = z
  .object({ bans: z.array(roomBanSchema) })
  .meta({ id: 'BansResponse' });
export type BansResponse = z.infer<typeof bansResponseSchema>;

export const roomUserParamsSchema = z.object({ id: idSchema, username: usernameSchema });
export const usernameOnlyParamsSchema = z.object({ username: usernameSchema });

export const blockRequestSchema = z
  .strictObject({ username: usernameSchema })
  .meta({ id: 'BlockRequest' });
export type BlockRequest = z.infer<typeof blockRequestSchema>;

export const blocksResponseSchema = z
  .object({ users: z.array(userRefSchema).meta({ description: 'The users the caller blocks' }) })
  .meta({ id: 'BlocksResponse' });
export type BlocksResponse = z.infer<typeof blocksResponseSchema>;

export const muteRequestSchema = z
  .strictObject({
    until: isoDateTimeSchema
      .optional()
      .meta({ description: 'When the mute ends; left out: until unmuted' }),
  })
  .meta({ id: 'MuteRequest' });
export type MuteRequest = z.infer<typeof muteRequestSchema>;

export const MENTIONS_LIMIT_DEFAULT = 50;
export const mentionsQuerySchema = z.object({
  before: idSchema.optional().meta({ description: 'A message id: the page holds older ones' }),
  limit: limitQuery(100, MENTIONS_LIMIT_DEFAULT),
});
export type MentionsQuery = z.output<typeof mentionsQuerySchema>;

export const mentionsResponseSchema = z
  .object({
    messages: z.array(messageSchema).meta({ description: 'Newest first' }),
    hasMore: z.boolean(),
  })
  .meta({ id: 'MentionsResponse' });
export type MentionsResponse = z.infer<typeof mentionsResponseSchema>;

export const ROOM_MEMBERS_LIMIT_MAX = 500;
export const ROOM_MEMBERS_LIMIT_DEFAULT = 100;
export const roomMembersQuerySchema = z.object({
  limit: limitQuery(ROOM_MEMBERS_LIMIT_MAX, ROOM_MEMBERS_LIMIT_DEFAULT),
  after: idSchema.optional().meta({ description: 'nextCursor of the previous page' }),
});
export type RoomMembersQuery = z.output<typeof roomMembersQuerySchema>;

export const roomMembersResponseSchema = z
  .object({
    members: z
      .array(conversationMemberSchema.required({ role: true }))
      .meta({ description: 'Ordered by user id, the same order on every page' }),
    nextCursor: idSchema.optional().meta({ description: 'Left out on the last page' }),
  })
  .meta({ id: 'RoomMembersResponse' });
export type RoomMembersResponse = z.infer<typeof roomMembersResponseSchema>;

/**
 * What a conversation_updated changed among the members (left out when it changed
 * none): who came, who went, whose role changed. With it a client keeps a partial
 * member list right without paging the room again.
 */
export const memberChangeSchema = z
  .object({
    added: z.array(conversationMemberSchema).optional(),
    removed: z.array(userRefSchema).optional(),
    roleChanged: z.array(conversationMemberSchema).optional(),
  })
  .meta({ id: 'MemberChange' });
export type MemberChange = z.infer<typeof memberChangeSchema>;

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

/** A user's presence as instances announce it on the bus. */
export const presenceStatusSchema = z.enum(['online', 'offline']);
export type PresenceStatus = z.infer<typeof presenceStatusSchema>;

/**
 * A user's presence as a watcher is told it (GET /presence, `presence` frames):
 * `unknown` for anyone who shares no conversation with the watcher (docs/design.md §6.7).
 */
export const presenceViewSchema = z.enum(['online', 'offline', 'unknown']);
export type PresenceView = z.infer<typeof presenceViewSchema>;

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
    presence: z.array(z.object({ userId: idSchema, status: presenceViewSchema })),
  })
  .meta({ id: 'PresenceResponse' });
export type PresenceResponse = z.infer<typeof presenceResponseSchema>;

/** Conversations one `resume` frame or POST /chat/sync may name. */
export const RESUME_MAX_CONVERSATIONS = 100;
/** Messages one resume replays at most; the rest is paged with /chat/history?after=. */
export const RESUME_MESSAGE_BOUND = 500;

/** Conversation id → the last seq the client saw in it. */
export const resumeConversationsSchema = z
  .record(idSchema, seqSchema)
  .refine((r) => Object.keys(r).length <= RESUME_MAX_CONVERSATIONS, {
    message: `at most ${RESUME_MAX_CONVERSATIONS} conversations`,
  })
  .meta({ description: 'conversation id → the last seq the client saw' });

export const syncRequestSchema = z
  .strictObject({ conversations: resumeConversationsSchema })
  .meta({ id: 'SyncRequest' });
export type SyncRequest = z.infer<typeof syncRequestSchema>;

export const syncResponseSchema = z
  .object({
    conversations: z
      .array(
        z.object({
          conversation: conversationRefSchema,
          messages: z.array(messageSchema).meta({ description: 'After the seq named, ascending' }),
          hasMore: z.boolean(),
        }),
      )
      .meta({ description: "The caller's conversations among those named, in the order named" }),
    notFound: z.array(idSchema).meta({
      description:
        "Ids named that are not the caller's conversations; an unknown id and someone else's are answered alike",
    }),
    complete: z.boolean().meta({
      description: `false when more than ${RESUME_MESSAGE_BOUND} messages were missed: page the rest with /chat/history?after=`,
    }),
  })
  .meta({ id: 'SyncResponse' });
export type SyncResponse = z.infer<typeof syncResponseSchema>;

export const contactsRequestSchema = z
  .strictObject({ userIds: z.array(idSchema).min(1).max(PRESENCE_QUERY_MAX_IDS) })
  .meta({ id: 'ContactsRequest' });
export type ContactsRequest = z.infer<typeof contactsRequestSchema>;

export const contactsResponseSchema = z
  .object({
    userIds: z.array(idSchema).meta({
      description:
        'Those of the ids given who share a conversation with the caller (the caller too)',
    }),
  })
  .meta({ id: 'ContactsResponse' });
export type ContactsResponse = z.infer<typeof contactsResponseSchema>;
