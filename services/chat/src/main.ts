// The chat process: read config once, connect MongoDB (required at start) and
// RabbitMQ (reconnects by itself; the outbox covers it being down), ensure indexes,
// start the outbox relay, listen, and on SIGTERM close in order.
import { hostname } from 'node:os';
import type { ParleyEvent } from '@parley/contracts';
import {
  connectMongo,
  createAmqpConnection,
  createEventPublisher,
  createLogger,
  createMetrics,
  createMongoReadinessCheck,
  createPeriodicTask,
  resolveCorsOrigins,
  serveProcess,
  startJwksVerifier,
} from '@parley/server-kit';
import { createApp } from './http/app';
import { createChatMetrics } from './chat-metrics';
import { createChatServices, type SendHooks } from './chat-services';
import { loadChatConfig, userLimitsOf, type ChatEnv } from './config';
import { createOutboxRelay } from './outbox/outbox-relay';
import { createUserDirectory } from './user-directory';
import { sweepAttachments } from './attachments/attachment-sweep';

async function main(): Promise<void> {
  const config = loadChatConfig();
  const metrics = createMetrics({ service: 'chat' });
  const logger = createLogger({
    name: 'chat',
    level: config.LOG_LEVEL,
    metrics,
    flushIntervalMs: config.LOG_FLUSH_INTERVAL_MS,
  });

  const mongo = await connectMongo({
    url: config.MONGO_URL,
    logger,
    metrics,
    appName: 'parley-chat',
  });
  const amqp = createAmqpConnection({
    url: config.AMQP_URL,
    connectionName: `chat-${hostname()}-${process.pid}`,
    logger,
    metrics,
  });
  const publisher = createEventPublisher<ParleyEvent>(amqp, {
    exchange: config.EVENTS_EXCHANGE,
    publishTimeoutMs: config.PUBLISH_TIMEOUT_MS,
  });
  const chatMetrics = createChatMetrics(metrics);
  const services = createChatServices({
    db: mongo.db,
    publisher,
    users: createUserDirectory({
      authUrl: config.AUTH_URL,
      timeoutMs: config.AUTH_TIMEOUT_MS,
      ttlMs: config.USER_CACHE_TTL_MS,
      notFoundTtlMs: config.USER_CACHE_NOT_FOUND_TTL_MS,
      maxEntries: config.USER_CACHE_MAX_ENTRIES,
    }),
    logger,
    metrics: chatMetrics,
    isBrokerConnected: () => amqp.isConnected(),
    outboxGraceMs: config.OUTBOX_GRACE_MS,
    outboxBatchSize: config.OUTBOX_BATCH_SIZE,
    conversationCacheTtlMs: config.CONVERSATION_CACHE_TTL_MS,
    activityWriteDelayMs: config.ACTIVITY_WRITE_DELAY_MS,
    relayCheckpointIntervalMs: config.RELAY_CHECKPOINT_INTERVAL_MS,
    relayLeaseMs: config.RELAY_LEASE_MS,
    limits: userLimitsOf(config),
    rateLimitSyncIntervalMs: config.RATE_LIMIT_SYNC_INTERVAL_MS,
    roomMaxMembers: config.ROOM_MAX_MEMBERS,
    roomMembersInlineMax: config.ROOM_MEMBERS_INLINE_MAX,
    sendLimits: {
      maxPending: config.SEND_MAX_PENDING,
      maxActive: config.SEND_MAX_ACTIVE,
      maxQueuedPerConversation: config.SEND_CONVERSATION_QUEUE_MAX,
      minTimeLeftMs: config.SEND_MIN_TIME_LEFT_MS,
    },
    sendHooks: testSendHooks(config),
    attachmentSettings: {
      maxBytes: config.ATTACHMENT_MAX_BYTES,
      dailyQuotaBytes: config.ATTACHMENT_DAILY_QUOTA_BYTES,
    },
    webhookAllowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
  });
  await services.ensureIndexes();

  const relay = createOutboxRelay({
    outbox: services.outbox,
    intervalMs: config.OUTBOX_RELAY_INTERVAL_MS,
    logger,
    metrics: chatMetrics,
  });
  relay.start();
  // before the first send: this instance's checkpoint exists before its first message
  await services.messageRelay.start();
  services.rateLimiter.start();
  const attachmentSweep = createPeriodicTask({
    name: 'attachment sweep',
    intervalMs: config.ATTACHMENT_SWEEP_INTERVAL_MS,
    run: async () => {
      await sweepAttachments(services, { logger });
    },
    logger,
  });
  attachmentSweep.start();

  // its keys are fetched in the background from here on, before the first request
  const verifier = startJwksVerifier(config, logger);
  const app = createApp({
    services,
    verifier,
    logger,
    metrics,
    corsOrigins: resolveCorsOrigins(config.CORS_ORIGINS, config.NODE_ENV),
    bodyLimit: config.BODY_LIMIT,
    requestDeadlineMs: config.REQUEST_DEADLINE_MS,
    readiness: [createMongoReadinessCheck(mongo)],
  });
  await serveProcess({
    name: 'chat',
    config,
    logger,
    app,
    metrics,
    logFields: { exchange: config.EVENTS_EXCHANGE },
    shutdownSteps: ({ server, metricsServer }) => [
      { name: 'http', close: () => server.close() },
      { name: 'metrics', close: () => metricsServer.close() },
      { name: 'outbox relay', close: () => relay.stop() },
      // waits for the new messages' confirms; what is still open is adopted by another instance
      { name: 'message relay', close: () => services.messageRelay.stop() },
      { name: 'conversation activity', close: () => services.conversations.flushActivity() },
      { name: 'rate limit counts', close: () => services.rateLimiter.stop() },
      { name: 'attachment sweep', close: () => attachmentSweep.stop() },
      // what is still unconfirmed stays in the outbox for the next instance's relay
      { name: 'publishes in flight', close: () => services.outbox.drain() },
      { name: 'publisher', close: () => publisher.close() },
      { name: 'rabbitmq', close: () => amqp.close() },
      { name: 'mongodb', close: () => mongo.close() },
    ],
  });
}

// The crash between "stored" and "published" that e2e/faults/test/chat-crash.test.ts
// needs, at a precise point; never active outside NODE_ENV=test.
function testSendHooks(config: ChatEnv): SendHooks {
  const marker = config.CHAT_TEST_CRASH_AFTER_STORE;
  if (config.NODE_ENV !== 'test' || marker === undefined) return {};
  return {
    afterStore(message) {
      if (message.text.includes(marker)) process.kill(process.pid, 'SIGKILL');
    },
  };
}

main().catch((err: unknown) => {
  // the logger may not exist yet (bad config): write one JSON line like pino would
  process.stderr.write(
    `${JSON.stringify({ level: 'fatal', name: 'chat', msg: 'chat failed to start', err: String(err) })}\n`,
  );
  process.exit(1);
});
