// Client → server frames: each raw WebSocket message is metered (rate limit), parsed
// with the contracts' clientFrameSchema, and dispatched to its use case. Bad input
// is answered with an `error` frame and the socket stays open; a client that keeps
// sending it, or floods past its token bucket, is closed with 1008.
import type { z } from '@parley/contracts';
import {
  WS_CLOSE,
  clientFrameSchema,
  clientMsgIdSchema,
  type ClientFrame,
  type ServerFrame,
  type WsErrorCode,
} from '@parley/contracts';
import { isHttpError, type Logger, type Principal, type TokenVerifier } from '@parley/server-kit';
import type { RawData } from 'ws';
import { ChatRequestError, type ChatClient } from './chat-client';
import type { WebsocketMetrics } from './metrics';
import type { PresenceTracker, PresenceWatchers } from './presence-tracker';
import type { PresenceVisibility } from './presence-visibility';
import type { InflightSends } from './recent-ids';
import { resumeConversations } from './resume-conversations';
import type { SocketGateway } from './socket-gateway';
import type { SocketSession } from './socket-session';

export interface ClientFramesOptions {
  chat: ChatClient;
  verifier: TokenVerifier;
  gateway: SocketGateway;
  presence: PresenceTracker;
  watchers: PresenceWatchers;
  visibility: PresenceVisibility;
  inflight: InflightSends;
  metrics: WebsocketMetrics;
  logger: Logger;
  maxPresenceWatch: number;
  /** True for a token issued at or before its user's last session revocation. */
  isRevoked(principal: Principal): boolean;
  /** Re-arms the session's expiry timer after a successful `auth`. */
  onTokenRefreshed(session: SocketSession): void;
}

export type ParsedFrame =
  | { ok: true; frame: ClientFrame }
  | {
      ok: false;
      code: Extract<WsErrorCode, 'malformed_frame' | 'validation_failed'>;
      message: string;
      kind: string;
      /** The ref of an invalid `send` whose ref itself is valid, so its error can carry it. */
      ref?: string;
    };

/** Parses one raw message; never throws. */
export function parseClientFrame(data: RawData, isBinary: boolean): ParsedFrame {
  if (isBinary) {
    return {
      ok: false,
      code: 'malformed_frame',
      message: 'binary frames are not supported; send JSON text',
      kind: 'binary',
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(rawToString(data));
  } catch {
    return {
      ok: false,
      code: 'malformed_frame',
      message: 'the frame is not valid JSON',
      kind: 'malformed',
    };
  }
  const parsed = clientFrameSchema.safeParse(json);
  if (!parsed.success) {
    const ref = sendRef(json);
    return {
      ok: false,
      code: 'validation_failed',
      message: describeIssues(parsed.error),
      kind: 'invalid',
      ...(ref === undefined ? {} : { ref }),
    };
  }
  return { ok: true, frame: parsed.data };
}

/**
 * docs/design.md §6.5: a send is answered by ack or error with the same ref — an invalid one
 * too, so the client can fail that pending send. Only a ref that is itself valid is
 * echoed (never arbitrary client data).
 */
function sendRef(json: unknown): string | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const frame = json as Record<string, unknown>;
  if (frame['type'] !== 'send') return undefined;
  const ref = clientMsgIdSchema.safeParse(frame['ref']);
  return ref.success ? ref.data : undefined;
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      const message =
        issue.code === 'unrecognized_keys'
          ? `unknown field(s): ${issue.keys.join(', ')}`
          : issue.message;
      return path ? `${path}: ${message}` : message;
    })
    .join('; ');
}

export interface ClientFrames {
  /** Handles one raw message from a session's socket. */
  handle(session: SocketSession, data: RawData, isBinary: boolean): void;
}

export function createClientFrames(options: ClientFramesOptions): ClientFrames {
  const { chat, gateway, metrics, logger } = options;

  const reply = (session: SocketSession, frame: ServerFrame): boolean =>
    gateway.send(session, frame);

  function replyError(
    session: SocketSession,
    code: WsErrorCode,
    message: string,
    ref?: string,
  ): void {
    reply(
      session,
      ref === undefined ? { type: 'error', code, message } : { type: 'error', code, message, ref },
    );
  }

  /** Answers a failed chat call (or a bug) with an error frame carrying the ref. */
  function replyFailure(session: SocketSession, err: unknown, ref?: string): void {
    if (err instanceof ChatRequestError) {
      replyError(session, err.code, err.message, ref);
      return;
    }
    logger.error({ err, connectionId: session.connectionId }, 'frame handler failed');
    replyError(session, 'internal', 'something went wrong handling this frame', ref);
  }

  const handlers: {
    [T in ClientFrame['type']]: (
      session: SocketSession,
      frame: Extract<ClientFrame, { type: T }>,
    ) => Promise<void> | void;
  } = {
    ping(session) {
      reply(session, { type: 'pong' });
    },

    async send(session, frame) {
      const { ref, text } = frame;
      options.inflight.track(session.userId, ref, session.connectionId);
      try {
        const message = await chat.send(session.token, {
          ...(frame.to === undefined ? {} : { to: frame.to }),
          ...(frame.conversationId === undefined ? {} : { conversationId: frame.conversationId }),
          ...(frame.parentId === undefined ? {} : { parentId: frame.parentId }),
          text,
          clientMsgId: ref,
        });
        reply(session, { type: 'ack', ref, message });
      } catch (err) {
        // told it failed, the client must see the message if it was stored after all
        options.inflight.forget(session.userId, ref, session.connectionId);
        replyFailure(session, err, ref);
      }
    },

    async typing(session, frame) {
      try {
        await chat.typing(session.token, {
          conversationId: frame.conversationId,
          isTyping: frame.isTyping,
        });
      } catch (err) {
        replyFailure(session, err);
      }
    },

    async read(session, frame) {
      try {
        await chat.markRead(session.token, frame.conversationId, { seq: frame.seq });
      } catch (err) {
        replyFailure(session, err);
      }
    },

    // Only users who share a conversation with the watcher are watched; the others are
    // told `unknown` once and never again (docs/design.md §6.7, presence-visibility.ts).
    async presence_subscribe(session, frame) {
      const asked = [...new Set(frame.userIds)];
      let visible: Set<string>;
      try {
        visible = await options.visibility.visibleTo(session, asked);
      } catch (err) {
        replyFailure(session, err);
        return;
      }
      if (session.closing) return;
      const shown = asked.filter((id) => visible.has(id));
      const watched = new Set(options.watchers.watch(session, shown, options.maxPresenceWatch));
      for (const userId of asked) {
        if (watched.has(userId)) {
          reply(session, { type: 'presence', userId, status: options.presence.status(userId) });
        } else if (!visible.has(userId)) {
          reply(session, { type: 'presence', userId, status: 'unknown' });
        }
      }
      if (watched.size < shown.length) {
        replyError(
          session,
          'validation_failed',
          `a connection may watch at most ${options.maxPresenceWatch} users; the rest were not subscribed`,
        );
      }
    },

    // One resume per socket at a time: a frame naming 100 conversations costs chat one
    // call, so the socket's frame rate cannot multiply it (chat also counts them per user).
    async resume(session, frame) {
      if (session.resuming) {
        replyError(
          session,
          'rate_limited',
          'a resume is already running on this connection; send the next one after its resumed',
          frame.ref,
        );
        return;
      }
      session.resuming = true;
      try {
        await resumeConversations(chat, {
          token: session.token,
          conversations: frame.conversations,
          ref: frame.ref,
          emit: (out) => reply(session, out),
        });
      } catch (err) {
        replyFailure(session, err, frame.ref);
      } finally {
        session.resuming = false;
      }
    },

    async auth(session, frame) {
      let principal;
      try {
        principal = await options.verifier.verify(frame.token);
      } catch (err) {
        const code: WsErrorCode = isHttpError(err) ? err.code : 'unauthorized';
        replyError(
          session,
          code,
          isHttpError(err) ? err.detail : 'the token could not be verified',
        );
        return;
      }
      if (principal.userId !== session.userId) {
        replyError(session, 'forbidden', 'the token belongs to another user');
        gateway.close(session, WS_CLOSE.policyViolation, 'token of another user');
        return;
      }
      if (options.isRevoked(principal)) {
        replyError(session, 'unauthorized', 'the sessions of this user were ended; log in again');
        return;
      }
      session.token = principal.token;
      session.tokenExp = principal.exp;
      session.tokenIat = principal.iat;
      options.onTokenRefreshed(session);
    },
  };

  return {
    handle(session, data, isBinary) {
      if (session.closing) return;
      if (!session.rate.take()) {
        logger.warn(
          { connectionId: session.connectionId, userId: session.userId },
          'rate limit exceeded, closing',
        );
        gateway.close(session, WS_CLOSE.policyViolation, 'rate limit exceeded');
        return;
      }
      const parsed = parseClientFrame(data, isBinary);
      if (!parsed.ok) {
        metrics.frameIn(parsed.kind);
        replyError(session, parsed.code, parsed.message, parsed.ref);
        if (!session.abuse.hit()) {
          logger.warn(
            { connectionId: session.connectionId, userId: session.userId },
            'too many bad frames, closing',
          );
          gateway.close(session, WS_CLOSE.policyViolation, 'too many bad frames');
        }
        return;
      }
      const { frame } = parsed;
      metrics.frameIn(frame.type);
      const handler = handlers[frame.type] as (
        s: SocketSession,
        f: ClientFrame,
      ) => Promise<void> | void;
      // Run at once (not on a microtask) so replies keep the order frames came in.
      try {
        const pending = handler(session, frame);
        if (pending) pending.catch((err: unknown) => replyFailure(session, err));
      } catch (err) {
        replyFailure(session, err);
      }
    },
  };
}
