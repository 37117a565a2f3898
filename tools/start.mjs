// `pnpm start`: the whole backend on one machine without Docker. Builds what is
// stale, starts the FerretDB dev server (unless MONGO_URL names a MongoDB), checks
// that RabbitMQ answers, then runs every built service and the web app
// (apps/web/serve.mjs, which builds the app when stale) as child processes with their
// output tagged, through the launcher of @parley/testing (imported once the build is
// current). Ctrl-C stops everything; if one process dies, the rest are stopped and the
// exit code says so.
//
// The services log pino JSON lines; here each becomes `HH:MM:SS LEVEL [svc] msg
// key=value…` (coloured on a terminal) unless LOG_FORMAT=json asks for the raw lines.
// FerretDB logs errors only unless FERRETDB_LOG_LEVEL says otherwise. The variables it
// reads are in start-env.mjs.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { readStartEnv } from './start-env.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

let settings;
try {
  settings = readStartEnv();
} catch (err) {
  console.error(`[start] ${err.message}`);
  process.exit(1);
}
// Each service serves GET /metrics on a port of its own (METRICS_PORT), on loopback.
const services = [
  { name: 'auth', port: settings.AUTH_PORT, metricsPort: settings.AUTH_METRICS_PORT, color: 36 },
  { name: 'chat', port: settings.CHAT_PORT, metricsPort: settings.CHAT_METRICS_PORT, color: 35 },
  {
    name: 'websocket',
    port: settings.WEBSOCKET_PORT,
    metricsPort: settings.WEBSOCKET_METRICS_PORT,
    color: 33,
  },
  // the webhook delivery worker: a process of its own, built with chat
  {
    name: 'webhooks',
    port: settings.WEBHOOKS_PORT,
    metricsPort: settings.WEBHOOKS_METRICS_PORT,
    color: 34,
    entry: path.join('services', 'chat', 'dist', 'webhooks', 'worker-main.js'),
  },
];
const web = { name: 'web', port: settings.WEB_PORT, color: 32 };
const useColor = process.stdout.isTTY && settings.NO_COLOR === undefined;
const rawJson = settings.LOG_FORMAT === 'json';
const paint = (color, text) => (useColor ? `\x1b[${color}m${text}\x1b[0m` : text);
const tag = (name, color) => paint(color, `[${name}]`);
const say = (line) => console.log(`${tag('start', 32)} ${line}`);

const levels = {
  10: ['TRACE', 90],
  20: ['DEBUG', 34],
  30: ['INFO', 32],
  40: ['WARN', 33],
  50: ['ERROR', 31],
  60: ['FATAL', 35],
};
const levelByName = Object.fromEntries(
  Object.values(levels).map(([name, color]) => [name.toLowerCase(), [name, color]]),
);
// Shown elsewhere in the line (time, level, [svc]) or noise at a terminal.
const hiddenKeys = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'instanceId']);

function formatValue(value) {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  const text = JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/**
 * One pino JSON line as `HH:MM:SS LEVEL [svc] msg key=value…`; anything else (a
 * crash before the logger exists, a stack trace) is passed through as it is.
 */
function formatLogLine(line, prefix) {
  let entry;
  try {
    entry = line.startsWith('{') ? JSON.parse(line) : undefined;
  } catch {
    entry = undefined;
  }
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    return `${prefix} ${line}`;
  }
  const time = new Date(entry.time ?? Date.now());
  const clock = Number.isNaN(time.getTime()) ? '--:--:--' : time.toTimeString().slice(0, 8);
  const [levelName, levelColor] = levels[entry.level] ??
    levelByName[String(entry.level).toLowerCase()] ?? ['INFO', 32];
  const fields = { ...entry };
  let message = typeof entry.msg === 'string' ? entry.msg : '';
  // pino-http's request lines: the request in a few words instead of two objects
  if (fields.req && fields.res && typeof fields.req === 'object') {
    const status = fields.res.statusCode;
    const took = fields.responseTime === undefined ? '' : ` ${fields.responseTime}ms`;
    message = `${fields.req.method} ${fields.req.url} ${status}${took}`;
    delete fields.req;
    delete fields.res;
    delete fields.responseTime;
  }
  let stack = '';
  if (fields.err && typeof fields.err === 'object') {
    const { type, message: errMessage, stack: errStack, code } = fields.err;
    fields.err = `${type ?? 'Error'}${code ? `(${code})` : ''}: ${errMessage ?? ''}`;
    if (entry.level >= 50 || levelName === 'ERROR' || levelName === 'FATAL') {
      stack = typeof errStack === 'string' ? `\n${errStack.replace(/^/gm, '    ')}` : '';
    }
  }
  const pairs = Object.entries(fields)
    .filter(([key, value]) => !hiddenKeys.has(key) && value !== undefined)
    .map(([key, value]) => `${paint(2, `${key}=`)}${formatValue(value)}`);
  const level = paint(levelColor, levelName.padEnd(5));
  return `${paint(2, clock)} ${level} ${prefix} ${message}${pairs.length ? ` ${pairs.join(' ')}` : ''}${stack}`;
}

function printLine(line, prefix, stream) {
  const out = stream === 'stderr' ? process.stderr : process.stdout;
  out.write(`${rawJson ? `${prefix} ${line}` : formatLogLine(line, prefix)}\n`);
}

function newestMtime(dir) {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile())
      newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

// Stale when a package or service has sources newer than its dist/ output (or none).
function needsBuild() {
  const projects = ['packages', 'services'].flatMap((group) =>
    existsSync(path.join(root, group))
      ? readdirSync(path.join(root, group)).map((name) => path.join(root, group, name))
      : [],
  );
  return projects.some((dir) => {
    const sources = newestMtime(path.join(dir, 'src'));
    return sources > 0 && sources > newestMtime(path.join(dir, 'dist'));
  });
}

function buildIfStale() {
  if (!needsBuild()) return;
  say('sources changed since the last build; running tsc -b tsconfig.build.json');
  const tsc = path.join(root, 'node_modules', '.bin', 'tsc');
  const result = spawnSync(tsc, ['-b', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('build failed (see above); fix it or run `pnpm build`');
}

async function startMongo({ startFerretDb }) {
  if (settings.MONGO_URL !== undefined) {
    say(`using MONGO_URL ${settings.MONGO_URL}`);
    return { url: settings.MONGO_URL, stop: async () => {} };
  }
  const listen = `127.0.0.1:${settings.MONGO_PORT}`;
  const dataDir = path.join(root, '.data', 'ferretdb');
  const prefix = tag('mongo', 34);
  const server = await startFerretDb({
    dataDir,
    listen,
    // its warn level logs every error reply it sends (e.g. to the driver's endSessions)
    logLevel: settings.FERRETDB_LOG_LEVEL,
    onStderr: (chunk) => process.stderr.write(chunk.replace(/^(?=.)/gm, `${prefix} `)),
  }).catch((err) => {
    throw new Error(
      `${err.message}\nIf ${listen} is taken by a MongoDB you want to use, set MONGO_URL=mongodb://${listen}/parley; ` +
        'otherwise pick another port with MONGO_PORT.',
    );
  });
  say(`FerretDB dev server at ${server.url} (data in ${path.relative(root, dataDir)})`);
  return { url: `${server.url}/parley`, stop: server.stop, exited: server.exited };
}

// Not killed for being slow to get ready: a process that never gets there is seen
// when it exits; Ctrl-C stops one that is still starting. Every variable of this
// process reaches the children, `shared` over them.
function startService({ ServiceProcess }, { name, port, metricsPort, color }, shared) {
  const prefix = tag(name, color);
  const service = new ServiceProcess({
    service: name,
    port,
    ...(metricsPort === undefined ? {} : { metricsPort }),
    env: Object.fromEntries(
      Object.entries({ ...process.env, ...shared }).filter(([, value]) => value !== undefined),
    ),
    onLine: (line, stream) => printLine(line, prefix, stream),
    readyTimeoutMs: Infinity,
    // a taken port is the user's to free: fail at once instead of waiting for it
    portRetryMs: 0,
  });
  service.start().then(
    () =>
      say(
        `${name} ready at ${service.url} (pid ${service.pid})${metricsPort === undefined ? '' : `, metrics at ${service.metricsUrl}/metrics`}`,
      ),
    () => undefined, // its exit (below) says what happened
  );
  return service;
}

async function main() {
  buildIfStale();
  const testing = await import('@parley/testing');

  const amqpUrl = settings.AMQP_URL;
  if (!(await testing.amqpAnswers(amqpUrl, 3_000))) {
    const where = new URL(amqpUrl).host;
    throw new Error(
      `RabbitMQ does not answer at ${where}. Start it (e.g. \`rabbitmq-server -detached\`) or set AMQP_URL.`,
    );
  }
  say(`RabbitMQ answers at ${new URL(amqpUrl).host}`);

  const mongo = await startMongo(testing);
  const shared = {
    MONGO_URL: mongo.url,
    AMQP_URL: amqpUrl,
    AUTH_URL: settings.AUTH_URL,
    JWKS_URL: settings.JWKS_URL,
    CHAT_URL: settings.CHAT_URL,
    NODE_ENV: settings.NODE_ENV,
  };

  const runnable = services.filter(({ name, entry }) =>
    existsSync(path.join(root, entry ?? path.join('services', name, 'dist', 'main.js'))),
  );
  if (runnable.length === 0)
    say('no service has dist/main.js yet; only the database runs. Ctrl-C stops it.');
  const running = runnable.map((service) => startService(testing, service, shared));
  // The web app beside the services: serve.mjs builds it if stale, then prints its URL.
  if (existsSync(path.join(root, 'apps', 'web', 'serve.mjs')))
    running.push(startService(testing, web, { HOST: settings.HOST }));
  if (running.length === 0 && !mongo.exited) {
    say('nothing to run: no built service and MONGO_URL points at an outside database');
    return;
  }

  // `pnpm start` does not pass a SIGTERM on to this script: pnpm exits, the shell
  // between us goes with it, and everything here would run on as orphans. So a
  // vanished parent counts as a stop request.
  const parent = process.ppid;
  const parentWatch = setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch (err) {
      if (err.code === 'ESRCH') void stopAll('parent process exited');
    }
  }, 500);
  parentWatch.unref();

  let stopping = false;
  const stopAll = async (reason) => {
    if (stopping) return;
    stopping = true;
    clearInterval(parentWatch);
    say(`stopping (${reason})`);
    await Promise.all(running.map((service) => service.stop()));
    await mongo.stop();
    say('stopped');
  };

  // Ctrl-C reaches every process of the terminal's group: the services shut down by
  // themselves and this waits for them (a second Ctrl-C forces it).
  process.once('SIGINT', () => void stopAll('SIGINT'));
  process.once('SIGTERM', () => void stopAll('SIGTERM'));
  process.once('SIGHUP', () => void stopAll('SIGHUP'));

  // Whatever ends first decides: a signal (clean exit), or a child that died.
  const died = [
    ...running.map(({ service, exited }) => exited.then((how) => ({ name: service, ...how }))),
    ...(mongo.exited ? [mongo.exited.then((how) => ({ name: 'mongo', ...how }))] : []),
  ];
  const first = await Promise.race(died);
  if (!stopping) {
    say(
      `${first.name} exited unexpectedly (code ${first.code}, signal ${first.signal}); stopping the rest`,
    );
    process.exitCode = 1;
    await stopAll(`${first.name} died`);
  } else {
    await Promise.all(died);
  }
}

main().catch((err) => {
  console.error(`${tag('start', 31)} ${err instanceof Error ? err.message : err}`);
  process.exitCode = 1;
});
