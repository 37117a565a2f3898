// POST /chat/send: resolve the conversation (a direct one is created by its first
// message), check membership and the thread parent, then store the message with the
// next seq in ONE insert, publish its new_message event (derived from it; the message
// relay's checkpoint covers a crash before the confirm), and record the conversation's
// activity behind the answer. In steady state that is one MongoDB command per send
// (docs/architecture.md, "The send path").
import type { Message, sendMessageRequestSchema } from '@parley/contracts';
import {
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  type Principal,
} from '@parley/server-kit';
import type { z } from 'zod';
import type { ChatServices } from '../chat-services';
import { newMessageEvent } from '../outbox/chat-events';
import { requireSenderIn } from '../rooms/send-permission';
import { requireNotBlockedBy } from '../blocks/blocks';
import { parseMentions } from './mentions';
import type { ConversationDoc } from '../conversations/conversation-store';
import type { RelayTicket } from '../outbox/message-relay';
import { toMessage, type InsertResult, type NewMessage, type SeqHint } from './message-store';
import type { Settled } from './send-queue';
import type { SendLifetime } from './send-admission';
import { claimAttachments } from '../attachments/attachment-claims';
import { resolveDirectPeer, userRefOf } from '../user-refs';

export type SendMessageInput = z.output<typeof sendMessageRequestSchema>;

export interface SendMessageResult {
  message: Message;
  /** False when the clientMsgId was seen before: `message` is the original. */
  created: boolean;
}

async function resolveConversation(
  services: ChatServices,
  caller: Principal,
  input: SendMessageInput,
): Promise<ConversationDoc> {
  if (input.to !== undefined) {
    const peer = await resolveDirectPeer(services, caller, input.to);
    // before the conversation is looked up: the same 403 whether or not it exists
    await requireNotBlockedBy(services, peer.id, caller.userId);
    return services.conversations.ensureDirect(userRefOf(caller), peer);
  }
  return requireSenderIn(services, input.conversationId ?? '', caller.userId);
}

/** A reply attaches to the thread root, so a reply to a reply joins the same thread. */
async function resolveThreadRoot(
  services: ChatServices,
  conversation: ConversationDoc,
  parentId: string,
): Promise<string> {
  const parent = await services.messages.findById(parentId);
  if (!parent || parent.conversationId !== conversation._id) {
    throw new NotFoundError('The parent message is not in this conversation', {
      code: 'message_not_found',
    });
  }
  return parent.parentId ?? parent._id.toHexString();
}

export async function sendMessage(
  services: ChatServices,
  caller: Principal,
  input: SendMessageInput,
  lifetime: SendLifetime = {},
): Promise<SendMessageResult> {
  try {
    // before the admission gate: a user sending too fast must not take the places
    // other users' sends need in it (no I/O, see rate-limits/)
    services.limits.take('send', caller.userId);
    // before any I/O: an overloaded instance answers 503 at once (send-admission.ts)
    const release = services.sendAdmission.enter();
    try {
      return await storeNewMessage(services, caller, input, lifetime);
    } finally {
      release();
    }
  } catch (err) {
    return originalOrThrow(services, caller, input, err);
  }
}

// A repeated clientMsgId is found by the insert itself (the unique idempotency key
// refuses it and insertNext returns the original), so a send costs no lookup first.
// A repeat refused before it reaches the insert, with an answer that would tell the
// client its message failed for good (429, the caller has left: 403, a conversation
// or peer gone: 404), still gets its original (docs/design.md §4.7); the lookup is made only
// then. A 503 is left as it is: it says "try again", and load shedding must stay cheap.
async function originalOrThrow(
  services: ChatServices,
  caller: Principal,
  input: SendMessageInput,
  err: unknown,
): Promise<SendMessageResult> {
  const final =
    err instanceof RateLimitedError ||
    err instanceof ForbiddenError ||
    err instanceof NotFoundError;
  if (!final || input.clientMsgId === undefined) throw err;
  const original = await services.messages.findByIdempotencyKey(caller.userId, input.clientMsgId);
  if (original) return { message: toMessage(original), created: false };
  throw err;
}

/** A send waiting in its conversation's queue (send-queue.ts batches them). */
interface QueuedSend {
  conversation: ConversationDoc;
  message: NewMessage;
}

/**
 * The sends of one conversation whose turn came together: one insertMany, each with
 * its relay ticket taken before (the checkpoint must not pass a message being stored).
 * The conversation's lastSeq saves the highest-seq query on the first send of a
 * queue: it never runs ahead of the stored messages, and when it lags the unique
 * {conversationId, seq} index refuses the insert and the store asks for the highest seq.
 */
async function storeQueued(
  services: ChatServices,
  hint: SeqHint,
  sends: QueuedSend[],
): Promise<Settled<[InsertResult, RelayTicket]>[]> {
  const known = sends[0]?.conversation.lastSeq;
  if (known !== undefined) hint.lastSeq ??= known;
  const tickets = sends.map(() => services.messageRelay.begin());
  let outcomes: Settled<InsertResult>[];
  try {
    outcomes = await services.messages.insertBatch(
      sends.map((send) => send.message),
      (message, i) => [newMessageEvent(message, sends[i]!.conversation)],
      hint,
    );
  } catch (err) {
    for (const ticket of tickets) services.messageRelay.cancel(ticket);
    throw err;
  }
  return outcomes.map((outcome, i): Settled<[InsertResult, RelayTicket]> => {
    const ticket = tickets[i]!;
    if (!outcome.ok || !outcome.value.created) services.messageRelay.cancel(ticket);
    return outcome.ok ? { ok: true, value: [outcome.value, ticket] } : outcome;
  });
}

async function storeNewMessage(
  services: ChatServices,
  caller: Principal,
  input: SendMessageInput,
  lifetime: SendLifetime,
): Promise<SendMessageResult> {
  const admission = services.sendAdmission;
  const prepared = await admission.lookups(lifetime, async () => {
    admission.ensureWanted(lifetime);
    const conversation = await resolveConversation(services, caller, input);
    const parentId =
      input.parentId === undefined
        ? undefined
        : await resolveThreadRoot(services, conversation, input.parentId);
    return { conversation, parentId };
  });
  const { conversation, parentId } = prepared;
  admission.ensureWanted(lifetime);
  const attached = await claimAttachments(services, caller, input, conversation._id);

  let result: InsertResult;
  let ticket: RelayTicket;
  try {
    [result, ticket] = await services.sendQueue.runBatched<QueuedSend, [InsertResult, RelayTicket]>(
      conversation._id,
      {
        kind: 'send',
        item: {
          conversation,
          message: {
            conversationId: conversation._id,
            sender: userRefOf(caller),
            text: input.text ?? '',
            origin: services.messageRelay.instanceId,
            mentions: parseMentions(input.text ?? '', conversation.members),
            ...attached?.fields,
            ...(input.clientMsgId !== undefined ? { clientMsgId: input.clientMsgId } : {}),
            ...(parentId !== undefined ? { parentId } : {}),
          },
        },
        run: (hint, sends) => storeQueued(services, hint, sends),
      },
      // dropped unstarted when nobody waits any more, or when by the recent pace the
      // write would end too close to the deadline: nothing stored, no seq taken
      { signal: lifetime.signal, finishBy: admission.doneBy(lifetime) },
    );
  } catch (err) {
    await attached?.release();
    throw admission.fromQueue(err, lifetime);
  }
  if (!result.created) {
    await attached?.release();
    services.limits.refund('send', caller.userId); // a retry is not a new message
    return { message: toMessage(result.doc), created: false };
  }

  services.metrics.messagesSent.inc();
  services.sendHooks.afterStore?.(result.doc);
  for (const event of result.events) services.messageRelay.publish(ticket, event);
  // written with the window's other conversations, not awaited: history reads the
  // messages, and this instance's reads see the new lastSeq at once
  services.conversations.recordMessage(conversation._id, result.doc.seq, result.doc.createdAt);
  return { message: toMessage(result.doc), created: true };
}
