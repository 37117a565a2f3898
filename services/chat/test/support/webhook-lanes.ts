// For tests of the webhook delivery lanes: a room event, a registered webhook, and a
// dispatcher whose HTTP attempt is a stand-in that records what it was sent (the text
// of each message, in order) and answers what `answer` says (default 204).
import { createEvent, type ParleyEvent } from '@parley/contracts';
import { createSilentLogger } from '@parley/testing';
import { ObjectId } from 'mongodb';
import type { DeliveryOutcome } from '../../src/webhooks/webhook-delivery';
import {
  createWebhookDispatcher,
  type WebhookDispatcher,
  type WebhookDispatcherOptions,
} from '../../src/webhooks/webhook-dispatcher';
import type { WebhookDoc, WebhookStore } from '../../src/webhooks/webhook-store';

export function messageEvent(roomId: string, text: string): ParleyEvent {
  return createEvent(
    'new_message',
    {
      message: {
        id: new ObjectId().toHexString(),
        conversationId: roomId,
        seq: 1,
        sender: { id: 'u1', username: 'alice' },
        text,
        reactions: {},
        createdAt: new Date().toISOString(),
      },
      conversation: { id: roomId, kind: 'room', name: 'hooks' },
    },
    ['u1'],
  );
}

/** A webhook for new messages of a room of its own (a public address: never called). */
export async function insertWebhook(store: WebhookStore): Promise<WebhookDoc> {
  return store.insert({
    roomId: `room-${new ObjectId().toHexString()}`,
    url: 'https://93.184.215.14/hook',
    events: ['new_message'],
    secret: 'whsec_test',
    createdBy: 'u1',
    createdAt: new Date(),
  });
}

export function recordingDispatcher(
  store: WebhookStore,
  options: Partial<Pick<WebhookDispatcherOptions, 'retry' | 'now'>> & {
    answer?: (sent: string[]) => Promise<DeliveryOutcome> | DeliveryOutcome;
  } = {},
): { dispatcher: WebhookDispatcher; sent: string[] } {
  const sent: string[] = [];
  const { answer = () => ({ delivered: true, status: 204, durationMs: 1 }), ...rest } = options;
  const dispatcher = createWebhookDispatcher({
    store,
    delivery: { timeoutMs: 1_000, allowPrivate: false },
    logger: createSilentLogger('webhooks'),
    ...rest,
    send: async (request) => {
      sent.push(JSON.parse(request.body).data.message.text as string);
      return answer(sent);
    },
  });
  return { dispatcher, sent };
}
