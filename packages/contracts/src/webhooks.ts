// Outgoing webhooks (docs/design.md §12): a room's owners and admins register a URL and
// the room events it wants; a worker POSTs each such event there, signed.
import { idSchema, isoDateTimeSchema } from './common';
import { z } from './zod';

/** Room events a webhook may ask for (typing and read markers stay between people). */
export const WEBHOOK_EVENT_TYPES = [
  'new_message',
  'message_updated',
  'reaction',
  'conversation_updated',
] as const;
export const webhookEventTypeSchema = z.enum(WEBHOOK_EVENT_TYPES);
export type WebhookEventType = z.infer<typeof webhookEventTypeSchema>;

/** Webhooks one room may have. */
export const WEBHOOKS_PER_ROOM_MAX = 10;
/** Attempts kept per webhook for `GET …/deliveries`. */
export const WEBHOOK_ATTEMPTS_KEPT = 100;

export const SIGNATURE_HEADER = 'X-Parley-Signature';
export const EVENT_HEADER = 'X-Parley-Event';
export const DELIVERY_HEADER = 'X-Parley-Delivery';

export const webhookUrlSchema = z
  .string()
  .max(2048)
  .refine(
    (value) => {
      try {
        const url = new URL(value);
        return (
          (url.protocol === 'http:' || url.protocol === 'https:') &&
          url.username === '' &&
          url.password === ''
        );
      } catch {
        return false;
      }
    },
    { message: 'url must be an http(s) URL without credentials' },
  )
  .meta({ example: 'https://bots.example.com/parley' });

export const createWebhookRequestSchema = z
  .strictObject({
    url: webhookUrlSchema,
    events: z
      .array(webhookEventTypeSchema)
      .min(1)
      .max(WEBHOOK_EVENT_TYPES.length)
      .refine((e) => new Set(e).size === e.length, { message: 'events must be distinct' }),
  })
  .meta({ id: 'CreateWebhookRequest' });
export type CreateWebhookRequest = z.input<typeof createWebhookRequestSchema>;

export const webhookSchema = z
  .object({
    id: idSchema,
    roomId: idSchema,
    url: z.string(),
    events: z.array(webhookEventTypeSchema),
    createdAt: isoDateTimeSchema,
    disabledAt: isoDateTimeSchema
      .optional()
      .meta({ description: 'Set once deliveries failed for 24 h; nothing is sent after it' }),
  })
  .meta({ id: 'Webhook' });
export type Webhook = z.infer<typeof webhookSchema>;

export const createdWebhookResponseSchema = z
  .object({
    webhook: webhookSchema.extend({
      secret: z.string().meta({ description: 'The signing secret; shown only in this answer' }),
    }),
  })
  .meta({ id: 'CreatedWebhookResponse' });

export const webhooksResponseSchema = z
  .object({ webhooks: z.array(webhookSchema) })
  .meta({ id: 'WebhooksResponse' });

export const webhookParamsSchema = z.object({ id: idSchema, webhookId: idSchema });

export const webhookAttemptSchema = z
  .object({
    deliveryId: z.uuid().meta({ description: 'The event id, sent as X-Parley-Delivery' }),
    eventType: z.string(),
    attempt: z.number().int().min(1),
    at: isoDateTimeSchema,
    status: z.number().int().optional().meta({ description: 'The HTTP status, if one came' }),
    error: z.string().optional().meta({ description: 'Timeout, refused target, network error' }),
    durationMs: z.number().int().min(0),
    delivered: z.boolean(),
  })
  .meta({ id: 'WebhookAttempt' });
export type WebhookAttempt = z.infer<typeof webhookAttemptSchema>;

export const webhookAttemptsResponseSchema = z
  .object({ attempts: z.array(webhookAttemptSchema).meta({ description: 'Newest first' }) })
  .meta({ id: 'WebhookAttemptsResponse' });
