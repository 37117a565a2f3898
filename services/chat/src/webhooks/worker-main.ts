// The webhook delivery worker process: consumes chat.events through its own durable
// quorum queue, turns each room event into deliveries owed to that room's webhooks,
// and delivers them (webhook-dispatcher.ts). It serves only /healthz and /readyz.
// On SIGTERM it stops taking events, lets the attempts under way finish and record
// their outcome, then closes, so a restart neither loses nor repeats a delivery.
import { hostname } from 'node:os';
import { eventEnvelopeSchema, parleyEventSchema, type EventEnvelope } from '@parley/contracts';
import {
  connectMongo,
  createAmqpConnection,
  createAmqpReadinessCheck,
  createEventConsumer,
  createHttpApp,
  createLogger,
  createMetrics,
  createMongoReadinessCheck,
  finishHttpApp,
  resolveCorsOrigins,
  serveProcess,
} from '@parley/server-kit';
import { createWebhookStore } from './webhook-store';
import { createWebhookDispatcher } from './webhook-dispatcher';
import { loadWebhookWorkerConfig } from './worker-config';

async function main(): Promise<void> {
  const config = loadWebhookWorkerConfig();
  const logger = createLogger({ name: 'webhooks', level: config.LOG_LEVEL });
  const metrics = createMetrics({ service: 'webhooks' });
  const attempts = metrics.counter({
    name: 'parley_webhook_attempts_total',
    help: 'Webhook delivery attempts, by outcome',
    labelNames: ['outcome'] as const,
  });

  const mongo = await connectMongo({
    url: config.MONGO_URL,
    logger,
    appName: 'parley-webhooks',
    metrics,
  });
  const store = createWebhookStore(mongo.db);
  await store.ensureIndexes();
  const amqp = createAmqpConnection({
    url: config.AMQP_URL,
    connectionName: `webhooks-${hostname()}-${process.pid}`,
    logger,
  });
  const dispatcher = createWebhookDispatcher({
    store,
    delivery: { timeoutMs: config.WEBHOOK_TIMEOUT_MS, allowPrivate: config.WEBHOOK_ALLOW_PRIVATE },
    retry: {
      baseMs: config.WEBHOOK_RETRY_BASE_MS,
      maxMs: config.WEBHOOK_RETRY_MAX_MS,
      giveUpMs: config.WEBHOOK_GIVE_UP_MS,
    },
    logger,
    onAttempt: (outcome) => attempts.inc({ outcome: outcome.delivered ? 'delivered' : 'failed' }),
  });
  await dispatcher.resumeAll();
  const consumer = createEventConsumer<EventEnvelope>(amqp, {
    exchange: config.EVENTS_EXCHANGE,
    queue: {
      name: config.WEBHOOK_QUEUE,
      arguments: { 'x-queue-type': 'quorum', 'x-single-active-consumer': true },
    },
    // any envelope: types it does not deliver are acked and skipped
    schema: eventEnvelopeSchema,
    logger,
    // handlers run side by side (up to the prefetch): the dispatcher stores the events
    // taken together in one batch, in the order taken, and holds them while MongoDB is
    // down (the consumer stops being given more once the prefetch is unacked)
    ordered: false,
    async handle(envelope) {
      const parsed = parleyEventSchema.safeParse(envelope);
      if (!parsed.success) return;
      await dispatcher.accept(parsed.data);
    },
  });

  const app = finishHttpApp(
    createHttpApp({
      logger,
      metrics,
      corsOrigins: resolveCorsOrigins(config.CORS_ORIGINS, config.NODE_ENV),
      readiness: [createMongoReadinessCheck(mongo), createAmqpReadinessCheck(amqp)],
    }),
  );
  await serveProcess({
    name: 'webhook worker',
    config,
    logger,
    app,
    metrics,
    logFields: { queue: config.WEBHOOK_QUEUE },
    shutdownSteps: ({ server, metricsServer }) => [
      { name: 'http', close: () => server.close() },
      { name: 'metrics', close: () => metricsServer.close() },
      // no new events; what was taken but not acked comes back to the next consumer
      { name: 'consumer', close: () => consumer.close() },
      { name: 'deliveries under way', close: () => dispatcher.stop() },
      { name: 'rabbitmq', close: () => amqp.close() },
      { name: 'mongodb', close: () => mongo.close() },
    ],
  });
}

main().catch((err: unknown) => {
  process.stderr.write(
    `${JSON.stringify({ level: 'fatal', name: 'webhooks', msg: 'webhook worker failed to start', err: String(err) })}\n`,
  );
  process.exit(1);
});
