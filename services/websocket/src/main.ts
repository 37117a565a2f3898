// Process entry: reads the config once, connects to RabbitMQ, listens, and on SIGTERM
// shuts down in order: stop accepting, close sockets with 1001 (clients reconnect to
// another instance), then the consumer and publisher, then the AMQP connection.
import {
  createAmqpConnection,
  createLogger,
  createMetrics,
  loadConfig,
  resolveCorsOrigins,
  serveProcess,
  startJwksVerifier,
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

  await serveProcess({
    name: 'websocket service',
    config,
    logger,
    app: app.http,
    metrics: app.metrics,
    async onListening(server) {
      server.server.on('upgrade', app.handleUpgrade);
      await app.start();
    },
    shutdownSteps: ({ server, metricsServer }) => {
      let serverClosed: Promise<void> | undefined;
      return [
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
      ];
    },
  });
}

main().catch((err: unknown) => {
  process.stderr.write(
    `websocket service failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
