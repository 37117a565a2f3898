import { loadSession, saveSession, SESSION_KEY } from '../src/saved-session';
import { resolveServiceUrls } from '../src/service-urls';

class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
}

const session = {
  accessToken: 'a',
  refreshToken: 'r',
  expiresAt: 1_800_000_000_000,
  user: { id: 'u1', username: 'ana', displayName: 'Ana', createdAt: '2026-11-21T10:00:00.000Z' },
};

describe('service URLs', () => {
  test('When config.json names the services, then those URLs are used (without a trailing slash)', () => {
    const urls = resolveServiceUrls(
      {
        authUrl: 'https://api.example.com/auth/',
        chatUrl: 'https://api.example.com',
        websocketUrl: 'https://ws.example.com',
      },
      { protocol: 'https:', hostname: 'chat.example.com' },
    );
    expect(urls).toEqual({
      authUrl: 'https://api.example.com/auth',
      chatUrl: 'https://api.example.com',
      websocketUrl: 'https://ws.example.com',
    });
  });

  test('When there is no config (or a broken one), then the services are on this host at 5001–5003', () => {
    expect(resolveServiceUrls(undefined, { protocol: 'http:', hostname: '192.168.1.4' })).toEqual({
      authUrl: 'http://192.168.1.4:5001',
      chatUrl: 'http://192.168.1.4:5002',
      websocketUrl: 'http://192.168.1.4:5003',
    });
    expect(
      resolveServiceUrls({ authUrl: 'javascript:alert(1)' }, { protocol: 'http:', hostname: '::1' })
        .authUrl,
    ).toBe('http://[::1]:5001');
  });
});

describe('saved session', () => {
  test('When a session is saved, then a reload restores it', () => {
    const storage = new MemoryStorage();
    saveSession(storage, session);
    expect(loadSession(storage)).toEqual(session);
    saveSession(storage, null);
    expect(loadSession(storage)).toBeNull();
  });

  test('When what is stored is not a session, then there is none', () => {
    const storage = new MemoryStorage();
    storage.setItem(SESSION_KEY, '{not json');
    expect(loadSession(storage)).toBeNull();
    storage.setItem(SESSION_KEY, JSON.stringify({ ...session, user: { id: 'u1' } }));
    expect(loadSession(storage)).toBeNull();
  });
});
