// Users of a stack, each with a logged-in ParleyClient, and realtime connections with
// the quick reconnect timings a test wants.
import {
  ParleyClient,
  type RealtimeConnection,
  type RealtimeOptions,
  type WebSocketConstructor,
} from '@parley/client';
import type { User } from '@parley/contracts';
import { uniqueName } from './unique-name';
import type { Stack } from './stack';

export interface TestUser {
  readonly username: string;
  readonly password: string;
  readonly user: User;
  /** Logged in; REST goes to the stack's auth and chat, the socket to websocket-0 by default. */
  readonly client: ParleyClient;
}

export interface ClientOptions {
  /** Which websocket instance the realtime connection uses (default 0). */
  websocket?: number;
  /** Which chat instance REST calls go to (default 0). */
  chat?: number;
}

/** A client for the stack, not logged in. */
export function createClient(
  stack: Stack,
  { websocket = 0, chat = 0 }: ClientOptions = {},
): ParleyClient {
  const websocketUrl = stack.websocketUrls[websocket];
  if (websocketUrl === undefined) throw new Error(`the stack has no websocket-${websocket}`);
  const chatUrl = stack.chatUrls[chat];
  if (chatUrl === undefined) throw new Error(`the stack has no chat instance ${chat}`);
  return new ParleyClient({ authUrl: stack.authUrl, chatUrl, websocketUrl });
}

/**
 * Registers and logs in one user per prefix (usernames are made unique from it, e.g.
 * `alice_lx2k…`), all at once, and resolves in the order given.
 */
export function createUsers(
  stack: Stack,
  prefixes: readonly string[],
  options: ClientOptions = {},
): Promise<TestUser[]> {
  return Promise.all(
    prefixes.map(async (prefix) => {
      const username = uniqueName(prefix.slice(0, 10));
      const password = `pw-${username}`;
      const client = createClient(stack, options);
      const user = await client.register({ username, password });
      await client.login({ username, password });
      return { username, password, user, client };
    }),
  );
}

/** The user's current access token (for raw HTTP calls and bare sockets). */
export function tokenOf(user: TestUser): string {
  const token = user.client.session?.accessToken;
  if (!token) throw new Error(`${user.username} is not logged in`);
  return token;
}

/** Reconnect fast and notice dead sockets soon: what every e2e connection uses. */
export const quickRealtime: RealtimeOptions = {
  backoff: { baseMs: 100, maxMs: 1_000 },
  readyTimeoutMs: 5_000,
  heartbeatIntervalMs: 2_000,
  heartbeatTimeoutMs: 2_000,
  ackTimeoutMs: 20_000,
};

/**
 * Opens a realtime connection for `user` (ready and caught up when it resolves).
 * `webSocket` picks where each (re)connect goes, e.g. failoverWebSocket(stack.websocketUrls).
 */
export async function connect(
  user: TestUser,
  options: RealtimeOptions & { webSocket?: WebSocketConstructor } = {},
): Promise<RealtimeConnection> {
  const rt = user.client.realtime({ ...quickRealtime, ...options });
  opened.add(rt);
  await rt.start();
  return rt;
}

// Connections opened by connect(), closed by useStack() after the file's tests, so a
// failed test never leaves a client reconnecting to a stopped stack.
const opened = new Set<RealtimeConnection>();

/** Closes every realtime connection connect() opened (safe if some are closed already). */
export function closeAllConnections(): void {
  for (const rt of opened) rt.close();
  opened.clear();
}
