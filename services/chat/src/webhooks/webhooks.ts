// Registering a room's webhooks (docs/design.md §12): POST/GET/DELETE
// /chat/rooms/:id/webhooks and the attempts of one, for the room's owners and admins.
import {
  type Webhook,
  type WebhookAttempt,
  WEBHOOKS_PER_ROOM_MAX,
  WEBHOOK_ATTEMPTS_KEPT,
  type createWebhookRequestSchema,
} from '@parley/contracts';
import { NotFoundError, ValidationError, type Principal } from '@parley/server-kit';
import { randomBytes } from 'node:crypto';
import { ObjectId } from 'mongodb';
import type { z } from 'zod';
import type { ChatServices } from '../chat-services';
import { requireRoomRole } from '../rooms/rooms';
import { RefusedTargetError, resolvePublicAddresses } from './webhook-targets';
import type { WebhookDoc } from './webhook-store';

/**
 * Owners and admins of the room manage its webhooks (docs/design.md §10 roles): a plain
 * member gets 403 forbidden, a non-member 403 not_a_member for a public room and 404
 * for a private one, as every room route answers.
 */
async function requireManagedRoom(
  services: ChatServices,
  caller: Principal,
  roomId: string,
): Promise<void> {
  await requireRoomRole(services, roomId, caller.userId, 'admin');
}

export function toWebhook(doc: WebhookDoc): Webhook {
  return {
    id: doc._id.toHexString(),
    roomId: doc.roomId,
    url: doc.url,
    events: doc.events,
    createdAt: doc.createdAt.toISOString(),
    ...(doc.disabledAt ? { disabledAt: doc.disabledAt.toISOString() } : {}),
  };
}

export async function createWebhook(
  services: ChatServices,
  caller: Principal,
  roomId: string,
  input: z.output<typeof createWebhookRequestSchema>,
): Promise<Webhook & { secret: string }> {
  await requireManagedRoom(services, caller, roomId);
  try {
    await resolvePublicAddresses(new URL(input.url).hostname, services.webhookAllowPrivate);
  } catch (err) {
    if (!(err instanceof RefusedTargetError)) throw err;
    throw new ValidationError([{ path: 'url', message: err.message }]);
  }
  const existing = await services.webhooks.listForRoom(roomId);
  if (existing.length >= WEBHOOKS_PER_ROOM_MAX) {
    throw new ValidationError([
      { path: '', message: `A room has at most ${WEBHOOKS_PER_ROOM_MAX} webhooks` },
    ]);
  }
  const doc = await services.webhooks.insert({
    roomId: roomId,
    url: input.url,
    events: input.events,
    secret: `whsec_${randomBytes(32).toString('base64url')}`,
    createdBy: caller.userId,
    createdAt: services.now(),
  });
  return { ...toWebhook(doc), secret: doc.secret };
}

export async function listWebhooks(
  services: ChatServices,
  caller: Principal,
  roomId: string,
): Promise<Webhook[]> {
  await requireManagedRoom(services, caller, roomId);
  return (await services.webhooks.listForRoom(roomId)).map(toWebhook);
}

async function requireWebhook(
  services: ChatServices,
  roomId: string,
  webhookId: string,
): Promise<WebhookDoc> {
  const id = /^[0-9a-f]{24}$/i.test(webhookId) ? ObjectId.createFromHexString(webhookId) : null;
  const doc = id ? await services.webhooks.findInRoom(roomId, id) : null;
  if (!doc) throw new NotFoundError('No such webhook', { code: 'webhook_not_found' });
  return doc;
}

export async function deleteWebhook(
  services: ChatServices,
  caller: Principal,
  roomId: string,
  webhookId: string,
): Promise<void> {
  await requireManagedRoom(services, caller, roomId);
  const doc = await requireWebhook(services, roomId, webhookId);
  await services.webhooks.remove(doc._id);
}

export async function webhookAttempts(
  services: ChatServices,
  caller: Principal,
  roomId: string,
  webhookId: string,
): Promise<WebhookAttempt[]> {
  await requireManagedRoom(services, caller, roomId);
  const doc = await requireWebhook(services, roomId, webhookId);
  const attempts = await services.webhooks.recentAttempts(
    doc._id.toHexString(),
    WEBHOOK_ATTEMPTS_KEPT,
  );
  return attempts.map(({ _id, webhookId: _w, ...attempt }) => attempt);
}
