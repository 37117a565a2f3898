// The repo's Go dev tools (tools/ferretdb, tools/toxiproxy) as child processes of a
// test: `node tools/<tool>/<tool>.mjs start …` builds the binary when its sources
// changed and prints the URL it listens on. A child process rather than an import:
// tools/*.mjs are ES modules, which a test inside jest's sandbox cannot import (outside
// jest, infrastructure.ts imports them).
import path from 'node:path';
import { spawnNode, type ExitInfo } from './node-process';
import { repoRoot } from './repo-root';

export interface ToolProcess {
  /** What the tool announced, e.g. `mongodb://127.0.0.1:41234`. */
  url: string;
  pid: number | undefined;
  exited: Promise<ExitInfo>;
  /** SIGTERM, SIGKILL after 5 s; safe to call twice. */
  stop(): Promise<void>;
}

export interface ToolProcessOptions {
  tool: 'ferretdb' | 'toxiproxy';
  /** Arguments after `<tool>.mjs start`. */
  args: readonly string[];
  /** The stdout line announcing the URL (its first group). */
  readyLine: RegExp;
  /** The first start may build the binary (and download Go modules). */
  readyTimeoutMs?: number;
  /**
   * How long to keep trying while the address in `--listen` is taken, for a tool that
   * must come back on the port it had (default 0: fail at once).
   */
  portRetryMs?: number;
}

function startOnce(options: ToolProcessOptions): Promise<ToolProcess> {
  const { tool, readyLine, readyTimeoutMs = 180_000 } = options;
  let output = '';
  return new Promise((resolve, reject) => {
    let stopping: Promise<void> | undefined;
    const stop = () => (stopping ??= child.stop().then(() => undefined));
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${tool} not ready within ${readyTimeoutMs} ms\n${output}`));
    }, readyTimeoutMs);
    const child = spawnNode({
      label: tool,
      args: [path.join(repoRoot, 'tools', tool, `${tool}.mjs`), 'start', ...options.args],
      cwd: repoRoot,
      env: {},
      stopTimeoutMs: 5_000,
      onLine: (line) => {
        output = `${output}${line}\n`.slice(-8_000);
        const url = readyLine.exec(line)?.[1];
        if (url === undefined) return;
        clearTimeout(timer);
        resolve({ url, pid: child.pid, exited: child.exited, stop });
      },
    });
    void child.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${tool} exited before ready (${code ?? signal})\n${output}`));
    });
  });
}

/**
 * Starts the tool and resolves once it announced its URL; it stops with stop(), and by
 * itself if this process dies.
 */
export async function startToolProcess(options: ToolProcessOptions): Promise<ToolProcess> {
  const retryUntil = Date.now() + (options.portRetryMs ?? 0);
  for (;;) {
    try {
      return await startOnce(options);
    } catch (err) {
      const taken = /address already in use|EADDRINUSE/.test(String(err));
      if (!taken || Date.now() >= retryUntil) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/**
 * The FerretDB dev server as a child process, for a test that stops and restarts its
 * own server; `listen` defaults to `127.0.0.1:0`. Give `portRetryMs` when it must come
 * back on a port it had. (The jest global setup, `pnpm start` and the bench use
 * startFerretDb instead, which runs the binary without a Node process in between.)
 */
export function startFerretDbProcess(options: {
  dataDir: string;
  listen?: string;
  logLevel?: string;
  portRetryMs?: number;
}): Promise<ToolProcess> {
  return startToolProcess({
    tool: 'ferretdb',
    args: [
      '--data',
      options.dataDir,
      '--listen',
      options.listen ?? '127.0.0.1:0',
      '--log-level',
      options.logLevel ?? 'error',
    ],
    readyLine: /^ferretdb: listening at (\S+)/,
    ...(options.portRetryMs === undefined ? {} : { portRetryMs: options.portRetryMs }),
  });
}
