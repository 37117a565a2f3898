// A bare WebSocket to a websocket instance, for what the client would hide (it
// dedupes, resends, reconnects): the exact frames one socket receives, in order.
import { once } from 'node:events';
import {
  serverFrameSchema,
  type ClientFrameInput,
  type ServerFrame,
  type ServerFrameOf,
} from '@parley/contracts';
import WebSocket from 'ws';
import { waitFor } from './wait-for';

export interface RawSocket {
  readonly ws: WebSocket;
  /** Every frame received, parsed with the contract's schema, in order. */
  readonly frames: readonly ServerFrame[];
  sendJson(frame: ClientFrameInput): void;
  /** The first frame of `type` received after the previous next() of that type returned. */
  next<T extends ServerFrame['type']>(type: T, timeoutMs?: number): Promise<ServerFrameOf<T>>;
  /** Resolves when the socket is closed (by either side) with its code. */
  readonly closed: Promise<number>;
  close(): Promise<void>;
}

/**
 * Opens `ws://…/ws?token=` on a websocket instance (its http base URL) and resolves
 * once the server has said `ready`.
 */
export async function openRawSocket(websocketUrl: string, token: string): Promise<RawSocket> {
  const url = new URL('/ws', websocketUrl.replace(/^http/, 'ws'));
  url.searchParams.set('token', token);
  const ws = new WebSocket(url);
  const frames: ServerFrame[] = [];
  const consumed = new Map<string, number>();
  ws.on('message', (data) => {
    frames.push(serverFrameSchema.parse(JSON.parse(String(data))));
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await once(ws, 'open');

  const socket: RawSocket = {
    ws,
    frames,
    closed,
    sendJson: (frame) => ws.send(JSON.stringify(frame)),
    async next(type, timeoutMs = 10_000) {
      const from = consumed.get(type) ?? 0;
      const index = await waitFor(
        () => {
          const at = frames.findIndex((frame, i) => i >= from && frame.type === type);
          return at === -1 ? undefined : at + 1;
        },
        { timeoutMs, description: `a ${type} frame` },
      );
      consumed.set(type, index);
      return frames[index - 1] as ServerFrameOf<typeof type>;
    },
    async close() {
      if (ws.readyState !== WebSocket.CLOSED) ws.close(1000);
      await closed;
    },
  };
  await socket.next('ready');
  return socket;
}
