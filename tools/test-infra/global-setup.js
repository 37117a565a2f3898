// Jest global setup: makes sure a MongoDB-compatible server and RabbitMQ answer, and
// exports MONGO_URL (no database; each test file picks its own) and AMQP_URL, which
// the jest workers inherit. Order (docs/design.md §8):
//   1. MONGO_URL / AMQP_URL already set: used as they are.
//   2. RabbitMQ already answering on 127.0.0.1:5672: used.
//   3. A Docker engine answering: testcontainers starts mongo (and rabbitmq if needed).
//   4. Otherwise: the FerretDB dev server from tools/ferretdb on a free port with a
//      fresh temp data dir, and `rabbitmq-server -detached` if RabbitMQ is down.
// What was started here is recorded in globalThis for global-teardown.js.
const { execFile, spawnSync } = require('node:child_process');
const { mkdtemp } = require('node:fs/promises');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { readInfraEnv } = require('./infra-env.js');

const localAmqpUrl = 'amqp://guest:guest@127.0.0.1:5672';
const rabbitStartTimeoutMs = 60_000;

function log(line) {
  process.stderr.write(`[test-infra] ${line}\n`);
}

function portAnswers(host, port, timeoutMs = 1_000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function amqpAnswers(url) {
  const amqp = require('amqplib');
  try {
    const connection = await amqp.connect(url, { timeout: 2_000 });
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

function dockerAnswers(settings) {
  if (settings.PARLEY_NO_DOCKER === '1') return Promise.resolve(false);
  return new Promise((resolve) => {
    execFile('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 5_000 }, (err) =>
      resolve(!err),
    );
  });
}

function commandExists(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

async function startLocalRabbitmq() {
  log('RabbitMQ is not answering on 127.0.0.1:5672; running `rabbitmq-server -detached`');
  const result = spawnSync('rabbitmq-server', ['-detached'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    throw new Error(`rabbitmq-server -detached failed: ${result.error?.message ?? result.stderr}`);
  }
  const deadline = Date.now() + rabbitStartTimeoutMs;
  while (Date.now() < deadline) {
    if ((await portAnswers('127.0.0.1', 5672)) && (await amqpAnswers(localAmqpUrl))) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(
    `RabbitMQ started with rabbitmq-server did not accept AMQP connections within ${rabbitStartTimeoutMs / 1000}s`,
  );
}

async function provideAmqp(started, settings, docker) {
  if (settings.AMQP_URL !== undefined) return settings.AMQP_URL;
  if (await portAnswers('127.0.0.1', 5672)) return localAmqpUrl;
  if (await docker()) {
    const { RabbitMQContainer } = require('@testcontainers/rabbitmq');
    log('starting rabbitmq with testcontainers');
    const container = await new RabbitMQContainer('rabbitmq:3.13-alpine').start();
    started.containers.push(container);
    return container.getAmqpUrl();
  }
  if (commandExists('rabbitmq-server')) {
    await startLocalRabbitmq();
    started.rabbitmqServer = true;
    return localAmqpUrl;
  }
  throw new Error(
    'No RabbitMQ for the tests: set AMQP_URL, start RabbitMQ on 127.0.0.1:5672, install rabbitmq-server, or run a Docker engine.',
  );
}

async function provideMongo(started, settings, docker) {
  if (settings.MONGO_URL !== undefined) return settings.MONGO_URL;
  if (await docker()) {
    const { MongoDBContainer } = require('@testcontainers/mongodb');
    log('starting mongo with testcontainers');
    const container = await new MongoDBContainer('mongo:7').start();
    started.containers.push(container);
    // The image runs a one-node replica set; connect to it directly.
    return `${container.getConnectionString()}/?directConnection=true`;
  }
  const { startFerret } = await import(
    pathToFileURL(path.join(__dirname, '..', 'ferretdb', 'ferretdb.mjs')).href
  );
  started.ferretDataDir = await mkdtemp(path.join(os.tmpdir(), 'parley-ferretdb-'));
  started.ferret = await startFerret({
    dataDir: started.ferretDataDir,
    // warn logs every error reply (e.g. the driver's endSessions); errors only.
    logLevel: 'error',
    onStderr: (chunk) => process.stderr.write(chunk.replace(/^(?=.)/gm, '[ferretdb] ')),
  });
  log(`FerretDB dev server at ${started.ferret.url} (data in ${started.ferretDataDir})`);
  return started.ferret.url;
}

module.exports = async function globalSetup() {
  const settings = readInfraEnv();
  const started = {
    containers: [],
    ferret: undefined,
    ferretDataDir: undefined,
    rabbitmqServer: false,
  };
  globalThis.__PARLEY_TEST_INFRA__ = started;
  let dockerCheck;
  const docker = () => (dockerCheck ??= dockerAnswers(settings));
  const [mongo, amqp] = await Promise.allSettled([
    provideMongo(started, settings, docker),
    provideAmqp(started, settings, docker),
  ]);
  if (mongo.status === 'rejected' || amqp.status === 'rejected') {
    // Jest skips the global teardown when the setup throws, so clean up here.
    await require('./global-teardown.js')();
    throw mongo.status === 'rejected' ? mongo.reason : amqp.reason;
  }
  process.env.MONGO_URL = mongo.value;
  process.env.AMQP_URL = amqp.value;
  // The fault tests (e2e/faults) drive Toxiproxy. Build it here, once and cached, so a
  // cold Go module cache costs the setup a minute instead of timing out a beforeAll.
  const { ensureBuilt: ensureToxiproxy } = await import(
    pathToFileURL(path.join(__dirname, '..', 'toxiproxy', 'toxiproxy.mjs')).href
  );
  ensureToxiproxy({ log });
};
