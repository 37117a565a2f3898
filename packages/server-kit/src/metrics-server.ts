// Prometheus scrapes on their own listener (docs/design.md §9.5): METRICS_PORT, bound to
// loopback unless METRICS_HOST says otherwise, so the public port never shows who is
// connected, how busy the service is or which routes fail. Nothing but GET /metrics
// is served here; the public app answers 404 for /metrics.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startHttpServer, type RunningHttpServer } from './http-server';
import type { Metrics } from './metrics';

export interface MetricsServerOptions {
  port: number;
  /** Default 127.0.0.1: reachable by a scraper on the same host or network namespace only. */
  host?: string;
}

export const METRICS_PATH = '/metrics';

/** The request listener of the metrics port: GET /metrics, 404 for anything else. */
export function createMetricsListener(
  metrics: Pick<Metrics, 'registry'>,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== METRICS_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('error\n');
      },
    );
  };
}

/** Starts the metrics listener; close() it in the service's shutdown. */
export function startMetricsServer(
  metrics: Pick<Metrics, 'registry'>,
  options: MetricsServerOptions,
): Promise<RunningHttpServer> {
  return startHttpServer(createMetricsListener(metrics), {
    port: options.port,
    host: options.host ?? '127.0.0.1',
    drainTimeoutMs: 1_000,
  });
}
