// What the repo's small Go dev tools (tools/ferretdb, tools/toxiproxy) share: a build
// cached by the hash of what the binary is built from, and a start that waits for
// the tool's one `ready <url>` stdout line. Node builtins only, because CI calls the
// tools before anything else could be trusted to be installed.
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

// The binary is rebuilt only when what it is built from changes.
function sourceHash(sourceDir) {
  const goFiles = readdirSync(sourceDir).filter(
    (name) => name.endsWith('.go') && !name.endsWith('_test.go'),
  );
  const hash = createHash('sha256');
  for (const name of ['go.mod', 'go.sum', ...goFiles.sort()]) {
    hash.update(`${name}\0`);
    hash.update(readFileSync(path.join(sourceDir, name)));
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

function findGo(name, hint) {
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
      `Go is needed to build ${name} but was not found on PATH or in /usr/local/go/bin. ` +
        `Install Go >= 1.24 (https://go.dev/dl/)${hint ? `, or ${hint}` : ''}.`,
    );
  }
  return found;
}

/**
 * Builds the Go module in `sourceDir` to `binaryPath` unless the binary was already
 * built from the current go.mod, go.sum and *.go files. Returns the binary's path.
 * `missingGoHint` completes the error when Go is missing ("…, or <hint>.").
 */
export function ensureGoBinary({
  name,
  sourceDir,
  binaryPath,
  missingGoHint,
  log = (line) => console.error(line),
}) {
  const hashPath = `${binaryPath}.sha256`;
  const hash = sourceHash(sourceDir);
  if (
    existsSync(binaryPath) &&
    existsSync(hashPath) &&
    readFileSync(hashPath, 'utf8').trim() === hash
  ) {
    return binaryPath;
  }
  const go = findGo(name, missingGoHint);
  mkdirSync(path.dirname(binaryPath), { recursive: true });
  // Build to a private name and rename: two processes (CI step, jest setup) may
  // build at once, and neither must ever run a half-written binary.
  const tmp = `${binaryPath}.${process.pid}.tmp`;
  log(
    `${name}: building ${path.relative(process.cwd(), binaryPath)} with ${go} (first build takes a minute)…`,
  );
  const started = Date.now();
  const result = spawnSync(go, ['build', '-trimpath', '-o', tmp, '.'], {
    cwd: sourceDir,
    stdio: ['ignore', 'inherit', 'inherit'],
    // CGO off: the tools are pure Go, so no C toolchain is needed.
    env: { ...process.env, CGO_ENABLED: '0' },
  });
  if (result.error || result.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(
      `${name}: go build failed (${result.error?.message ?? `exit code ${result.status}`}); see the output above`,
    );
  }
  renameSync(tmp, binaryPath);
  writeFileSync(hashPath, `${hash}\n`);
  log(`${name}: built in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return binaryPath;
}

/**
 * Spawns `binary args` and resolves once it prints `ready <url>` on stdout, with
 * `{url, pid, stop, exited}`. The tools take -exit-on-stdin-close, so the child also
 * stops by itself if this process dies (its stdin pipe closes).
 */
export function startReadyChild({ name, binary, args, readyTimeoutMs = 30_000, onStderr }) {
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });

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
      reject(new Error(`${message}\n--- ${name} stderr ---\n${stderr.trim() || '(empty)'}`));
    };
    const timer = setTimeout(
      () => fail(`${name}: not ready within ${readyTimeoutMs / 1000}s (${args.join(' ')})`),
      readyTimeoutMs,
    );
    child.once('error', (err) => fail(`${name}: cannot start ${binary}: ${err.message}`));
    child.once('exit', (code, signal) =>
      fail(`${name}: exited before ready (code ${code}, signal ${signal})`),
    );
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /^ready (\S+)$/m.exec(stdout);
      if (!match || settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout.removeAllListeners('data');
      child.stdout.resume();
      resolve({ url: match[1].replace(/\/+$/, ''), pid: child.pid, stop, exited });
    });
  });
}
