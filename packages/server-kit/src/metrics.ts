// Prometheus metrics on a registry owned by one service instance (never prom-client's
// global one, so two apps in one test process do not collide), with the HTTP request
// histogram labelled by the matched route pattern to keep label cardinality bounded.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { createCostMetrics, type CostMetrics } from './cost-metrics';

export interface MetricsOptions {
  /** Added as the `service` label to every metric. */
  service: string;
  /** Collect process metrics (CPU, memory, event loop lag); default true. */
  defaultMetrics?: boolean;
}

export interface Metrics {
  readonly registry: Registry;
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  /** The round-trip counters (cost-metrics.ts): give `metrics` to the logger, Mongo and AMQP. */
  readonly cost: CostMetrics;
  /** Express middleware observing every request into `httpRequestDuration`. */
  httpMiddleware(): RequestHandler;
  counter<L extends string>(config: MetricConfig<L>): Counter<L>;
  gauge<L extends string>(config: MetricConfig<L>): Gauge<L>;
  histogram<L extends string>(config: MetricConfig<L> & { buckets?: number[] }): Histogram<L>;
}

export interface MetricConfig<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

/** Label for requests that matched no route (404s, preflights): never the raw URL. */
export const UNMATCHED_ROUTE = '(unmatched)';

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  const httpRequestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds, by method, matched route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });

  return {
    registry,
    httpRequestDuration,
    cost: createCostMetrics(registry),
    httpMiddleware() {
      return (req: Request, res: Response, next: NextFunction) => {
        const stop = httpRequestDuration.startTimer();
        res.once('finish', () => {
          stop({ method: req.method, route: routePattern(req), status: String(res.statusCode) });
        });
        next();
      };
    },
    counter: (config) =>
      new Counter({ ...config, labelNames: config.labelNames ?? [], registers: [registry] }),
    gauge: (config) =>
      new Gauge({ ...config, labelNames: config.labelNames ?? [], registers: [registry] }),
    histogram: (config) =>
      new Histogram({ ...config, labelNames: config.labelNames ?? [], registers: [registry] }),
  };
}

/** The matched express route (`/chat/messages/:id`), including any router mount path. */
export function routePattern(req: Request): string {
  const route: unknown = req.route;
  if (!route || typeof route !== 'object' || !('path' in route)) return UNMATCHED_ROUTE;
  const path = route.path;
  const pattern = typeof path === 'string' ? path : String(path);
  return `${req.baseUrl}${pattern}` || '/';
}
