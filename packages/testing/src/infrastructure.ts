// What Parley runs on — a MongoDB-compatible server and RabbitMQ — found or started.
// The jest global setup asks for both in docs/design.md §8's order (its variables are
// in infra-env.ts):
//   1. MONGO_URL / AMQP_URL already set: used as they are.
//   2. RabbitMQ already answering on 127.0.0.1:5672: used.
//   3. A Docker engine answering: testcontainers starts mongo (and rabbitmq if needed).
//   4. Otherwise: the FerretDB dev server (tools/ferretdb) on port 0 with a fresh temp
//      data dir, and `rabbitmq-server -detached` if RabbitMQ is down.
// `pnpm start` (tools/start.mjs), the bench and the overload repro start the FerretDB
// dev server and check RabbitMQ with the same functions.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import amqplib from 'amqplib';
import { readInfraEnv, type InfraEnv } from './infra-env';
import { localAmqpUrl } from './infra-urls';
import type { ExitInfo } from './node-process';
import { repoRoot } from './repo-root';
import { waitFor } from './wait-for';

export type Log = (line: string) => void;

export interface RunningFerretDb {
  /** `mongodb://127.0.0.1:<port>`, no database: callers append one. */
  url: string;
  pid: number | undefined;
  /** Resolves when the server exits. */
  exited: Promise<ExitInfo>;
  /** SIGTERM, SIGKILL after 5 s; safe to call twice. */
  stop(): Promise<void>;
}

export interface StartFerretDbOptions {
  dataDir: string;
  /** `host:port`; default `127.0.0.1:0` (the server reports the port it got). */
  listen?: string;
  logLevel?: string;
  onStderr?: (chunk: string) => void;
}

// tools/*.mjs are ES modules that CI runs before anything is installed or built; they
// are loaded, not copied. (A native import(): this runs in Node, never in a jest VM.)
function importTool<T>(...segments: string[]): Promise<T> {
  return import(pathToFileURL(path.join(repoRoot, 'tools', ...segments)).href) as Promise<T>;
}

/**
 * Starts the FerretDB dev server (building it first if its sources changed) and
 * resolves once it listens. It stops by itself if this process dies.
 */
export async function startFerretDb(options: StartFerretDbOptions): Promise<RunningFerretDb> {
  const tool = await importTool<{
    startFerret(options: StartFerretDbOptions): Promise<RunningFerretDb>;
  }>('ferretdb', 'ferretdb.mjs');
  return tool.startFerret(options);
}

/** Builds toxiproxy-dev unless it is current (the first build downloads Go modules). */
export async function ensureToxiproxyBuilt(log: Log): Promise<void> {
  const tool = await importTool<{ ensureBuilt(options: { log: Log }): string }>(
    'toxiproxy',
    'toxiproxy.mjs',
  );
  tool.ensureBuilt({ log });
}

/** True when an AMQP connection with these credentials opens within `timeoutMs`. */
export async function amqpAnswers(url: string, timeoutMs = 2_000): Promise<boolean> {
  try {
    const connection = await amqplib.connect(url, { timeout: timeoutMs });
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

function dockerAnswers(settings: InfraEnv): Promise<boolean> {
  if (settings.PARLEY_NO_DOCKER === '1') return Promise.resolve(false);
  return new Promise((resolve) => {
    execFile('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 5_000 }, (err) =>
      resolve(!err),
    );
  });
}

function commandExists(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

const rabbitStartTimeoutMs = 60_000;

/** True when the machine's RabbitMQ node answers its CLI, however slow its AMQP side is. */
function localRabbitmqNodeRunning(): boolean {
  return (
    spawnSync('rabbitmqctl', ['-q', 'ping'], { stdio: 'ignore', timeout: 30_000 }).status === 0
  );
}

/**
 * Starts the machine's RabbitMQ unless its node is running already; resolves whether
 * this call started it (and so may stop it). A busy machine can make a running broker
 * miss the first AMQP check: stopping a node the setup did not start would take the
 * broker away from everything else on the machine, so a running node is only waited for.
 */
async function startLocalRabbitmq(log: Log): Promise<'started' | 'found'> {
  const running = localRabbitmqNodeRunning();
  if (running) {
    log('RabbitMQ on 127.0.0.1:5672 is slow to answer but its node is running; waiting for it');
  } else {
    log('RabbitMQ is not answering on 127.0.0.1:5672; running `rabbitmq-server -detached`');
    const result = spawnSync('rabbitmq-server', ['-detached'], { encoding: 'utf8' });
    if (result.error || result.status !== 0) {
      throw new Error(
        `rabbitmq-server -detached failed: ${result.error?.message ?? result.stderr}`,
      );
    }
  }
  await waitFor(() => amqpAnswers(localAmqpUrl, 5_000), {
    timeoutMs: rabbitStartTimeoutMs,
    intervalMs: 500,
    description: 'the RabbitMQ started with rabbitmq-server to accept AMQP connections',
  });
  return running ? 'found' : 'started';
}

function stopLocalRabbitmq(): void {
  const result = spawnSync('rabbitmqctl', ['shutdown'], { encoding: 'utf8', timeout: 60_000 });
  if (result.error || result.status !== 0) throw new Error(result.error?.message ?? result.stderr);
}

export interface TestInfrastructure {
  /** A server URL without a database (each test file picks its own). */
  mongoUrl: string;
  amqpUrl: string;
  /** Stops what was started here (and only that); safe to call twice. */
  stop(): Promise<void>;
}

/**
 * MONGO_URL and AMQP_URL for a test run, found or started in the order above. What it
 * started, stop() stops (a RabbitMQ it started keeps running with PARLEY_KEEP_RABBITMQ=1).
 * If either cannot be provided, what was started is stopped before it throws.
 */
export async function provideTestInfrastructure({
  log,
}: {
  log: Log;
}): Promise<TestInfrastructure> {
  const settings = readInfraEnv();
  const cleanups: { what: string; run: () => Promise<void> | void }[] = [];
  let dockerCheck: Promise<boolean> | undefined;
  const docker = () => (dockerCheck ??= dockerAnswers(settings));

  const provideAmqp = async (): Promise<string> => {
    if (settings.AMQP_URL !== undefined) return settings.AMQP_URL;
    if (await amqpAnswers(localAmqpUrl, 5_000)) return localAmqpUrl;
    if (await docker()) {
      const { RabbitMQContainer } = await import('@testcontainers/rabbitmq');
      log('starting rabbitmq with testcontainers');
      const container = await new RabbitMQContainer('rabbitmq:3.13-alpine').start();
      cleanups.push({ what: 'stop container', run: async () => void (await container.stop()) });
      return container.getAmqpUrl();
    }
    if (commandExists('rabbitmq-server')) {
      if ((await startLocalRabbitmq(log)) === 'found') return localAmqpUrl;
      cleanups.push({
        what: 'stop RabbitMQ',
        run: () => {
          if (settings.PARLEY_KEEP_RABBITMQ === '1') return;
          log('stopping the RabbitMQ started by the test setup (PARLEY_KEEP_RABBITMQ=1 keeps it)');
          stopLocalRabbitmq();
        },
      });
      return localAmqpUrl;
    }
    throw new Error(
      'No RabbitMQ for the tests: set AMQP_URL, start RabbitMQ on 127.0.0.1:5672, install rabbitmq-server, or run a Docker engine.',
    );
  };

  const provideMongo = async (): Promise<string> => {
    if (settings.MONGO_URL !== undefined) return settings.MONGO_URL;
    if (await docker()) {
      const { MongoDBContainer } = await import('@testcontainers/mongodb');
      log('starting mongo with testcontainers');
      const container = await new MongoDBContainer('mongo:7').start();
      cleanups.push({ what: 'stop container', run: async () => void (await container.stop()) });
      // The image runs a one-node replica set; connect to it directly.
      return `${container.getConnectionString()}/?directConnection=true`;
    }
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'parley-ferretdb-'));
    cleanups.push({
      what: 'remove FerretDB data',
      run: () => rm(dataDir, { recursive: true, force: true }),
    });
    const ferret = await startFerretDb({
      dataDir,
      // warn logs every error reply (e.g. the driver's endSessions); errors only.
      logLevel: 'error',
      onStderr: (chunk) => process.stderr.write(chunk.replace(/^(?=.)/gm, '[ferretdb] ')),
    });
    cleanups.push({ what: 'stop FerretDB', run: () => ferret.stop() });
    log(`FerretDB dev server at ${ferret.url} (data in ${dataDir})`);
    return ferret.url;
  };

  let stopped: Promise<void> | undefined;
  // newest first: FerretDB stops before its data dir is removed
  const stop = () =>
    (stopped ??= (async () => {
      const failures: string[] = [];
      for (const { what, run } of cleanups.reverse()) {
        try {
          await run();
        } catch (err) {
          failures.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      if (failures.length > 0) log(`teardown incomplete:\n  ${failures.join('\n  ')}`);
    })());

  const [mongo, amqp] = await Promise.allSettled([provideMongo(), provideAmqp()]);
  if (mongo.status === 'rejected' || amqp.status === 'rejected') {
    await stop();
    throw mongo.status === 'rejected' ? mongo.reason : (amqp as PromiseRejectedResult).reason;
  }
  return { mongoUrl: mongo.value, amqpUrl: amqp.value, stop };
}
