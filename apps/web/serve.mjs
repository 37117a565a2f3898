// Serves the built app (dist/) and its config.json: `node serve.mjs` (or `pnpm start`
// at the root, beside the services). Hashed assets are cached for a year; index.html
// and config.json are revalidated every time, so a new build is picked up at once.
// Precompressed .br/.gz files from the build are sent to clients that accept them.
//
//   PORT (WEB_PORT)           8080     where to listen
//   HOST                      127.0.0.1  0.0.0.0 in a container
//   PARLEY_AUTH_URL           http://<page host>:5001   what the browser calls
//   PARLEY_CHAT_URL           http://<page host>:5002
//   PARLEY_WEBSOCKET_URL      http://<page host>:5003   (the socket is its /ws)
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sirv from 'sirv';

const here = path.dirname(fileURLToPath(import.meta.url));

/** What config.json says: only the URLs that were given (the app defaults the rest). */
export function webConfig(env) {
  const config = {};
  if (env.PARLEY_AUTH_URL) config.authUrl = env.PARLEY_AUTH_URL;
  if (env.PARLEY_CHAT_URL) config.chatUrl = env.PARLEY_CHAT_URL;
  if (env.PARLEY_WEBSOCKET_URL) config.websocketUrl = env.PARLEY_WEBSOCKET_URL;
  return config;
}

/** Where the page may connect: its own origin, the configured services (http and ws), or any host's 5001–5003. */
function contentSecurityPolicy(config) {
  const urls = Object.values(config);
  const connect =
    urls.length === 3
      ? urls.flatMap((url) => {
          const { origin } = new URL(url);
          return [origin, origin.replace(/^http/, 'ws')];
        })
      : ['http:', 'https:', 'ws:', 'wss:'];
  return [
    "default-src 'self'",
    `connect-src 'self' ${[...new Set(connect)].join(' ')}`,
    "img-src 'self' data: blob:",
    "style-src 'self'",
    "script-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** An http.Server for the built app; not listening yet. */
export function createWebServer({ dist = path.join(here, 'dist'), config = {} } = {}) {
  if (!existsSync(path.join(dist, 'index.html'))) {
    throw new Error(
      `${dist} has no index.html: build the app first (pnpm --filter @parley/web build)`,
    );
  }
  const configBody = JSON.stringify(config);
  const csp = contentSecurityPolicy(config);
  const files = sirv(dist, {
    single: true,
    etag: true,
    gzip: true,
    brotli: true,
    setHeaders(res, pathname) {
      res.setHeader(
        'Cache-Control',
        pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
  return http.createServer((req, res) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Content-Security-Policy', csp);
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (pathname === '/config.json') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(configBody);
      return;
    }
    if (pathname === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      return;
    }
    files(req, res, () => {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    });
  });
}

async function main() {
  const env = process.env;
  const port = Number(env.PORT ?? env.WEB_PORT ?? 8080);
  const host = env.HOST ?? '127.0.0.1';
  const server = createWebServer({ config: webConfig(env) });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  console.log(`Parley web app at http://${shown}:${address.port}/`);
  const stop = () => {
    server.close();
    server.closeAllConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
