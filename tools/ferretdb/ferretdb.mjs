// Builds and runs the FerretDB dev server (main.go), the MongoDB-compatible server
// that development, tests and CI use where there is no MongoDB or Docker (DESIGN.md §8).
//
//   node tools/ferretdb/ferretdb.mjs build
//   node tools/ferretdb/ferretdb.mjs start [--data DIR] [--listen ADDR] [--log-level LEVEL]
//
// As a module: ensureBuilt() and startFerret(). Node builtins only, because CI
// calls it before anything else could be trusted to be installed.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const binaryPath = path.join(here, 'bin', 'ferretdb-dev');
const hashPath = `${binaryPath}.sha256`;
const readyTimeoutMs = 30_000;

// The binary is rebuilt only when what it is built from changes.
function sourceHash() {
  const goFiles = readdirSync(here).filter(
    (name) => name.endsWith('.go') && !name.endsWith('_test.go'),
  );
  const hash = createHash('sha256');
  for (const name of ['go.mod', 'go.sum', ...goFiles.sort()]) {
    hash.update(`${name}\0`);
    hash.update(readFileSync(path.join(here, name)));
  }
  return hash.digest('hex');
}

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findGo() {
  const onPath = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => path.join(dir, 'go'));
  const candidates = [
    ...onPath,
    process.env.GOROOT ? path.join(process.env.GOROOT, 'bin', 'go') : undefined,
    '/usr/local/go/bin/go',
  ].filter(Boolean);
  const found = candidates.find(isExecutable);
  if (!found) {
    throw new Error(
      'Go is needed to build the FerretDB dev server (tools/ferretdb) but was not found ' +
        'on PATH or in /usr/local/go/bin. Install Go >= 1.24 (https://go.dev/dl/), or set ' +
        'MONGO_URL to an existing MongoDB to skip the dev server.',
    );
  }
  return found;
}

/**
 * Builds bin/ferretdb-dev unless the binary was already built from the current
 * go.mod, go.sum and main.go. Returns the binary's path.
 */
export function ensureBuilt({ log = (line) => console.error(line) } = {}) {
  const hash = sourceHash();
  if (
    existsSync(binaryPath) &&
    existsSync(hashPath) &&
    readFileSync(hashPath, 'utf8').trim() === hash
  ) {
    return binaryPath;
  }
  const go = findGo();
  mkdirSync(path.dirname(binaryPath), { recursive: true });
  // Build to a private name and rename: two processes (CI step, jest setup) may
  // build at once, and neither must ever run a half-written binary.
  const tmp = `${binaryPath}.${process.pid}.tmp`;
  log(
    `ferretdb: building ${path.relative(process.cwd(), binaryPath)} with ${go} (first build takes a minute)…`,
  );
  const started = Date.now();
  const result = spawnSync(go, ['build', '-trimpath', '-o', tmp, '.'], {
    cwd: here,
    stdio: ['ignore', 'inherit', 'inherit'],
    // CGO off: FerretDB's SQLite backend is pure Go, so no C toolchain is needed.
    env: { ...process.env, CGO_ENABLED: '0' },
  });
  if (result.error || result.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(
      `ferretdb: go build failed (${result.error?.message ?? `exit code ${result.status}`}); see the output above`,
    );
  }
  renameSync(tmp, binaryPath);
  writeFileSync(hashPath, `${hash}\n`);
  log(`ferretdb: built in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return binaryPath;
}

/**
 * Starts the dev server and resolves once it listens.
 * `url` has no database (e.g. mongodb://127.0.0.1:41234); callers append one.
 * The server stops by itself if this process dies (its stdin closes).
 */
export function startFerret({ dataDir, listen = '127.0.0.1:0', logLevel = 'warn', onStderr } = {}) {
  if (!dataDir) throw new Error('startFerret: dataDir is required');
  const binary = ensureBuilt();
  const child = spawn(
    binary,
    ['-listen', listen, '-data', dataDir, '-log-level', logLevel, '-exit-on-stdin-close'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );

  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-8_000);
    onStderr?.(chunk);
  });

  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );

  async function stop() {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killer);
  }

  return new Promise((resolve, reject) => {
    let stdout = '';
    let settled = false;
    const fail = (message) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stop();
      reject(new Error(`${message}\n--- ferretdb stderr ---\n${stderr.trim() || '(empty)'}`));
    };
    const timer = setTimeout(
      () =>
        fail(
          `ferretdb: not ready within ${readyTimeoutMs / 1000}s (listen ${listen}, data ${dataDir})`,
        ),
      readyTimeoutMs,
    );
    child.once('error', (err) => fail(`ferretdb: cannot start ${binary}: ${err.message}`));
    child.once('exit', (code, signal) =>
      fail(`ferretdb: exited before ready (code ${code}, signal ${signal})`),
    );
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /^ready (mongodb:\/\/\S+)$/m.exec(stdout);
      if (!match || settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout.removeAllListeners('data');
      child.stdout.resume();
      resolve({ url: match[1].replace(/\/+$/, ''), pid: child.pid, stop, exited });
    });
  });
}

function parseArgs(argv) {
  const options = {};
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (!['--data', '--listen', '--log-level'].includes(flag) || value === undefined) {
      throw new Error(`unknown or incomplete option: ${flag}`);
    }
    options[flag.slice(2)] = value;
    i += 1;
  }
  return options;
}

async function main([command, ...rest]) {
  if (command === 'build') {
    ensureBuilt({ log: (line) => console.log(line) });
    console.log(`ferretdb: ${path.relative(process.cwd(), binaryPath)} is up to date`);
    return;
  }
  if (command === 'start') {
    const options = parseArgs(rest);
    const dataDir = path.resolve(options.data ?? '.data/ferretdb');
    const server = await startFerret({
      dataDir,
      listen: options.listen ?? `127.0.0.1:${process.env.MONGO_PORT ?? '27017'}`,
      logLevel: options['log-level'] ?? 'info',
      onStderr: (chunk) => process.stderr.write(chunk),
    });
    console.log(`ferretdb: listening at ${server.url} (data in ${dataDir}); Ctrl-C stops it`);
    const shutdown = () => void server.stop();
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
    const { code, signal } = await server.exited;
    process.exitCode = code === 0 || signal === 'SIGTERM' ? 0 : 1;
    return;
  }
  console.error(
    'usage: ferretdb.mjs build | start [--data DIR] [--listen ADDR] [--log-level LEVEL]',
  );
  process.exitCode = 2;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
