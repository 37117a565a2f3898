// The webhook delivery worker's environment (a process of its own, started from this
// package: docs/architecture.md, "The webhook worker"), validated once at boot.
import { EVENTS_EXCHANGE } from '@parley/contracts';
import { commonEnv, envVars, loadConfig, metricsEnv, type Env } from '@parley/server-kit';
import { z } from 'zod';
import { DEFAULT_RETRY_POLICY } from './webhook-dispatcher';

export const WEBHOOK_QUEUE = 'chat.webhooks';

export const webhookWorkerEnvSchema = z.object({
  ...commonEnv(),
  PORT: envVars.port(5004).describe('Port of its `/healthz` and `/readyz` (it serves no API).'),
  ...metricsEnv(9104),
  MONGO_URL: envVars.mongoUrl(),
  AMQP_URL: envVars.amqpUrl(),
  EVENTS_EXCHANGE: z
    .string()
    .min(1)
    .max(255)
    .default(EVENTS_EXCHANGE)
    .describe('The fanout exchange the events come from.'),
  WEBHOOK_QUEUE: z
    .string()
    .min(1)
    .max(255)
    .default(WEBHOOK_QUEUE)
    .describe(
      'Its own durable queue on that exchange: a quorum queue with a single active consumer, so a second worker stands by.',
    ),
  WEBHOOK_ALLOW_PRIVATE: envVars
    .boolean(false)
    .describe(
      'Deliver to loopback, private and link-local addresses too (development and tests only); checked on every delivery.',
    ),
  WEBHOOK_TIMEOUT_MS: envVars
    .durationMs(5_000)
    .describe('A delivery not answered 2xx within this long is a failure and is retried.'),
  WEBHOOK_RETRY_BASE_MS: envVars
    .durationMs(DEFAULT_RETRY_POLICY.baseMs)
    .describe(
      'First retry after about this long; each further one waits twice as long, with jitter.',
    ),
  WEBHOOK_RETRY_MAX_MS: envVars
    .durationMs(DEFAULT_RETRY_POLICY.maxMs)
    .describe('The longest wait between two attempts.'),
  WEBHOOK_GIVE_UP_MS: envVars
    .durationMs(DEFAULT_RETRY_POLICY.giveUpMs)
    .describe(
      'A webhook whose deliveries fail for this long is disabled; what it was owed is dropped.',
    ),
});

export type WebhookWorkerEnv = z.output<typeof webhookWorkerEnvSchema>;

export function loadWebhookWorkerConfig(env: Env = process.env): WebhookWorkerEnv {
  return loadConfig(webhookWorkerEnvSchema, env);
}
