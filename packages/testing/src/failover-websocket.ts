// Client-side failover between websocket instances without touching the client: a
// WebSocket constructor (the realtime connection's `webSocket` option) that sends each
// new socket to an instance picked from a list, keeping the path and `?token=` the
// client built. The first socket goes to `urls[start]`; every later one (a reconnect,
// so the previous instance failed or went away) moves on to the next in the list.
import type { WebSocketConstructor } from '@parley/client';
import WebSocket from 'ws';

export interface FailoverWebSocket {
  readonly WebSocket: WebSocketConstructor;
  /** The instance (http or ws base URL) each socket was opened to, in order. */
  readonly connections: readonly string[];
}

export function failoverWebSocket(
  urls: readonly string[],
  { start = 0 }: { start?: number } = {},
): FailoverWebSocket {
  if (urls.length === 0) throw new Error('failoverWebSocket needs at least one URL');
  const connections: string[] = [];
  let next = start;
  class RoutedWebSocket extends WebSocket {
    constructor(url: string) {
      const base = urls[next % urls.length] as string;
      next += 1;
      connections.push(base);
      const target = new URL(url);
      target.host = new URL(base).host;
      super(target.toString());
    }
  }
  return { WebSocket: RoutedWebSocket as unknown as WebSocketConstructor, connections };
}
