// An in-test stand-in for the chat service, so the websocket service's own tests stay
// inside its boundary (e2e/ runs it against the real chat): the endpoints the websocket
// service calls, shaped by the contracts' schemas, with problem+json errors from the
// kit, keeping conversations in memory and announcing changes on the real RabbitMQ
// exchange like chat does. A fake of chat, never of RabbitMQ.
import { randomUUID } from 'node:crypto';
import {
  RESUME_MESSAGE_BOUND,
  ROUTES,
  contactsRequestSchema,
  idParamsSchema,
  readRequestSchema,
  sendMessageRequestSchema,
  syncRequestSchema,
  typingRequestSchema,
  type ConversationRef,
  type ContactsResponse,
  type Message,
  type SyncResponse,
  type UserRef,
} from '@parley/contracts';
import {
  ForbiddenError,
  NotFoundError,
  createHttpApp,
  createMetrics,
  finishHttpApp,
  getAuth,
  parseBody,
  parseParams,
  requireAuth,
  startHttpServer,
  type RunningHttpServer,
} from '@parley/server-kit';
import { createSilentLogger, type TestIssuer } from '@parley/testing';
import type { EventInjector } from './event-injector';

interface StoredConversation {
  ref: ConversationRef;
  members: UserRef[];
  messages: Message[];
  createdAt: string;
}

export interface ChatStub {
  url: string;
  /** Makes a user known by username (for `to`). */
  addUser(user: UserRef): void;
  createRoom(name: string, members: UserRef[]): ConversationRef;
  /** Stores a message without announcing it (a message the client "missed"). */
  storeSilently(conversationId: string, sender: UserRef, text: string): Message;
  readonly sendCalls: number;
  /** POST /chat/sync and /chat/contacts calls so far. */
  readonly syncCalls: number;
  readonly contactsCalls: number;
  /** While set, POST /chat/sync waits for it before answering. */
  holdSync: Promise<void> | undefined;
  close(): Promise<void>;
}

export function directId(a: string, b: string): string {
  return `d:${[a, b].sort().join(':')}`;
}

/** Announces its changes through `events` (on the websocket instance's exchange). */
export async function startChatStub(issuer: TestIssuer, events: EventInjector): Promise<ChatStub> {
  const logger = createSilentLogger();
  const users = new Map<string, UserRef>();
  const conversations = new Map<string, StoredConversation>();
  const byClientMsgId = new Map<string, Message>();
  let sendCalls = 0;
  let syncCalls = 0;
  let contactsCalls = 0;

  function conversationFor(id: string, userId: string): StoredConversation {
    const conv = conversations.get(id);
    if (!conv) throw new NotFoundError('No such conversation', { code: 'conversation_not_found' });
    if (!conv.members.some((m) => m.id === userId)) {
      throw new ForbiddenError('You are not a member of this conversation', {
        code: 'not_a_member',
      });
    }
    return conv;
  }

  function append(
    conv: StoredConversation,
    sender: UserRef,
    text: string,
    extra: Partial<Message> = {},
  ): Message {
    const message: Message = {
      id: randomUUID(),
      conversationId: conv.ref.id,
      seq: conv.messages.length + 1,
      sender,
      text,
      reactions: {},
      createdAt: new Date().toISOString(),
      ...extra,
    };
    conv.messages.push(message);
    return message;
  }

  const app = createHttpApp({
    logger,
    metrics: createMetrics({ service: 'chat-stub', defaultMetrics: false }),
    corsOrigins: '*',
  });
  const auth = requireAuth(issuer.verifier());

  app.post(ROUTES.sendMessage.path, auth, async (req, res) => {
    sendCalls += 1;
    const me = getAuth(res);
    const body = parseBody(sendMessageRequestSchema, req);
    const sender = { id: me.userId, username: me.username };
    const key = body.clientMsgId === undefined ? undefined : `${me.userId}:${body.clientMsgId}`;
    const original = key === undefined ? undefined : byClientMsgId.get(key);
    if (original) {
      res.status(200).json({ message: original });
      return;
    }
    let conv: StoredConversation;
    if (body.to !== undefined) {
      const peer = users.get(body.to);
      if (!peer) throw new NotFoundError('No such user', { code: 'user_not_found' });
      const id = directId(me.userId, peer.id);
      conv = conversations.get(id) ?? {
        ref: { id, kind: 'direct' },
        members: [sender, peer],
        messages: [],
        createdAt: new Date().toISOString(),
      };
      conversations.set(id, conv);
    } else {
      conv = conversationFor(body.conversationId ?? '', me.userId);
    }
    const message = append(conv, sender, body.text ?? '', {
      ...(body.clientMsgId === undefined ? {} : { clientMsgId: body.clientMsgId }),
      ...(body.parentId === undefined ? {} : { parentId: body.parentId }),
    });
    if (key !== undefined) byClientMsgId.set(key, message);
    await events.publish(
      'new_message',
      { message, conversation: conv.ref },
      conv.members.map((m) => m.id),
    );
    res.status(201).json({ message });
  });

  app.post(ROUTES.typing.path, auth, async (req, res) => {
    const me = getAuth(res);
    const body = parseBody(typingRequestSchema, req);
    const conv = conversationFor(body.conversationId, me.userId);
    await events.publish(
      'typing',
      {
        conversationId: conv.ref.id,
        user: { id: me.userId, username: me.username },
        isTyping: body.isTyping,
      },
      conv.members.filter((m) => m.id !== me.userId).map((m) => m.id),
    );
    res.status(204).end();
  });

  app.post(ROUTES.markRead.path, auth, async (req, res) => {
    const me = getAuth(res);
    const { id } = parseParams(idParamsSchema, req);
    const { seq } = parseBody(readRequestSchema, req);
    const conv = conversationFor(id, me.userId);
    await events.publish(
      'read',
      { conversationId: id, userId: me.userId, seq },
      conv.members.map((m) => m.id),
    );
    res.status(204).end();
  });

  // chat's resume in one call: the caller's conversations among those named, the
  // others in notFound (unknown and foreign alike), up to the bound in all
  app.post(ROUTES.sync.path, auth, async (req, res) => {
    syncCalls += 1;
    const me = getAuth(res);
    const { conversations: named } = parseBody(syncRequestSchema, req);
    await stub.holdSync;
    const body: SyncResponse = { conversations: [], notFound: [], complete: true };
    let budget = RESUME_MESSAGE_BOUND;
    for (const [id, after] of Object.entries(named)) {
      const conv = conversations.get(id);
      if (!conv?.members.some((m) => m.id === me.userId)) {
        body.notFound.push(id);
        continue;
      }
      const newer = conv.messages.filter((m) => m.seq > after);
      const messages = newer.slice(0, Math.max(0, budget));
      budget -= messages.length;
      const hasMore = newer.length > messages.length;
      if (hasMore) body.complete = false;
      body.conversations.push({ conversation: conv.ref, messages, hasMore });
    }
    res.json(body);
  });

  app.post(ROUTES.contacts.path, auth, (req, res) => {
    contactsCalls += 1;
    const me = getAuth(res);
    const { userIds } = parseBody(contactsRequestSchema, req);
    const shared = new Set([me.userId]);
    for (const conv of conversations.values()) {
      if (conv.members.some((m) => m.id === me.userId))
        for (const m of conv.members) shared.add(m.id);
    }
    const body: ContactsResponse = { userIds: userIds.filter((id) => shared.has(id)) };
    res.json(body);
  });
  finishHttpApp(app);

  const server: RunningHttpServer = await startHttpServer(app, {
    port: 0,
    host: '127.0.0.1',
    drainTimeoutMs: 1_000,
  });
  const stub: ChatStub = {
    url: server.url,
    holdSync: undefined,
    addUser: (user) => users.set(user.username, user),
    createRoom(name, members) {
      const ref: ConversationRef = { id: `r:${randomUUID()}`, kind: 'room', name };
      conversations.set(ref.id, {
        ref,
        members,
        messages: [],
        createdAt: new Date().toISOString(),
      });
      return ref;
    },
    storeSilently(conversationId, sender, text) {
      const conv = conversations.get(conversationId);
      if (!conv) throw new Error(`no conversation ${conversationId}`);
      return append(conv, sender, text);
    },
    get sendCalls() {
      return sendCalls;
    },
    get syncCalls() {
      return syncCalls;
    },
    get contactsCalls() {
      return contactsCalls;
    },
    close: () => server.close(),
  };
  return stub;
}
