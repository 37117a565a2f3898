// The last step of every push: writes server frames to sockets, guarding memory.
// Before each write it looks at the socket's send buffer: above the soft bound the
// droppable frames (typing, presence: stale a second later anyway) are skipped;
// above the hard bound the client is too slow to keep and is closed with 4008.
//
// One socket write per socket per turn of the event loop: the first frame a socket gets
// in a turn corks its net.Socket, and every corked socket is uncorked once at the end
// of the turn, so k frames (k events from one AMQP read, a burst of client pings) cost
// one writev instead of k. The uncork runs on process.nextTick: Node runs the nextTick
// queue only once the microtask queue is empty, and the ordered AMQP consumer handles
// the events of one read in a promise chain (one microtask hop after the other), so
// queueMicrotask would flush after the first event; nextTick still runs before any I/O
// or timer, so no frame waits past the turn that wrote it. This relies on ws writing a
// frame to its socket inside ws.send, which holds because permessage-deflate is off
// (app.ts; test/socket-gateway.test.ts fails if it is negotiated): compressed frames
// would be written later, from zlib's callback, uncoalesced (still correct, no gain).
import type { Socket } from 'node:net';
import { WS_CLOSE, type ServerFrame } from '@parley/contracts';
import type { Logger } from '@parley/server-kit';
import { WebSocket } from 'ws';
import type { ConnectionRegistry } from './connection-registry';
import type { WebsocketMetrics } from './metrics';
import type { SocketSession } from './socket-session';

const DROPPABLE = new Set<ServerFrame['type']>(['typing', 'presence']);
/** A text frame, also when the data is the frame's UTF-8 bytes. */
const TEXT = { binary: false } as const;

/** The net.Socket under a server-side WebSocket (ws keeps it as `_socket`). */
function netSocketOf(ws: WebSocket): Socket | undefined {
  return (ws as unknown as { _socket?: Socket | null })._socket ?? undefined;
}

export interface SendOptions {
  /** Event time (ms since epoch), to observe delivery latency. */
  occurredAt?: number;
}

export interface SocketGateway {
  /** Writes one frame; false when it was dropped or the socket is unusable. */
  send(session: SocketSession, frame: ServerFrame, options?: SendOptions): boolean;
  /**
   * Writes a frame to every socket of each user (bar one socket of one user), serialized
   * once for all of them; returns how many sockets got it.
   */
  sendToUsers(
    userIds: Iterable<string>,
    frame: ServerFrame,
    options?: SendOptions & { except?: { userId: string; connectionId: string } | undefined },
  ): number;
  /** Closes with a code, once; the socket is dropped if the peer does not answer in time. */
  close(session: SocketSession, code: number, reason: string): void;
}

export interface SocketGatewayOptions {
  registry: ConnectionRegistry;
  metrics: WebsocketMetrics;
  logger: Logger;
  softLimitBytes: number;
  hardLimitBytes: number;
  /** How long a closing peer has to answer the close frame before it is terminated. */
  closeGraceMs: number;
  now: () => number;
}

export function createSocketGateway(options: SocketGatewayOptions): SocketGateway {
  const { metrics, logger } = options;
  /** Sockets corked in this turn, uncorked together by `uncorkAll` at its end. */
  const corked = new Set<Socket>();
  let uncorkScheduled = false;
  /** Past this, a socket's corked bytes go to the kernel before the bounds judge it. */
  const flushAbove = Math.min(options.softLimitBytes, options.hardLimitBytes);

  function uncorkAll(): void {
    uncorkScheduled = false;
    for (const socket of corked) {
      corked.delete(socket);
      socket.uncork();
    }
  }

  /** Flushes this turn's frames of one socket now; false if it was not corked. */
  function uncorkNow(socket: Socket | undefined): boolean {
    if (!socket || !corked.delete(socket)) return false;
    socket.uncork();
    return true;
  }

  /** Writes one frame to one socket, with no metrics (the caller counts). */
  function write(
    session: SocketSession,
    frame: ServerFrame,
    /** The frame as JSON: a string, or its UTF-8 bytes when many sockets get it. */
    data: string | Buffer,
  ): boolean {
    const { ws } = session;
    if (session.closing || ws.readyState !== WebSocket.OPEN) return false;
    const socket = netSocketOf(ws);
    // bufferedAmount counts the corked bytes of this turn too: a healthy client sent a
    // large turn would pass the bounds on bytes the kernel was never offered, so those
    // are handed to the kernel first and only what it refuses is judged
    let buffered = ws.bufferedAmount;
    if (buffered > flushAbove && uncorkNow(socket)) buffered = ws.bufferedAmount;
    if (buffered > options.hardLimitBytes) {
      logger.warn(
        { connectionId: session.connectionId, userId: session.userId, buffered },
        'slow consumer, closing',
      );
      close(session, WS_CLOSE.slowConsumer, 'slow consumer');
      return false;
    }
    if (buffered > options.softLimitBytes && DROPPABLE.has(frame.type)) {
      metrics.frameDropped(frame.type);
      return false;
    }
    if (socket && !corked.has(socket)) {
      socket.cork();
      corked.add(socket);
      if (!uncorkScheduled) {
        uncorkScheduled = true;
        process.nextTick(uncorkAll);
      }
    }
    ws.send(data, TEXT);
    return true;
  }

  /** Counts `sent` frames of a type at once, and the event's latency once. */
  function counted(frame: ServerFrame, sent: number, sendOptions: SendOptions): void {
    if (sent === 0) return;
    metrics.frameOut(frame.type, sent);
    if (sendOptions.occurredAt !== undefined)
      metrics.deliveryLatency((options.now() - sendOptions.occurredAt) / 1000);
  }

  function close(session: SocketSession, code: number, reason: string): void {
    if (session.closing) return;
    session.closing = true;
    session.closeCode = code;
    metrics.closed(code);
    try {
      session.ws.close(code, reason);
    } catch (err) {
      logger.debug({ err, connectionId: session.connectionId }, 'close failed, terminating');
      session.ws.terminate();
      return;
    }
    // A peer that stopped reading never answers the close frame; do not hold its
    // buffers for ws's 30 s default.
    const timer = setTimeout(() => session.ws.terminate(), options.closeGraceMs);
    timer.unref();
    session.ws.once('close', () => clearTimeout(timer));
  }

  return {
    send(session, frame, sendOptions = {}) {
      const sent = write(session, frame, JSON.stringify(frame));
      counted(frame, sent ? 1 : 0, sendOptions);
      return sent;
    },
    sendToUsers(userIds, frame, sendOptions = {}) {
      // encoded once for all recipients (ws would convert a string for every socket),
      // and only once a recipient is connected here; counted once, not per socket
      let data: Buffer | undefined;
      let sent = 0;
      for (const userId of userIds) {
        const sockets = options.registry.socketsOf(userId);
        if (sockets.length === 0) continue;
        data ??= Buffer.from(JSON.stringify(frame));
        const except =
          sendOptions.except?.userId === userId ? sendOptions.except.connectionId : undefined;
        for (const session of sockets) {
          if (session.connectionId === except) continue;
          if (write(session, frame, data)) sent += 1;
        }
      }
      counted(frame, sent, sendOptions);
      return sent;
    },
    close,
  };
}
