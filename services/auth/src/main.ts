// The auth process: config → logger → MongoDB → indexes → signing keys → RabbitMQ
// (reconnects by itself; readiness does not depend on it, the session_revoked outbox
// covers it being down) → the relay of that outbox → HTTP on PORT (5001) and
// /metrics on METRICS_PORT, and one ordered shutdown on SIGTERM/SIGINT.
import { parleyEventSchema, type ParleyEvent } from '@parley/contracts';
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
} from '@parley/server-kit';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { createApp, createAuthServices } from './app';
import { authSettingsFrom, loadAuthConfig, type AuthEnv } from './config';
import { ensureAuthIndexes } from './ensure-indexes';
import { createPasswordHasher } from './password-hasher';
import { loadConfiguredSigningKey, loadStoredSigningKeys, type SigningKeys } from './signing-keys';
import type { Db } from 'mongodb';

async function loadSigningKeys(config: AuthEnv, db: Db): Promise<SigningKeys> {
  if (config.JWT_PRIVATE_KEY !== undefined) {
    return loadConfiguredSigningKey(config.JWT_PRIVATE_KEY, config.JWT_ALGORITHM);
  }
  if (config.JWT_PRIVATE_KEY_FILE !== undefined) {
    let pem: string;
    try {
      pem = await readFile(config.JWT_PRIVATE_KEY_FILE, 'utf8');
    } catch (err) {
      throw new Error(
        `JWT_PRIVATE_KEY_FILE cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    return loadConfiguredSigningKey(pem, config.JWT_ALGORITHM);
  }
  return loadStoredSigningKeys(db, { alg: config.JWT_ALGORITHM });
}

async function main(): Promise<void> {
  const config = loadAuthConfig();
  const metrics = createMetrics({ service: 'auth' });
  const logger = createLogger({
    name: 'auth',
    level: config.LOG_LEVEL,
    metrics,
    flushIntervalMs: config.LOG_FLUSH_INTERVAL_MS,
  });
  const settings = authSettingsFrom(config);

  const mongo = await connectMongo({
    url: config.MONGO_URL,
    logger,
    metrics,
    appName: 'parley-auth',
  });
  await ensureAuthIndexes(mongo.db);
  const signingKeys = await loadSigningKeys(config, mongo.db);
  if (signingKeys.active.alg !== config.JWT_ALGORITHM) {
    logger.warn(
      { stored: signingKeys.active.alg, configured: config.JWT_ALGORITHM },
      'the stored development signing key keeps its algorithm; drop signing_keys to change it',
    );
  }
  logger.info(
    {
      kid: signingKeys.active.kid,
      alg: signingKeys.active.alg,
      source: config.JWT_PRIVATE_KEY || config.JWT_PRIVATE_KEY_FILE ? 'config' : 'mongodb',
    },
    'signing key loaded',
  );
  // The first unknown-user login would otherwise also pay for building the dummy hash.
  await createPasswordHasher({ cost: settings.bcryptCost }).verifyDummy('');

  const amqp = createAmqpConnection({
    url: config.AMQP_URL,
    connectionName: `auth-${hostname()}-${process.pid}`,
    logger,
    metrics,
  });
  const publisher = createEventPublisher<ParleyEvent>(amqp, {
    exchange: config.EVENTS_EXCHANGE,
    publishTimeoutMs: config.PUBLISH_TIMEOUT_MS,
    schema: parleyEventSchema,
  });
  const services = createAuthServices({
    db: mongo.db,
    signingKeys,
    settings,
    publisher,
    metrics,
    logger,
  });
  const relay = createPeriodicTask({
    name: 'session-revoked-relay',
    intervalMs: settings.outbox.intervalMs,
    logger,
    run: async () => {
      if (amqp.isConnected()) await services.revocations.relayPending();
    },
  });
  relay.start();

  const app = createApp({
    logger,
    metrics,
    services,
    corsOrigins: resolveCorsOrigins(config.CORS_ORIGINS, config.NODE_ENV),
    bodyLimit: config.BODY_LIMIT,
    requestDeadlineMs: config.REQUEST_DEADLINE_MS,
    trustProxy: config.TRUST_PROXY,
    readiness: [createMongoReadinessCheck(mongo)],
  });
  await serveProcess({
    name: 'auth',
    config,
    logger,
    app,
    metrics,
    shutdownSteps: ({ server, metricsServer }) => [
      { name: 'http', close: () => server.close() },
      { name: 'metrics', close: () => metricsServer.close() },
      { name: 'session-revoked relay', close: () => relay.stop() },
      // what is still unconfirmed stays stored for the next instance's relay
      { name: 'publishes in flight', close: () => services.revocations.drain() },
      { name: 'publisher', close: () => publisher.close() },
      { name: 'rabbitmq', close: () => amqp.close() },
      { name: 'mongo', close: () => mongo.close() },
    ],
  });
}

main().catch((err: unknown) => {
  // The logger may not exist yet (bad config): plain stderr, then a non-zero exit.
  process.stderr.write(
    `auth failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
