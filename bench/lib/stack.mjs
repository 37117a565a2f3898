// Starts what a benchmark run measures, as real processes on free loopback ports:
// the FerretDB dev server (throwaway data dir), Parley's three built services on a
// throwaway database and a unique exchange, and the raw pipeline. Every process is
// spawned through `sh -c 'ulimit -n <hard>; exec …'` so its soft open-file limit is
// the hard one (10,000 sockets need more than the usual 1,024).
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const benchRoot = path.join(repoRoot, 'bench');

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// whatever happens to the bench (a throw, Ctrl-C), no process it started outlives it
const running = new Set();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Spawns `node …args` with the raised fd limit; stdout/stderr go to `logFile`. */
export function spawnNode(name, args, { cwd, env, logFile, ipc = false, onStdoutLine } = {}) {
  const child = spawn(
    'sh',
    ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, ...args],
    {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc'] : [])],
    },
  );
  running.add(child);
  child.once('exit', () => running.delete(child));
  const log = logFile ? createWriteStream(logFile, { flags: 'a' }) : null;
  const lines = readline.createInterface({ input: child.stdout, crlfDelay: Infinity });
  lines.on('line', (line) => {
    log?.write(`${line}\n`);
    onStdoutLine?.(line);
  });
  child.stderr.on('data', (chunk) => log?.write(chunk));
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      log?.end();
      resolve({ code, signal });
    }),
  );
  return {
    name,
    child,
    pid: child.pid,
    exited,
    async stop(timeoutMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const how = await exited;
      clearTimeout(killer);
      return how;
    },
  };
}

async function waitReady(url, proc, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited while starting`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
      last = `${res.status}`;
    } catch (err) {
      last = err.message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${proc.name}: ${url} not ready within ${timeoutMs / 1000}s (${last})`);
}

/**
 * One Parley service from services/<name>/dist/main.js. `nodeArgs` lets the profile
 * pass `--cpu-prof`; `env` is the whole service environment.
 */
export async function startService(name, { env, logDir, nodeArgs = [] }) {
  const port = await freePort();
  const proc = spawnNode(name, [...nodeArgs, 'dist/main.js'], {
    cwd: path.join(repoRoot, 'services', name),
    env: { ...env, PORT: String(port) },
    logFile: path.join(logDir, `${name}-${port}.log`),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/readyz`, proc);
  return { ...proc, port, url };
}

/** A raw-pipeline process from bench/raw/; it prints `{"port":N}` once it listens. */
export function startRaw(file, { env, logDir }) {
  return new Promise((resolve, reject) => {
    const name = path.basename(file, '.mjs');
    const proc = spawnNode(name, [path.join(benchRoot, 'raw', file)], {
      cwd: benchRoot,
      env,
      logFile: path.join(logDir, `${name}.log`),
      onStdoutLine: (line) => {
        try {
          const { port } = JSON.parse(line);
          if (port) resolve({ ...proc, port, url: `http://127.0.0.1:${port}` });
        } catch {
          // a log line
        }
      },
    });
    proc.exited.then(({ code }) => reject(new Error(`${name} exited (${code}) while starting`)));
  });
}

/** The environment every Parley service of this run shares. */
export function parleyEnv({ mongoUrl, amqpUrl, exchange, authUrl, chatUrl, logLevel }) {
  return {
    NODE_ENV: 'development',
    LOG_LEVEL: logLevel,
    MONGO_URL: mongoUrl,
    AMQP_URL: amqpUrl,
    EVENTS_EXCHANGE: exchange,
    AUTH_URL: authUrl,
    JWKS_URL: `${authUrl}/.well-known/jwks.json`,
    CHAT_URL: chatUrl,
    // tokens outlive the run, so no socket is closed with 4001 mid-measurement
    ACCESS_TOKEN_TTL: '4h',
    // the bench registers thousands of users and opens 10,000 sockets from one IP
    REGISTRATIONS_PER_IP: '1000000',
    MAX_CONNECTIONS_PER_IP: '1000000',
    // a 1:1 sender sends at most a few frames/s; the default 20/s would be fine too,
    // raised so that the top of a ladder measures the pipeline and not this limiter
    RATE_LIMIT_PER_SECOND: '1000',
    RATE_LIMIT_BURST: '2000',
    // chat's per-user anti-flood limit (60 per 10 s) would refuse the one room sender;
    // raised out of reach rather than turned off, so its cost is in the figures
    SEND_RATE_LIMIT: '1000000000',
  };
}

export { waitReady };
