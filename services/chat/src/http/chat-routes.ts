// Every chat endpoint, mounted from the contracts' route catalogue (method, path,
// schemas and success status are written down once, in packages/contracts). Each
// handler gets its input parsed by the route's own schemas and the verified caller,
// and returns the body; errors are thrown and left to the kit's one error middleware.
import { routesOf, type ROUTES, type RouteName, type RouteSpec } from '@parley/contracts';
import {
  REQUEST_DEADLINE_AT,
  TIMED_OUT,
  getAuth,
  parseWith,
  requireAuth,
  type Principal,
  type TokenVerifier,
} from '@parley/server-kit';
import { Router, type RequestHandler, type Response } from 'express';
import type { z } from 'zod';
import type { ChatServices } from '../chat-services';
import { listConversations } from '../conversations/conversation-list';
import { readHistory, readReplies } from '../messages/history';
import { deleteMessage, editMessage } from '../messages/message-edits';
import { addReaction, removeReaction } from '../messages/reactions';
import { markRead } from '../conversations/read-markers';
import {
  banFromRoom,
  createRoom,
  getRoom,
  inviteToRoom,
  joinRoom,
  leaveRoom,
  listRoomBans,
  listRoomMembers,
  listRooms,
  removeRoomMember,
  setRoomRole,
  unbanFromRoom,
  updateRoom,
} from '../rooms/rooms';
import type { SendLifetime } from '../messages/send-admission';
import { sendMessage } from '../messages/send-message';
import { announceTyping } from '../conversations/typing';
import { usersSharingAConversation } from '../conversations/conversation-access';
import { syncConversations } from '../messages/sync-conversations';
import type { LimitedAction } from '../rate-limits/user-limits';
import { createWebhook, deleteWebhook, listWebhooks, webhookAttempts } from '../webhooks/webhooks';
import { blockUser, listBlocks, unblockUser } from '../blocks/blocks';
import { muteConversation, unmuteConversation } from '../conversations/mutes';
import { listMentions } from '../messages/mentions-list';

type Routes = typeof ROUTES;
type ChatRouteName = {
  [K in RouteName]: Routes[K]['service'] extends 'chat' ? K : never;
}[RouteName];
type Parsed<R, K extends string> = R extends { [P in K]: infer S extends z.ZodType }
  ? z.output<S>
  : undefined;

interface RouteInput<R> {
  caller: Principal;
  body: Parsed<R, 'body'>;
  query: Parsed<R, 'query'>;
  params: Parsed<R, 'params'>;
  /** Whether the caller still waits (send sheds work nobody waits for). */
  lifetime: SendLifetime;
}

type RouteOutput<R> = R extends { success: { schema: infer S extends z.ZodType } }
  ? { body: z.input<S>; status?: number }
  : void;

type ChatHandlers = {
  [K in ChatRouteName]: (input: RouteInput<Routes[K]>) => Promise<RouteOutput<Routes[K]>>;
};

function chatHandlers(services: ChatServices): ChatHandlers {
  // per-user limits (rate-limits/user-limits.ts) of the routes that are not use cases
  // of their own; send, typing, reactions and room creation count in theirs
  const take = (action: LimitedAction, caller: Principal) =>
    services.limits.take(action, caller.userId);
  // the rare, hour-long ones: the user's shared count is read first (UserLimits.takeAll)
  const takeRare = (action: LimitedAction, caller: Principal) =>
    services.limits.takeAll([[action, caller.userId, 1]]);
  return {
    sendMessage: async ({ caller, body, lifetime }) => {
      const { message, created } = await sendMessage(services, caller, body, lifetime);
      return { body: { message }, status: created ? 201 : 200 };
    },
    history: async ({ caller, query }) => {
      take('history', caller);
      return { body: await readHistory(services, caller, query) };
    },
    conversations: async ({ caller, query }) => {
      take('listing', caller);
      return { body: await listConversations(services, caller, query) };
    },
    sync: async ({ caller, body }) => {
      take('sync', caller);
      return { body: await syncConversations(services, caller, body) };
    },
    contacts: async ({ caller, body }) => {
      take('listing', caller);
      const shared = await usersSharingAConversation(
        services.conversations,
        caller.userId,
        body.userIds,
      );
      // docs/design.md §10: whoever blocks the caller is `unknown` to them
      const blockers = await services.blocks.blockersAmong(caller.userId, shared);
      return { body: { userIds: shared.filter((id) => !blockers.has(id)) } };
    },
    markRead: ({ caller, params, body }) => markRead(services, caller, params.id, body.seq),
    typing: ({ caller, body }) =>
      announceTyping(services, caller, body.conversationId, body.isTyping),
    createRoom: async ({ caller, body }) => ({
      body: { conversation: await createRoom(services, caller, body) },
    }),
    listRooms: async ({ caller }) => {
      take('listing', caller);
      return { body: { rooms: await listRooms(services, caller) } };
    },
    getRoom: async ({ caller, params }) => {
      take('listing', caller);
      return { body: { conversation: await getRoom(services, caller, params.id) } };
    },
    listRoomMembers: async ({ caller, params, query }) => {
      take('listing', caller);
      return { body: await listRoomMembers(services, caller, params.id, query) };
    },
    // joins and leaves count before any lookup, refusals too (docs/design.md §4.14)
    joinRoom: async ({ caller, params }) => {
      await takeRare('membership', caller);
      return { body: { conversation: await joinRoom(services, caller, params.id) } };
    },
    leaveRoom: async ({ caller, params }) => {
      await takeRare('membership', caller);
      return { body: { conversation: await leaveRoom(services, caller, params.id) } };
    },
    inviteToRoom: async ({ caller, params, body }) => {
      await takeRare('invite', caller);
      return {
        body: { conversation: await inviteToRoom(services, caller, params.id, body.username) },
      };
    },
    // room moderation (docs/design.md §10), counted before any lookup, refusals too
    updateRoom: async ({ caller, params, body }) => {
      take('moderation', caller);
      return { body: { conversation: await updateRoom(services, caller, params.id, body) } };
    },
    setRoomRole: async ({ caller, params, body }) => {
      take('moderation', caller);
      return {
        body: {
          conversation: await setRoomRole(services, caller, params.id, params.username, body.role),
        },
      };
    },
    removeRoomMember: async ({ caller, params }) => {
      take('moderation', caller);
      return {
        body: {
          conversation: await removeRoomMember(services, caller, params.id, params.username),
        },
      };
    },
    banFromRoom: async ({ caller, params, body }) => {
      take('moderation', caller);
      return {
        body: {
          conversation: await banFromRoom(services, caller, params.id, body.username, body.reason),
        },
      };
    },
    unbanFromRoom: ({ caller, params }) => {
      take('moderation', caller);
      return unbanFromRoom(services, caller, params.id, params.username);
    },
    listRoomBans: async ({ caller, params }) => {
      take('listing', caller);
      return { body: { bans: await listRoomBans(services, caller, params.id) } };
    },
    block: async ({ caller, body }) => {
      take('listing', caller);
      await blockUser(services, caller, body.username);
    },
    unblock: ({ caller, params }) => unblockUser(services, caller, params.username),
    listBlocks: async ({ caller }) => {
      take('listing', caller);
      return { body: { users: await listBlocks(services, caller) } };
    },
    mute: ({ caller, params, body }) => muteConversation(services, caller, params.id, body.until),
    unmute: ({ caller, params }) => unmuteConversation(services, caller, params.id),
    mentions: async ({ caller, query }) => {
      take('history', caller);
      return { body: await listMentions(services, caller, query) };
    },
    editMessage: async ({ caller, params, body }) => {
      take('edit', caller);
      return { body: { message: await editMessage(services, caller, params.id, body.text) } };
    },
    deleteMessage: ({ caller, params }) => {
      take('edit', caller);
      return deleteMessage(services, caller, params.id);
    },
    addReaction: async ({ caller, params, body }) => ({
      body: { message: await addReaction(services, caller, params.id, body.emoji) },
    }),
    removeReaction: async ({ caller, params }) => ({
      body: { message: await removeReaction(services, caller, params.id, params.emoji) },
    }),
    // registering and removing webhooks is room administration: counted as moderation
    createWebhook: async ({ caller, params, body }) => {
      take('moderation', caller);
      return { body: { webhook: await createWebhook(services, caller, params.id, body) } };
    },
    listWebhooks: async ({ caller, params }) => ({
      body: { webhooks: await listWebhooks(services, caller, params.id) },
    }),
    deleteWebhook: ({ caller, params }) => {
      take('moderation', caller);
      return deleteWebhook(services, caller, params.id, params.webhookId);
    },
    webhookDeliveries: async ({ caller, params }) => ({
      body: { attempts: await webhookAttempts(services, caller, params.id, params.webhookId) },
    }),
    replies: async ({ caller, params, query }) => {
      take('history', caller);
      return { body: await readReplies(services, caller, params.id, query) };
    },
  };
}

type AnyHandler = (
  input: RouteInput<RouteSpec>,
) => Promise<{ body: unknown; status?: number } | void>;

function mount(router: Router, spec: RouteSpec, handler: AnyHandler, auth: RequestHandler): void {
  router[spec.method](spec.path, auth, async (req, res) => {
    const input = {
      caller: getAuth(res),
      // params first: a malformed id is answered before the body is looked at
      params: spec.params ? parseWith(spec.params, req.params, 'path parameters') : undefined,
      query: spec.query ? parseWith(spec.query, req.query, 'query') : undefined,
      body: spec.body ? parseWith(spec.body, req.body ?? {}, 'body') : undefined,
      lifetime: lifetimeOf(res),
    } as RouteInput<RouteSpec>;
    const output = await handler(input);
    if (!output) {
      res.status(spec.success.status).end();
      return;
    }
    res.status(output.status ?? spec.success.status).json(output.body);
  });
}

/**
 * The request's deadline (set by the kit's createHttpApp when it has one) and a signal
 * that aborts once nobody waits for the answer: the response is finished — by the
 * kit's 503 at the deadline (reason TIMED_OUT) — or the connection closed.
 */
function lifetimeOf(res: Response): SendLifetime {
  const controller = new AbortController();
  res.once('close', () => {
    controller.abort(res.locals[TIMED_OUT] === true ? TIMED_OUT : 'closed');
  });
  const deadlineAt: unknown = res.locals[REQUEST_DEADLINE_AT];
  return {
    signal: controller.signal,
    deadlineAt: typeof deadlineAt === 'number' ? deadlineAt : undefined,
  };
}

export interface ChatRouterDeps {
  services: ChatServices;
  verifier: TokenVerifier;
}

export function createChatRouter({ services, verifier }: ChatRouterDeps): Router {
  const router = Router();
  const handlers = chatHandlers(services) as unknown as Record<string, AnyHandler>;
  const auth = requireAuth(verifier);
  for (const [name, spec] of routesOf('chat')) {
    const handler = handlers[name];
    if (!handler) throw new Error(`No handler for chat route ${name}`);
    mount(router, spec, handler, auth);
  }
  return router;
}
