// Opens a WebSocket the same way in browsers and in Node. Browsers use their own
// WebSocket; in Node the `ws` package is loaded on first use (so a browser bundle
// never needs it), because it also tells an HTTP 401 at the upgrade apart from a
// network failure — the standard API reports both as a bare 1006.

/** The part of the standard WebSocket API used here (browsers' WebSocket and `ws` both fit). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface CloseInfo {
  code: number;
  reason: string;
  /** The HTTP status of a refused upgrade (401: token refused), when the implementation reports it. */
  upgradeStatus?: number;
}

export interface TransportHandlers {
  open(): void;
  message(text: string): void;
  close(info: CloseInfo): void;
}

export interface Transport {
  /** Sends when open; false otherwise. */
  send(text: string): boolean;
  close(code: number, reason: string): void;
  /** Drops the connection without a closing handshake (a dead peer never answers one). */
  terminate(): void;
}

const OPEN = 1;

interface NodeWsExtras {
  on(event: 'unexpected-response', listener: (req: unknown, res: NodeResponse) => void): unknown;
  terminate(): void;
}
interface NodeResponse {
  statusCode?: number;
  resume(): void;
}

function runsOnNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

async function defaultImplementation(): Promise<WebSocketConstructor> {
  const browser = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (browser !== undefined && !runsOnNode()) return browser;
  const ws = await import('ws');
  return ws.default as unknown as WebSocketConstructor;
}

function hasNodeExtras(socket: WebSocketLike): socket is WebSocketLike & NodeWsExtras {
  const candidate = socket as Partial<NodeWsExtras>;
  return typeof candidate.on === 'function' && typeof candidate.terminate === 'function';
}

export async function openTransport(
  url: string,
  handlers: TransportHandlers,
  implementation?: WebSocketConstructor,
): Promise<Transport> {
  const Impl = implementation ?? (await defaultImplementation());
  const socket = new Impl(url);
  let upgradeStatus: number | undefined;
  if (hasNodeExtras(socket)) {
    socket.on('unexpected-response', (_req, res) => {
      upgradeStatus = res.statusCode;
      res.resume();
      socket.terminate();
    });
  }
  socket.onopen = () => handlers.open();
  socket.onmessage = (event) => {
    handlers.message(typeof event.data === 'string' ? event.data : String(event.data));
  };
  // Every failure ends in a close event; errors carry nothing more.
  socket.onerror = () => undefined;
  socket.onclose = (event) => {
    handlers.close({
      code: event.code,
      reason: event.reason,
      ...(upgradeStatus === undefined ? {} : { upgradeStatus }),
    });
  };
  return {
    send(text) {
      if (socket.readyState !== OPEN) return false;
      socket.send(text);
      return true;
    },
    close(code, reason) {
      socket.close(code, reason);
    },
    terminate() {
      if (hasNodeExtras(socket)) socket.terminate();
      else socket.close(4000, 'dropped by client');
    },
  };
}
