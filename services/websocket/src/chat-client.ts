// HTTP calls to the chat service on behalf of a socket's user: every request carries
// that user's current access token, so chat authorises it exactly as a REST call.
// Chat's problem+json answers become ChatRequestError with chat's own `code`, which
// the frame handlers pass on to the client unchanged.
//
// Requests go through node:http with a keep-alive agent: a send from a socket costs one
// request on a connection already open (the agent honours chat's Keep-Alive timeout
// hint, so an idle connection is dropped before chat closes it), and less CPU than
// `fetch` spends on the same request.
import http from 'node:http';
import https from 'node:https';
import {
  ROUTES,
  contactsResponseSchema,
  messageResponseSchema,
  problemSchema,
  syncResponseSchema,
  type Message,
  type ReadRequest,
  type SendMessageRequest,
  type SyncRequest,
  type SyncResponse,
  type TypingRequest,
  type WsErrorCode,
} from '@parley/contracts';
import type { z } from 'zod';

export class ChatRequestError extends Error {
  constructor(
    readonly code: WsErrorCode,
    message: string,
    readonly status: number,
    /** chat's Retry-After, on a 429 or 503. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ChatRequestError';
  }
}

export interface ChatClient {
  send(token: string, body: SendMessageRequest): Promise<Message>;
  typing(token: string, body: TypingRequest): Promise<void>;
  markRead(token: string, conversationId: string, body: ReadRequest): Promise<void>;
  /** POST /chat/sync: what a `resume` frame asks, in one call. */
  sync(token: string, body: SyncRequest): Promise<SyncResponse>;
  /** POST /chat/contacts: which of `userIds` share a conversation with the token's user. */
  contacts(token: string, userIds: readonly string[]): Promise<string[]>;
}

export interface ChatClientOptions {
  /** e.g. `http://127.0.0.1:5002` */
  baseUrl: string;
  timeoutMs: number;
  /** Connections to chat at most (default 64); more requests queue for one. */
  maxSockets?: number;
}

interface RawResponse {
  status: number;
  retryAfter: string | undefined;
  text: string;
}

export function createChatClient(options: ChatClientOptions): ChatClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const secure = base.startsWith('https:');
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64 };
  const agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  const transport = secure ? https : http;

  /** One request; rejects when chat is unreachable or does not answer in time. */
  function send(
    method: string,
    url: string,
    headers: Record<string, string>,
    body: string | undefined,
  ): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      const req = transport.request(url, { method, agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          const retryAfter = res.headers['retry-after'];
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
            text: Buffer.concat(chunks).toString('utf8'),
          });
        });
      });
      // the whole exchange, not only the wait for the first byte
      const timer = setTimeout(() => req.destroy(new Error('timeout')), options.timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(body);
    });
  }

  async function call<T>(
    method: 'GET' | 'POST',
    path: string,
    token: string,
    body: unknown,
    schema: z.ZodType<T> | undefined,
  ): Promise<T | undefined> {
    let response: RawResponse;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    try {
      response = await send(
        method,
        `${base}${path}`,
        {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(payload === undefined
            ? {}
            : {
                'content-type': 'application/json',
                'content-length': String(Buffer.byteLength(payload)),
              }),
        },
        payload,
      );
    } catch {
      throw new ChatRequestError('dependency_unavailable', 'The chat service is unreachable', 503);
    }
    const json = parseJson(response.text);
    if (response.status < 200 || response.status >= 300) {
      const retryAfter = Number(response.retryAfter ?? Number.NaN);
      throw toChatError(
        response.status,
        json,
        Number.isFinite(retryAfter) ? retryAfter : undefined,
      );
    }
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
    async sync(token, body) {
      const result = await call('POST', ROUTES.sync.path, token, body, syncResponseSchema);
      return result as SyncResponse;
    },
    async contacts(token, userIds) {
      const result = await call(
        'POST',
        ROUTES.contacts.path,
        token,
        { userIds },
        contactsResponseSchema,
      );
      return (result as z.infer<typeof contactsResponseSchema>).userIds;
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

function toChatError(status: number, body: unknown, retryAfter?: number): ChatRequestError {
  const problem = problemSchema.safeParse(body);
  if (problem.success) {
    const { code, detail, errors } = problem.data;
    const issues = errors?.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ');
    return new ChatRequestError(
      code,
      issues ? `${detail} (${issues})` : detail,
      status,
      retryAfter,
    );
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
