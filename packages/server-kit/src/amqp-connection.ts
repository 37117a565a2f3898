// One RabbitMQ connection per process that reconnects by itself
// (amqp-connection-manager); publishers and consumers re-declare what they need on
// every reconnect. The connection_name client property makes the connection easy to
// find in the management UI and `rabbitmqctl list_connections`.
//
// On a RabbitMQ cluster the URL names several nodes, comma-separated (docs/design.md
// §14): amqp-connection-manager connects to the first and moves to the next one in the
// list on every failed attempt or lost connection, so losing a node costs one
// reconnect. Nothing else changes: exchanges are cluster-wide and every setup re-runs.
import { once } from 'node:events';
import amqp, { type AmqpConnectionManager } from 'amqp-connection-manager';
import { splitUrlList } from './config';
import { DependencyUnavailableError } from './errors';
import type { Logger } from './logger';
import type { ReadinessCheck } from './readiness';

export interface AmqpConnectionOptions {
  /** One URL, or a cluster's nodes as comma-separated URLs (AMQP_URL). */
  url: string;
  /** Shown by the broker as the connection's name, e.g. `chat-<hostname>-<pid>`. */
  connectionName: string;
  logger: Logger;
  /** Default 5 s: a dead broker is noticed within about two intervals. */
  heartbeatIntervalInSeconds?: number;
  /** Wait between reconnect attempts; default 1 s. */
  reconnectTimeInSeconds?: number;
}

export interface AmqpConnection {
  readonly connectionName: string;
  /** The underlying amqp-connection-manager, for creating channels. */
  readonly manager: AmqpConnectionManager;
  /** The logger of this connection, for its channels. */
  readonly logger: Logger;
  isConnected(): boolean;
  /** Resolves once connected; rejects with DependencyUnavailableError after `timeoutMs`. */
  waitForConnect(timeoutMs?: number): Promise<void>;
  /** Idempotent. Close publishers and consumers first. */
  close(): Promise<void>;
}

export function createAmqpConnection(options: AmqpConnectionOptions): AmqpConnection {
  const log = options.logger.child({ component: 'amqp', connectionName: options.connectionName });
  const urls = splitUrlList(options.url);
  const manager = amqp.connect(urls, {
    heartbeatIntervalInSeconds: options.heartbeatIntervalInSeconds ?? 5,
    reconnectTimeInSeconds: options.reconnectTimeInSeconds ?? 1,
    connectionOptions: {
      clientProperties: { connection_name: options.connectionName },
      // amqplib writes a message over 2 KiB (a room's event names every member) as
      // several frames; with Nagle on, the last waits for the broker's delayed ACK:
      // +40 ms per such publish, measured in the room fan-out benchmark
      noDelay: true,
    },
  });
  let everConnected = false;
  manager.on('connect', ({ url }: { url: unknown }) => {
    const node = urls.length > 1 ? { node: nodeOf(url) } : {};
    log.info(node, everConnected ? 'RabbitMQ reconnected' : 'RabbitMQ connected');
    everConnected = true;
  });
  manager.on('disconnect', ({ err }: { err?: Error }) => {
    log.warn({ err }, 'RabbitMQ disconnected');
  });
  manager.on('connectFailed', ({ err }: { err?: Error }) => {
    log.warn({ err }, 'RabbitMQ connection attempt failed');
  });
  manager.on('blocked', ({ reason }: { reason?: string }) => {
    log.warn({ reason }, 'RabbitMQ blocked the connection');
  });
  manager.on('unblocked', () => log.info('RabbitMQ unblocked the connection'));

  let closing: Promise<void> | undefined;
  return {
    connectionName: options.connectionName,
    manager,
    logger: log,
    isConnected: () => manager.isConnected(),
    async waitForConnect(timeoutMs = 10_000) {
      if (manager.isConnected()) return;
      try {
        await once(manager, 'connect', { signal: AbortSignal.timeout(timeoutMs) });
      } catch (err) {
        throw new DependencyUnavailableError('RabbitMQ is not reachable', err);
      }
    },
    close() {
      closing ??= manager.close().then(() => log.info('RabbitMQ connection closed'));
      return closing;
    },
  };
}

/** host:port of the URL connected to, never its credentials. */
function nodeOf(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

export function createAmqpReadinessCheck(
  connection: Pick<AmqpConnection, 'isConnected'>,
  name = 'rabbitmq',
): ReadinessCheck {
  return {
    name,
    check: async () => {
      if (!connection.isConnected())
        throw new DependencyUnavailableError('RabbitMQ is not connected');
    },
  };
}
