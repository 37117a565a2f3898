// The peer of `pnpm bench --peer centrifugo`: Centrifugo at a pinned version, built
// once with `go install` into a cache directory outside the repo, and run with a
// config generated into the run's temp directory (nothing is written to the repo).
// Clients authenticate with HS256 connection tokens signed with the generated secret;
// the bench publishes through the server API with the generated key.
import { execFile, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

export const CENTRIFUGO_VERSION = 'v6.9.1';
const MODULE = 'github.com/centrifugal/centrifugo/v6';
const run = promisify(execFile);

function cacheDir() {
  const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(base, 'parley-bench', `centrifugo-${CENTRIFUGO_VERSION}`);
}

/**
 * The binary, built when missing; `{ skipped }` with one line saying why when Go is
 * not installed or the build failed.
 */
export async function buildCentrifugo(log) {
  const dir = cacheDir();
  const binary = path.join(dir, 'centrifugo');
  if (!existsSync(binary)) {
    try {
      await run('go', ['version']);
    } catch {
      return { skipped: 'peer centrifugo skipped: `go` is not installed (needed to build it)' };
    }
    mkdirSync(dir, { recursive: true });
    log(`building Centrifugo ${CENTRIFUGO_VERSION} into ${dir} (once; a few minutes)`);
    try {
      await run('go', ['install', `${MODULE}@${CENTRIFUGO_VERSION}`], {
        env: { ...process.env, GOBIN: dir },
        maxBuffer: 16 * 2 ** 20,
      });
    } catch (err) {
      return {
        skipped: `peer centrifugo skipped: go install failed: ${String(err).split('\n')[0]}`,
      };
    }
  }
  // `go install` stamps no version into the binary (its `version` says v0.0.0): read
  // the module version from the build info instead
  let version = `Centrifugo ${CENTRIFUGO_VERSION}`;
  try {
    const { stdout } = await run('go', ['version', '-m', binary]);
    const mod = /^\s*mod\s+(\S+)\s+(\S+)/m.exec(stdout);
    if (mod) version = `Centrifugo ${mod[2]} (${mod[1]}, ${stdout.split('\n')[0].split(': ')[1]})`;
  } catch {
    // no Go to ask: the pinned version it was built from
  }
  return { binary, version };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts Centrifugo with a generated config in `dir`; resolves once its health answers. */
export async function startCentrifugo({ binary, dir, logDir }) {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const secret = randomBytes(32).toString('hex');
  const apiKey = randomBytes(16).toString('hex');
  const configFile = path.join(dir, 'centrifugo.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      client: { token: { hmac_secret_key: secret }, allowed_origins: ['*'] },
      http_api: { key: apiKey },
      channel: { without_namespace: { allow_subscribe_for_client: true } },
      http_server: { address: '127.0.0.1', port },
      health: { enabled: true },
      log: { level: 'error' },
    }),
  );
  const out = openSync(path.join(logDir, 'centrifugo.log'), 'a');
  // its soft open-file limit raised to the hard one, as every bench process
  const child = spawn(
    'sh',
    ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', binary, '--config', configFile],
    { cwd: dir, stdio: ['ignore', out, out] },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const proc = {
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(`centrifugo did not answer on ${url}/health (log in ${logDir})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    pid: child.pid,
    url,
    wsUrl: url.replace('http', 'ws'),
    apiKey,
    stop: () => proc.stop(),
    /** An HS256 connection token for `userId`, valid for `ttlSeconds`. */
    token(userId, ttlSeconds = 4 * 3600) {
      const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({
        sub: userId,
        exp: Math.floor(Date.now() / 1000) + ttlSeconds,
      })}`;
      return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
    },
  };
}
