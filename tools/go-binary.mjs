// What the repo's small Go dev tools (tools/ferretdb, tools/toxiproxy) share: a build
// cached by the hash of what the binary is built from, and a start that waits for
// the tool's one `ready <url>` stdout line. Node builtins only, because CI calls the
// tools before anything else could be trusted to be installed.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  constants,
  cpSync,
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
function sourceHash(sourceDir, extraFiles) {
  const goFiles = readdirSync(sourceDir).filter(
    (name) => name.endsWith('.go') && !name.endsWith('_test.go'),
  );
  const hash = createHash('sha256');
  for (const name of ['go.mod', 'go.sum', ...goFiles.sort(), ...extraFiles]) {
    hash.update(`${name}\0`);
    hash.update(readFileSync(path.join(sourceDir, name)));
  }
  return hash.digest('hex');
}

// Module patches: a tool may fix a dependency's bug before upstream does. The patch
// file (JSON, in the tool's folder) names a module and exact text edits to its files;
// the module is copied out of the read-only module cache next to the binary, edited,
// and the build uses it through a `replace` in a generated go.mod (-modfile), so the
// tool's own go.mod stays the plain upstream requirement. An edit whose text is not
// found exactly once fails the build: a new upstream version must be re-checked.
function readPatches(sourceDir, patchFile) {
  const spec = JSON.parse(readFileSync(path.join(sourceDir, patchFile), 'utf8'));
  if (typeof spec.module !== 'string' || !Array.isArray(spec.edits)) {
    throw new Error(`${patchFile}: needs "module" and "edits"`);
  }
  return spec;
}

function makeWritable(dir) {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) makeWritable(full);
    else chmodSync(full, 0o644);
  }
}

function goRun(go, args, cwd) {
  const result = spawnSync(go, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, CGO_ENABLED: '0' },
  });
  if (result.error || result.status !== 0) {
    throw new Error(
      `go ${args.join(' ')} failed: ${result.error?.message ?? result.stderr.trim()}`,
    );
  }
  return result.stdout;
}

/** Copies and edits the patched module; returns the -modfile to build with. */
function preparePatchedModule({ go, name, sourceDir, workDir, patchFile }) {
  const spec = readPatches(sourceDir, patchFile);
  const info = JSON.parse(goRun(go, ['mod', 'download', '-json', spec.module], sourceDir));
  if (!info.Dir) throw new Error(`${name}: go mod download gave no directory for ${spec.module}`);
  const copy = path.join(workDir, `${path.basename(spec.module)}@${info.Version}`);
  rmSync(copy, { recursive: true, force: true });
  cpSync(info.Dir, copy, { recursive: true });
  makeWritable(copy);
  for (const edit of spec.edits) {
    // find and replace are arrays of lines, so the JSON stays readable
    const find = edit.find.join('\n');
    const replacement = edit.replace.join('\n');
    const file = path.join(copy, edit.file);
    const text = readFileSync(file, 'utf8');
    const count = text.split(find).length - 1;
    if (count !== 1) {
      throw new Error(
        `${name}: patch "${edit.why}" expects its text once in ${edit.file} of ${spec.module}@${info.Version}, found ${count}`,
      );
    }
    writeFileSync(
      file,
      text.replace(find, () => replacement),
    );
  }
  const modFile = path.join(workDir, 'go.mod');
  const goMod = readFileSync(path.join(sourceDir, 'go.mod'), 'utf8');
  writeFileSync(modFile, `${goMod.trimEnd()}\n\nreplace ${spec.module} => ${copy}\n`);
  writeFileSync(path.join(workDir, 'go.sum'), readFileSync(path.join(sourceDir, 'go.sum')));
  return modFile;
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
 * built from the current go.mod, go.sum, *.go files and patch file. Returns the
 * binary's path. `patchFile` (in sourceDir) edits one dependency (see readPatches).
 * `missingGoHint` completes the error when Go is missing ("…, or <hint>.").
 */
export function ensureGoBinary({
  name,
  sourceDir,
  binaryPath,
  patchFile,
  missingGoHint,
  log = (line) => console.error(line),
}) {
  const hashPath = `${binaryPath}.sha256`;
  const hash = sourceHash(sourceDir, patchFile ? [patchFile] : []);
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
  // per process, like the binary: a concurrent build must not edit this one's copy
  const workDir = `${binaryPath}.${process.pid}.src`;
  let result;
  try {
    const modArgs = [];
    if (patchFile) {
      mkdirSync(workDir, { recursive: true });
      const modFile = preparePatchedModule({ go, name, sourceDir, workDir, patchFile });
      modArgs.push(`-modfile=${modFile}`);
    }
    result = spawnSync(go, ['build', '-trimpath', ...modArgs, '-o', tmp, '.'], {
      cwd: sourceDir,
      stdio: ['ignore', 'inherit', 'inherit'],
      // CGO off: the tools are pure Go, so no C toolchain is needed.
      env: { ...process.env, CGO_ENABLED: '0' },
    });
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
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
