// Serves the built app (dist/) and its config.json: `node serve.mjs` (or `pnpm start`
// at the root, beside the services). Builds it first when dist/ is missing or older
// than the sources. Hashed assets are cached for a year; index.html and config.json
// are revalidated every time, so a new build is picked up at once. Precompressed
// .br/.gz files from the build are sent to clients that accept them. Its variables
// (WEB_PORT, HOST, PARLEY_*_URL) are in serve-env.cjs and docs/configuration.md.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sirv from 'sirv';

import { readWebEnv } from './serve-env.cjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, 'dist');

function newestMtime(dir) {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) {
      newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

/**
 * Runs `vite build` when dist/ is missing or older than the app's sources or the
 * workspace packages it bundles. Where the sources are absent (a deployed image with
 * only dist/), there is nothing to compare and nothing is built.
 */
export function buildIfStale(log = () => {}) {
  const sources = Math.max(
    newestMtime(path.join(here, 'src')),
    statSync(path.join(here, 'index.html'), { throwIfNoEntry: false })?.mtimeMs ?? 0,
    newestMtime(path.join(here, '../../packages/client/src')),
    newestMtime(path.join(here, '../../packages/contracts/src')),
  );
  const built = path.join(dist, 'index.html');
  if (sources === 0 || (existsSync(built) && statSync(built).mtimeMs >= sources)) return;
  log('the web app changed since its last build; running vite build');
  const vite = path.join(here, 'node_modules', '.bin', 'vite');
  const result = spawnSync(vite, ['build', '--logLevel', 'warn'], { cwd: here, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('building the web app failed (see above)');
}

/** What config.json says: only the URLs that were given (the app defaults the rest). */
export function webConfig(settings) {
  const config = {};
  if (settings.PARLEY_AUTH_URL) config.authUrl = settings.PARLEY_AUTH_URL;
  if (settings.PARLEY_CHAT_URL) config.chatUrl = settings.PARLEY_CHAT_URL;
  if (settings.PARLEY_WEBSOCKET_URL) config.websocketUrl = settings.PARLEY_WEBSOCKET_URL;
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
export function createWebServer({ root = dist, config = {} } = {}) {
  if (!existsSync(path.join(root, 'index.html'))) {
    throw new Error(
      `${root} has no index.html: build the app first (pnpm --filter @parley/web build)`,
    );
  }
  const configBody = JSON.stringify(config);
  const csp = contentSecurityPolicy(config);
  const files = sirv(root, {
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

/**
 * Builds if stale, then serves on WEB_PORT and HOST with config.json from PARLEY_*_URL
 * (`settings` as readWebEnv gives them; `pnpm start` passes its own); resolves once
 * listening.
 */
export async function startWebApp({ settings = readWebEnv(), log = console.log } = {}) {
  buildIfStale(log);
  const host = settings.HOST;
  const server = createWebServer({ config: webConfig(settings) });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.WEB_PORT, host, resolve);
  });
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  const url = `http://${shown}:${server.address().port}/`;
  log(`Parley web app at ${url}`);
  return {
    url,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  startWebApp()
    .then((web) => {
      // Where it listens, for a launcher that opened an IPC channel (@parley/testing's:
      // the tests and `pnpm start`; the services send the same message), which learns
      // port 0 this way. A no-op without one (the image); the channel must not keep this
      // process alive once the server closes.
      if (process.send) {
        process.send({ type: 'parley:listening', url: web.url });
        process.channel?.unref();
      }
      process.once('SIGTERM', () => void web.close());
      process.once('SIGINT', () => void web.close());
    })
    .catch((error) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    });
}
