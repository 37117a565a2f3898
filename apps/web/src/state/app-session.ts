// Logged in or not: the one ParleyClient of the page, the session it keeps across
// reloads (see ../saved-session.ts), and the chat store that exists while logged in.
import { ParleyClient, type RealtimeOptions } from '@parley/client';
import { signal } from '@preact/signals';
import { loadSession, saveSession } from '../saved-session';
import type { ServiceUrls } from '../service-urls';
import { createChatStore, type ChatStore } from './chat-store';
import { createUploadTransport } from './upload-transport';

export type AppSession = ReturnType<typeof createAppSession>;

export function createAppSession(
  urls: ServiceUrls,
  storage: Storage,
  options: { realtime?: RealtimeOptions } = {},
) {
  const transport = createUploadTransport();
  const client = new ParleyClient({
    ...urls,
    fetch: transport.fetch,
    session: loadSession(storage),
    onSession: (session) => {
      saveSession(storage, session);
      if (session === null && chat.value !== null)
        end('Your session has ended. Please log in again.');
    },
  });
  const chat = signal<ChatStore | null>(null);
  /** Why the login screen is shown again (session ended), if it is. */
  const endedReason = signal<string | null>(null);

  function begin(): void {
    const store = createChatStore({
      client,
      onSessionEnded: (reason) => end(reason),
      uploads: transport,
      ...(options.realtime === undefined ? {} : { realtime: options.realtime }),
    });
    chat.value = store;
    endedReason.value = null;
    store.start();
  }

  function end(reason: string | null): void {
    chat.value?.stop();
    chat.value = null;
    endedReason.value = reason;
    if (client.session !== null) client.setSession(null);
  }

  async function login(username: string, password: string): Promise<void> {
    await client.login({ username, password });
    begin();
  }

  async function register(username: string, password: string, displayName: string): Promise<void> {
    await client.register({
      username,
      password,
      ...(displayName.trim() === '' ? {} : { displayName: displayName.trim() }),
    });
    await login(username, password);
  }

  async function logout(): Promise<void> {
    chat.value?.stop();
    chat.value = null;
    await client.logout().catch(() => undefined); // forgotten locally either way
    endedReason.value = null;
  }

  // A session saved before the reload: carry on with it (the client refreshes it if
  // it is stale; a refused one brings the login screen back).
  if (client.session !== null) begin();

  return { client, chat, endedReason, login, register, logout };
}
