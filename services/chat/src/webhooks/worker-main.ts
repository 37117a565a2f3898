// The webhook delivery worker process: consumes chat.events through its own durable
// quorum queue, turns each room event into deliveries owed to that room's webhooks,
// and delivers them (webhook-dispatcher.ts). It serves only /healthz and /readyz.
// On SIGTERM it stops taking events, lets the attempts under way finish and record
// their outcome, then closes, so a restart neither loses nor repeats a delivery.
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
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
  isDependencyFailure,
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
  let stopping = false;
  const consumer = createEventConsumer<EventEnvelope>(amqp, {
    exchange: config.EVENTS_EXCHANGE,
    queue: {
      name: config.WEBHOOK_QUEUE,
      arguments: { 'x-queue-type': 'quorum', 'x-single-active-consumer': true },
    },
    // any envelope: types it does not deliver are acked and skipped
    schema: eventEnvelopeSchema,
    logger,
    async handle(envelope) {
      const parsed = parleyEventSchema.safeParse(envelope);
      if (!parsed.success) return;
      // MongoDB down is not the event's fault: hold it (and the queue behind it, which
      // keeps them) until it can be stored, instead of dead-lettering it after one retry
      for (let attempt = 1; ; attempt++) {
        try {
          await dispatcher.accept(parsed.data);
          return;
        } catch (err) {
          if (!isDependencyFailure(err) || stopping) throw err;
          logger.warn({ err, attempt }, 'could not store deliveries; retrying');
          await sleep(Math.min(5_000, 200 * 2 ** Math.min(attempt, 5)));
        }
      }
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
      {
        name: 'consumer',
        close: () => {
          stopping = true;
          return consumer.close();
        },
      },
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
