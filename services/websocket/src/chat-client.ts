// HTTP calls to the chat service on behalf of a socket's user: every request carries
// that user's current access token, so chat authorises it exactly as a REST call.
// Chat's problem+json answers become ChatRequestError with chat's own `code`, which
// the frame handlers pass on to the client unchanged.
import {
  ROUTES,
  conversationResponseSchema,
  historyResponseSchema,
  messageResponseSchema,
  problemSchema,
  type Conversation,
  type HistoryResponse,
  type Message,
  type ReadRequest,
  type SendMessageRequest,
  type TypingRequest,
  type WsErrorCode,
} from '@parley/contracts';
import type { z } from 'zod';

export class ChatRequestError extends Error {
  constructor(
    readonly code: WsErrorCode,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ChatRequestError';
  }
}

export interface HistoryPageQuery {
  conversationId: string;
  after: number;
  limit: number;
}

export interface ChatClient {
  send(token: string, body: SendMessageRequest): Promise<Message>;
  typing(token: string, body: TypingRequest): Promise<void>;
  markRead(token: string, conversationId: string, body: ReadRequest): Promise<void>;
  history(token: string, query: HistoryPageQuery): Promise<HistoryResponse>;
  /** GET /chat/rooms/:id; undefined when chat knows no such room (404). */
  room(token: string, id: string): Promise<Conversation | undefined>;
}

export interface ChatClientOptions {
  /** e.g. `http://127.0.0.1:5002` */
  baseUrl: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

export function createChatClient(options: ChatClientOptions): ChatClient {
  const doFetch = options.fetch ?? fetch;
  const base = options.baseUrl.replace(/\/+$/, '');

  async function call<T>(
    method: 'GET' | 'POST',
    path: string,
    token: string,
    body: unknown,
    schema: z.ZodType<T> | undefined,
  ): Promise<T | undefined> {
    let response: Response;
    try {
      response = await doFetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch {
      throw new ChatRequestError('dependency_unavailable', 'The chat service is unreachable', 503);
    }
    const text = await response.text().catch(() => '');
    const json = parseJson(text);
    if (!response.ok) throw toChatError(response.status, json);
    if (!schema) return undefined;
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new ChatRequestError('internal', 'The chat service answered unexpectedly', 502);
    }
    return parsed.data;
  }

  return {
    async send(token, body) {
      const result = await call(
        'POST',
        ROUTES.sendMessage.path,
        token,
        body,
        messageResponseSchema,
      );
      return (result as z.infer<typeof messageResponseSchema>).message;
    },
    async typing(token, body) {
      await call('POST', ROUTES.typing.path, token, body, undefined);
    },
    async markRead(token, conversationId, body) {
      const path = ROUTES.markRead.path.replace(':id', encodeURIComponent(conversationId));
      await call('POST', path, token, body, undefined);
    },
    async history(token, query) {
      const search = new URLSearchParams({
        conversationId: query.conversationId,
        after: String(query.after),
        limit: String(query.limit),
      });
      const result = await call(
        'GET',
        `${ROUTES.history.path}?${search}`,
        token,
        undefined,
        historyResponseSchema,
      );
      return result as HistoryResponse;
    },
    async room(token, id) {
      const path = ROUTES.getRoom.path.replace(':id', encodeURIComponent(id));
      try {
        const result = await call('GET', path, token, undefined, conversationResponseSchema);
        return (result as z.infer<typeof conversationResponseSchema>).conversation;
      } catch (err) {
        if (err instanceof ChatRequestError && err.status === 404) return undefined;
        throw err;
      }
    },
  };
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function toChatError(status: number, body: unknown): ChatRequestError {
  const problem = problemSchema.safeParse(body);
  if (problem.success) {
    const { code, detail, errors } = problem.data;
    const issues = errors?.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ');
    return new ChatRequestError(code, issues ? `${detail} (${issues})` : detail, status);
  }
  if (status >= 500) {
    return new ChatRequestError(
      'dependency_unavailable',
      `The chat service answered ${status}`,
      status,
    );
  }
  return new ChatRequestError('internal', `The chat service answered ${status}`, status);
}
