// Builds and runs the FerretDB dev server (main.go), the MongoDB-compatible server
// that development, tests and CI use where there is no MongoDB or Docker (docs/design.md §8).
//
//   node tools/ferretdb/ferretdb.mjs build
//   node tools/ferretdb/ferretdb.mjs start [--data DIR] [--listen ADDR] [--log-level LEVEL]
//
// As a module: ensureBuilt() and startFerret(). Node builtins only, because CI
// calls it before anything else could be trusted to be installed.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { ensureGoBinary, startReadyChild } from '../go-binary.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const binaryPath = path.join(here, 'bin', 'ferretdb-dev');

/**
 * Builds bin/ferretdb-dev unless the binary was already built from the current
 * go.mod, go.sum and *.go files. Returns the binary's path.
 */
export function ensureBuilt({ log } = {}) {
  return ensureGoBinary({
    name: 'ferretdb',
    sourceDir: here,
    binaryPath,
    patchFile: 'patches.json',
    missingGoHint: 'set MONGO_URL to an existing MongoDB to skip the dev server',
    log,
  });
}

/**
 * Starts the dev server and resolves once it listens.
 * `url` has no database (e.g. mongodb://127.0.0.1:41234); callers append one.
 * The server stops by itself if this process dies (its stdin closes).
 */
export function startFerret({ dataDir, listen = '127.0.0.1:0', logLevel = 'warn', onStderr } = {}) {
  if (!dataDir) throw new Error('startFerret: dataDir is required');
  return startReadyChild({
    name: 'ferretdb',
    binary: ensureBuilt(),
    args: ['-listen', listen, '-data', dataDir, '-log-level', logLevel, '-exit-on-stdin-close'],
    onStderr,
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
