// Builds and runs toxiproxy-dev (main.go): Shopify's Toxiproxy embedded in one
// binary, the TCP proxy the fault tests (e2e/faults) put between the services and
// MongoDB/RabbitMQ to cut, stall and restore those links for real.
//
//   node tools/toxiproxy/toxiproxy.mjs build
//   node tools/toxiproxy/toxiproxy.mjs start [--listen ADDR] [--log-level LEVEL]
//
// `start` prints `ready <api-url>` once the API answers and stops on SIGINT/SIGTERM or
// when its stdin closes, so a test runner can start it as a child (@parley/testing
// does). As a module: ensureBuilt() and startToxiproxy().
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { ensureGoBinary, startReadyChild } from '../go-binary.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const binaryPath = path.join(here, 'bin', 'toxiproxy-dev');

/** Builds bin/toxiproxy-dev unless it is current with go.mod, go.sum and main.go. */
export function ensureBuilt({ log } = {}) {
  return ensureGoBinary({ name: 'toxiproxy', sourceDir: here, binaryPath, log });
}

/** Starts the proxy server; resolves with `{url, pid, stop, exited}` once its API listens. */
export function startToxiproxy({ listen = '127.0.0.1:0', logLevel = 'warn', onStderr } = {}) {
  return startReadyChild({
    name: 'toxiproxy',
    binary: ensureBuilt(),
    args: ['-listen', listen, '-log-level', logLevel, '-exit-on-stdin-close'],
    onStderr,
  });
}

function parseArgs(argv) {
  const options = {};
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (!['--listen', '--log-level'].includes(flag) || value === undefined) {
      throw new Error(`unknown or incomplete option: ${flag}`);
    }
    options[flag.slice(2)] = value;
  }
  return options;
}

async function main([command, ...rest]) {
  if (command === 'build') {
    ensureBuilt({ log: (line) => console.log(line) });
    console.log(`toxiproxy: ${path.relative(process.cwd(), binaryPath)} is up to date`);
    return;
  }
  if (command === 'start') {
    const options = parseArgs(rest);
    const server = await startToxiproxy({
      listen: options.listen,
      logLevel: options['log-level'],
      onStderr: (chunk) => process.stderr.write(chunk),
    });
    console.log(`ready ${server.url}`);
    const shutdown = () => void server.stop();
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
    // the parent (a test runner) is gone: stop rather than leave proxies listening
    process.stdin.once('end', shutdown).resume();
    const { code, signal } = await server.exited;
    process.exitCode = code === 0 || signal === 'SIGTERM' ? 0 : 1;
    process.stdin.pause();
    return;
  }
  console.error('usage: toxiproxy.mjs build | start [--listen ADDR] [--log-level LEVEL]');
  process.exitCode = 2;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
