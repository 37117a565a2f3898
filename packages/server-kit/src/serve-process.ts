// The end of every process main.ts: listen on PORT, then on METRICS_PORT, log
// "<name> listening", tell the launcher where (announceListening), and run one ordered
// shutdown on SIGTERM/SIGINT. The order of that shutdown is the service's own promise
// (what stops taking work first, what drains, what closes last), so the service gives
// the whole list, the two listeners included, and it runs exactly as given.
import type { RequestListener } from 'node:http';
import { httpServerTimeouts } from './config';
import { announceListening, startHttpServer, type RunningHttpServer } from './http-server';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import { startMetricsServer } from './metrics-server';
import {
  createShutdown,
  installSignalHandlers,
  type Shutdown,
  type ShutdownStep,
  type SignalTarget,
} from './shutdown';

/** The settings it reads: commonEnv(), metricsEnv() and the service's PORT. */
export interface ServeProcessConfig {
  PORT: number;
  HOST: string;
  METRICS_PORT: number;
  METRICS_HOST: string;
  SHUTDOWN_TIMEOUT_MS: number;
  HTTP_HEADERS_TIMEOUT_MS: number;
  HTTP_REQUEST_TIMEOUT_MS: number;
  HTTP_KEEP_ALIVE_TIMEOUT_MS: number;
}

export interface ProcessListeners {
  /** The public listener (PORT). */
  server: RunningHttpServer;
  /** The GET /metrics listener (METRICS_PORT). */
  metricsServer: RunningHttpServer;
}

export interface ServeProcessOptions {
  /** Names the process in its "<name> listening" log line. */
  name: string;
  config: ServeProcessConfig;
  logger: Logger;
  app: RequestListener;
  /** What the metrics listener serves. */
  metrics: Pick<Metrics, 'registry'>;
  /** More fields for the "listening" log line. */
  logFields?: Record<string, unknown>;
  /**
   * Runs once the public listener listens, before the metrics listener starts and the
   * process is announced (websocket: its upgrade handler and consumer).
   */
  onListening?(server: RunningHttpServer): Promise<void> | void;
  /** The whole shutdown, in order, both listeners' steps included. */
  shutdownSteps(listeners: ProcessListeners): ShutdownStep[];
  /** Injected for tests; default announceListening (a jest worker has a channel of its own). */
  announce?: (url: string, metricsUrl: string) => void;
  /** Injected for tests; default process. */
  signals?: SignalTarget;
}

export interface ServedProcess extends ProcessListeners {
  shutdown: Shutdown;
}

export async function serveProcess(options: ServeProcessOptions): Promise<ServedProcess> {
  const { config, logger } = options;
  const server = await startHttpServer(options.app, {
    port: config.PORT,
    host: config.HOST,
    ...httpServerTimeouts(config),
  });
  await options.onListening?.(server);
  const metricsServer = await startMetricsServer(options.metrics, {
    port: config.METRICS_PORT,
    host: config.METRICS_HOST,
  });
  logger.info(
    { url: server.url, metricsUrl: metricsServer.url, ...options.logFields },
    `${options.name} listening`,
  );
  (options.announce ?? announceListening)(server.url, metricsServer.url);

  const shutdown = createShutdown({
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    steps: options.shutdownSteps({ server, metricsServer }),
  });
  installSignalHandlers(shutdown, options.signals);
  return { server, metricsServer, shutdown };
}
