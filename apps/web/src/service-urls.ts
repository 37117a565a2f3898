// Where the three services are. The built app is the same files everywhere, so the
// URLs are read at start from `config.json` beside index.html (serve.mjs writes it
// from the environment; any static server can serve a hand-written one). Without
// it, the services are taken to be on this page's host at their default ports.
export interface ServiceUrls {
  authUrl: string;
  chatUrl: string;
  websocketUrl: string;
}

const DEFAULT_PORTS = { authUrl: 5001, chatUrl: 5002, websocketUrl: 5003 } as const;

function httpUrl(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:'
      ? value.replace(/\/+$/, '')
      : undefined;
  } catch {
    return undefined;
  }
}

/** The URLs from a parsed config.json (anything unusable falls back to the default). */
export function resolveServiceUrls(
  config: unknown,
  location: { protocol: string; hostname: string },
): ServiceUrls {
  const given = (typeof config === 'object' && config !== null ? config : {}) as Record<
    string,
    unknown
  >;
  const host = location.hostname.includes(':') ? `[${location.hostname}]` : location.hostname;
  const fallback = (port: number) =>
    `${location.protocol === 'https:' ? 'https:' : 'http:'}//${host}:${port}`;
  return {
    authUrl: httpUrl(given.authUrl) ?? fallback(DEFAULT_PORTS.authUrl),
    chatUrl: httpUrl(given.chatUrl) ?? fallback(DEFAULT_PORTS.chatUrl),
    websocketUrl: httpUrl(given.websocketUrl) ?? fallback(DEFAULT_PORTS.websocketUrl),
  };
}

/** Reads config.json (a missing or broken one means the defaults). */
export async function loadServiceUrls(): Promise<ServiceUrls> {
  let config: unknown;
  try {
    const response = await fetch(new URL('config.json', document.baseURI), { cache: 'no-store' });
    config = response.ok ? await response.json() : undefined;
  } catch {
    config = undefined;
  }
  return resolveServiceUrls(config, window.location);
}
