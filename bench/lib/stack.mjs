// What a benchmark run measures, as real processes started through @parley/testing's
// launcher: Parley's three built services (each on a port it binds itself) and the
// raw pipeline, every one with its soft open-file limit raised to the hard one
// (10,000 sockets need more than the usual 1,024) and its output in the run's log dir.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServiceProcess, spawnNode } from '@parley/testing';

export const benchRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

let started = 0;

/**
 * One Parley service from services/<name>/dist/main.js. `nodeArgs` lets the profile
 * pass `--cpu-prof`; `env` is the whole service environment. The ServiceProcess's
 * `metricsUrl` is where its GET /metrics answers (METRICS_PORT, announced like PORT).
 */
export async function startService(name, { env, logDir, nodeArgs = [] }) {
  started += 1;
  const service = new ServiceProcess({
    service: name,
    label: `${name}-${started}`,
    env: { ...process.env, ...env },
    logFile: path.join(logDir, `${name}-${started}.log`),
    nodeArgs,
    raiseFileLimit: true,
    readyTimeoutMs: 30_000,
    stopTimeoutMs: 15_000,
  });
  await service.start();
  return service;
}

/** A process of the bench (a raw-pipeline server, a load worker) with the raised limit. */
export function startBenchProcess(name, args, { env = {}, logDir, ipc = false, onLine } = {}) {
  return spawnNode({
    label: name,
    args,
    cwd: benchRoot,
    env: { ...process.env, ...env },
    logFile: path.join(logDir, `${name}.log`),
    raiseFileLimit: true,
    ipc,
    stopTimeoutMs: 15_000,
    ...(onLine ? { onLine } : {}),
  });
}

/** A raw-pipeline process from bench/raw/; it prints `{"port":N}` once it listens. */
export function startRaw(file, { env, logDir }) {
  return new Promise((resolve, reject) => {
    const name = path.basename(file, '.mjs');
    const proc = startBenchProcess(name, [path.join(benchRoot, 'raw', file)], {
      env,
      logDir,
      onLine: (line, stream) => {
        if (stream !== 'stdout') return;
        try {
          const { port } = JSON.parse(line);
          if (port)
            resolve({
              pid: proc.pid,
              stop: () => proc.stop(),
              port,
              url: `http://127.0.0.1:${port}`,
            });
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
