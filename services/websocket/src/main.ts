// Process entry: reads the config once, connects to RabbitMQ, listens, and on SIGTERM
// shuts down in order: stop accepting, close sockets with 1001 (clients reconnect to
// another instance), then the consumer and publisher, then the AMQP connection.
import {
  announceListening,
  createAmqpConnection,
  createLogger,
  createMetrics,
  createShutdown,
  installSignalHandlers,
  loadConfig,
  resolveCorsOrigins,
  startJwksVerifier,
  httpServerTimeouts,
  startHttpServer,
  startMetricsServer,
} from '@parley/server-kit';
import { hostname } from 'node:os';
import { createApp } from './app';
import { createChatClient } from './chat-client';
import { websocketEnvSchema } from './config';

async function main(): Promise<void> {
  const config = loadConfig(websocketEnvSchema);
  // the kit's cost counters (logger, AMQP) live on the app's registry
  const metrics = createMetrics({ service: 'websocket' });
  const logger = createLogger({
    name: 'websocket',
    level: config.LOG_LEVEL,
    metrics,
    flushIntervalMs: config.LOG_FLUSH_INTERVAL_MS,
    base: { instanceId: config.INSTANCE_ID },
  });

  const amqp = createAmqpConnection({
    url: config.AMQP_URL,
    connectionName: `websocket-${hostname()}-${process.pid}`,
    logger,
    metrics,
  });
  // its keys are fetched in the background from here on, before the first request
  const verifier = startJwksVerifier(config, logger);
  const app = createApp({
    config,
    logger,
    verifier,
    chat: createChatClient({ baseUrl: config.CHAT_URL, timeoutMs: config.CHAT_TIMEOUT_MS }),
    amqp,
    metrics,
    corsOrigins: resolveCorsOrigins(config.CORS_ORIGINS, config.NODE_ENV),
  });

  const server = await startHttpServer(app.http, {
    port: config.PORT,
    host: config.HOST,
    ...httpServerTimeouts(config),
  });
  server.server.on('upgrade', app.handleUpgrade);
  await app.start();
  const metricsServer = await startMetricsServer(app.metrics, {
    port: config.METRICS_PORT,
    host: config.METRICS_HOST,
  });
  logger.info({ url: server.url, metricsUrl: metricsServer.url }, 'websocket service listening');
  announceListening(server.url, metricsServer.url);

  let serverClosed: Promise<void> | undefined;
  const shutdown = createShutdown({
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    steps: [
      {
        name: 'stop accepting',
        // server.close() resolves only when every connection is gone, sockets included:
        // start it here, await it after the sockets are closed.
        close: async () => {
          serverClosed = server.close();
        },
      },
      { name: 'close sockets (1001)', close: () => app.closeSockets() },
      { name: 'http server', close: () => serverClosed ?? server.close() },
      { name: 'metrics', close: () => metricsServer.close() },
      { name: 'consumer and publisher', close: () => app.close() },
      { name: 'rabbitmq', close: () => amqp.close() },
    ],
  });
  installSignalHandlers(shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `websocket service failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
