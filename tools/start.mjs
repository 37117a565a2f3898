// `pnpm start`: the whole backend on one machine without Docker. Builds what is
// stale, starts the FerretDB dev server (unless MONGO_URL names a MongoDB), checks
// that RabbitMQ answers, then runs every built service as a child process with its
// output tagged. Ctrl-C stops everything; if one service dies, the rest are stopped
// and the exit code says so. Node builtins only.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import { startFerret } from './ferretdb/ferretdb.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const killAfterMs = 10_000;

const services = [
  { name: 'auth', port: env.AUTH_PORT ?? '5001', color: 36 },
  { name: 'chat', port: env.CHAT_PORT ?? '5002', color: 35 },
  { name: 'websocket', port: env.WEBSOCKET_PORT ?? '5003', color: 33 },
];
const useColor = process.stdout.isTTY && !env.NO_COLOR;
const tag = (name, color) => (useColor ? `\x1b[${color}m[${name}]\x1b[0m` : `[${name}]`);
const say = (line) => console.log(`${tag('start', 32)} ${line}`);

function pipeLines(stream, prefix, out) {
  readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
    out.write(`${prefix} ${line}\n`);
  });
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

// Speaks the first bytes of AMQP 0-9-1: a broker answers the protocol header with
// a Connection.Start method frame (frame type 1).
function amqpAnswers(url) {
  const { hostname, port, protocol } = new URL(url);
  const tls = protocol === 'amqps:';
  return new Promise((resolve) => {
    const socket = net.connect({
      host: hostname || '127.0.0.1',
      port: Number(port || (tls ? 5671 : 5672)),
    });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(3_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => {
      if (tls) return done(true);
      socket.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]));
    });
    socket.once('data', (data) => done(data[0] === 1));
  });
}

async function startMongo() {
  if (env.MONGO_URL) {
    say(`using MONGO_URL ${env.MONGO_URL}`);
    return { url: env.MONGO_URL, stop: async () => {} };
  }
  const listen = `127.0.0.1:${env.MONGO_PORT ?? '27017'}`;
  const dataDir = path.join(root, '.data', 'ferretdb');
  const prefix = tag('mongo', 34);
  const server = await startFerret({
    dataDir,
    listen,
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

function startService({ name, port, color }, shared) {
  const dir = path.join(root, 'services', name);
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: dir,
    env: { ...env, ...shared, PORT: port },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = tag(name, color);
  pipeLines(child.stdout, prefix, process.stdout);
  pipeLines(child.stderr, prefix, process.stderr);
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  say(`${name} started (pid ${child.pid}) on port ${port}`);
  return { name, child, exited };
}

async function stopService({ child, exited }) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  await exited;
  clearTimeout(killer);
}

async function main() {
  buildIfStale();

  const amqpUrl = env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
  if (!(await amqpAnswers(amqpUrl))) {
    const where = new URL(amqpUrl).host;
    throw new Error(
      `RabbitMQ does not answer at ${where}. Start it (e.g. \`rabbitmq-server -detached\`) or set AMQP_URL.`,
    );
  }
  say(`RabbitMQ answers at ${new URL(amqpUrl).host}`);

  const mongo = await startMongo();
  const authPort = services[0].port;
  const shared = {
    MONGO_URL: mongo.url,
    AMQP_URL: amqpUrl,
    AUTH_URL: env.AUTH_URL ?? `http://127.0.0.1:${authPort}`,
    JWKS_URL: env.JWKS_URL ?? `http://127.0.0.1:${authPort}/.well-known/jwks.json`,
    CHAT_URL: env.CHAT_URL ?? `http://127.0.0.1:${services[1].port}`,
    NODE_ENV: env.NODE_ENV ?? 'development',
  };

  const runnable = services.filter(({ name }) =>
    existsSync(path.join(root, 'services', name, 'dist', 'main.js')),
  );
  if (runnable.length === 0)
    say('no service has dist/main.js yet; only the database runs. Ctrl-C stops it.');
  const running = runnable.map((service) => startService(service, shared));
  if (running.length === 0 && !mongo.exited) {
    say('nothing to run: no built service and MONGO_URL points at an outside database');
    return;
  }

  let stopping = false;
  const stopAll = async (reason) => {
    if (stopping) return;
    stopping = true;
    say(`stopping (${reason})`);
    await Promise.all(running.map(stopService));
    await mongo.stop();
  };

  process.once('SIGINT', () => void stopAll('SIGINT'));
  process.once('SIGTERM', () => void stopAll('SIGTERM'));

  // Whatever ends first decides: a signal (clean exit), or a child that died.
  const died = [
    ...running.map(({ name, exited }) => exited.then((how) => ({ name, ...how }))),
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
