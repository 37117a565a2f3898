// A small typed client for Toxiproxy's HTTP API, and a starter for the toxiproxy-dev
// server (tools/toxiproxy). The fault tests route a service's MONGO_URL / AMQP_URL
// through a proxy link and then cut, stall or slow that link: the drivers see real
// TCP resets and silences, nothing is mocked.
import { startToolProcess } from './tool-process';

export interface ToxicSpec {
  name: string;
  type: 'latency' | 'timeout' | 'bandwidth' | 'reset_peer' | 'slow_close' | 'limit_data';
  /** downstream: server → client; upstream: client → server. */
  stream: 'upstream' | 'downstream';
  toxicity?: number;
  attributes: Record<string, number>;
}

export interface ProxyLink {
  name: string;
  /** `127.0.0.1:<port>`: what the service connects to instead of the upstream. */
  listen: string;
  upstream: string;
  /**
   * Cuts the link: the proxy stops listening and closes every open connection, so
   * clients see a reset now and "connection refused" until restore().
   */
  cut(): Promise<void>;
  /** Listens again on the same port (undoes cut()). */
  restore(): Promise<void>;
  /**
   * Stalls the link without closing it: no byte gets through either way, like a
   * network partition. Bytes are held, not dropped, as TCP would retransmit them, and
   * flow again on clearToxics(). (Toxiproxy's `timeout` toxic would drop them, which
   * corrupts the byte stream of a connection that survives; here a latency toxic of
   * an hour holds them instead.)
   */
  stall(): Promise<void>;
  /** Adds `ms` (± jitter) to every chunk in both directions. */
  latency(ms: number, jitterMs?: number): Promise<void>;
  /** Removes every toxic (stall, latency); the link is healthy again if not cut. */
  clearToxics(): Promise<void>;
  remove(): Promise<void>;
}

export interface ToxiproxyClient {
  apiUrl: string;
  createProxy(options: { name: string; upstream: string; listen?: string }): Promise<ProxyLink>;
  /** Enables every proxy and removes every toxic. */
  reset(): Promise<void>;
}

export interface ToxiproxyServer {
  apiUrl: string;
  client: ToxiproxyClient;
  /** Stops the server and with it every proxy. Idempotent. */
  stop(): Promise<void>;
}

export class ToxiproxyApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ToxiproxyApiError';
  }
}

export function createToxiproxyClient(apiUrl: string): ToxiproxyClient {
  async function api(method: string, route: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${apiUrl}${route}`, {
      method,
      signal: AbortSignal.timeout(10_000),
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) {
      throw new ToxiproxyApiError(
        response.status,
        `toxiproxy ${method} ${route}: ${response.status} ${text}`,
      );
    }
    return text ? (JSON.parse(text) as unknown) : undefined;
  }

  function link(name: string, listen: string, upstream: string): ProxyLink {
    const route = `/proxies/${encodeURIComponent(name)}`;
    const both = async (spec: Omit<ToxicSpec, 'stream' | 'name'> & { name: string }) => {
      for (const stream of ['upstream', 'downstream'] as const) {
        await api('POST', `${route}/toxics`, { ...spec, name: `${spec.name}_${stream}`, stream });
      }
    };
    return {
      name,
      listen,
      upstream,
      cut: async () => void (await api('POST', route, { enabled: false })),
      restore: async () => void (await api('POST', route, { enabled: true })),
      stall: () => both({ name: 'stall', type: 'latency', attributes: { latency: 3_600_000 } }),
      latency: (ms, jitterMs = 0) =>
        both({ name: 'latency', type: 'latency', attributes: { latency: ms, jitter: jitterMs } }),
      async clearToxics() {
        const toxics = (await api('GET', `${route}/toxics`)) as { name: string }[];
        for (const toxic of toxics) {
          await api('DELETE', `${route}/toxics/${encodeURIComponent(toxic.name)}`);
        }
      },
      remove: async () => void (await api('DELETE', route)),
    };
  }

  return {
    apiUrl,
    async createProxy({ name, upstream, listen = '127.0.0.1:0' }) {
      const created = (await api('POST', '/proxies', {
        name,
        upstream,
        listen,
        enabled: true,
      })) as {
        listen: string;
      };
      return link(name, created.listen, upstream);
    },
    reset: async () => void (await api('POST', '/reset')),
  };
}

/**
 * `url` (mongodb://, amqp://, http://…) with its host:port replaced by the proxy's,
 * keeping credentials, path and query.
 */
export function viaProxy(url: string, proxy: Pick<ProxyLink, 'listen'>): string {
  const parsed = new URL(url);
  parsed.host = proxy.listen;
  return parsed.toString();
}

/** host:port of a URL, with the scheme's default port, as a proxy upstream. */
export function upstreamOf(url: string): string {
  const parsed = new URL(url);
  const defaults: Record<string, string> = {
    'mongodb:': '27017',
    'amqp:': '5672',
    'amqps:': '5671',
    'http:': '80',
    'https:': '443',
  };
  return `${parsed.hostname}:${parsed.port || defaults[parsed.protocol] || ''}`;
}

/**
 * Starts a private toxiproxy-dev (building it first if its sources changed; the first
 * build downloads Go modules) and resolves once its API answers. It stops with
 * stop(), and by itself if this process dies.
 */
export async function startToxiproxy({ readyTimeoutMs = 180_000 } = {}): Promise<ToxiproxyServer> {
  const server = await startToolProcess({
    tool: 'toxiproxy',
    args: ['--listen', '127.0.0.1:0'],
    readyLine: /^ready (\S+)$/,
    readyTimeoutMs,
  });
  return { apiUrl: server.url, client: createToxiproxyClient(server.url), stop: server.stop };
}
