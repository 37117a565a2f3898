// One Node child process, as every launcher here needs it: its output read line by
// line (and appended to a log file), an optional IPC channel, an optional raised
// open-file limit, and stop() with a SIGKILL bound.
//
// No child outlives the process that started it: every live child is killed when this
// process exits, and each child runs exit-with-parent.cjs, which shuts it down when
// this process dies without exiting cleanly (a crashed or SIGKILLed jest worker).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

export type Env = Record<string, string>;

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface NodeProcessOptions {
  /** Names it in notes and errors, e.g. `websocket-1`. */
  label: string;
  /** What follows `node`: flags, the script, its arguments. */
  args: readonly string[];
  cwd: string;
  /** The child's whole environment (PATH is added when missing). */
  env: Env;
  /** stdout and stderr lines are appended here. */
  logFile?: string;
  /** Each line of output, as it comes. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Opens an IPC channel (child.send, the child's 'message' events). */
  ipc?: boolean;
  /**
   * Raises the child's soft open-file limit to the hard one (10,000 sockets need more
   * than the usual 1,024), through `sh -c 'ulimit -n …; exec node …'`.
   */
  raiseFileLimit?: boolean;
  /** Bound on stop()'s wait after its signal before SIGKILL (default 10 000 ms). */
  stopTimeoutMs?: number;
}

export interface NodeProcess {
  readonly label: string;
  readonly child: ChildProcess;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Resolves when it exits. */
  readonly exited: Promise<ExitInfo>;
  /**
   * Sends `signal` (SIGTERM by default) and resolves with how it exited; SIGKILL after
   * `timeoutMs` if it has not. At once when it is not running.
   */
  stop(options?: { signal?: NodeJS.Signals; timeoutMs?: number }): Promise<ExitInfo>;
}

const watchdog = path.join(__dirname, '..', 'exit-with-parent.cjs');

// Every child started by this process, killed if the process exits with them alive.
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}

export function spawnNode(options: NodeProcessOptions): NodeProcess {
  const args = ['--require', watchdog, ...options.args];
  const [command, commandArgs] = options.raiseFileLimit
    ? [
        'sh',
        ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, ...args],
      ]
    : [process.execPath, args];
  const child = spawn(command, commandArgs, {
    cwd: options.cwd,
    env: { PATH: process.env['PATH'] ?? '', ...options.env },
    // stdin is the watchdog's lifeline (see exit-with-parent.cjs); never written to.
    stdio: ['pipe', 'pipe', 'pipe', ...(options.ipc ? (['ipc'] as const) : [])],
    detached: false,
  });
  track(child);

  let log: WriteStream | undefined;
  if (options.logFile) log = createWriteStream(options.logFile, { flags: 'a' });
  for (const [stream, name] of [
    [child.stdout, 'stdout'],
    [child.stderr, 'stderr'],
  ] as const) {
    if (stream === null) continue;
    readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      if (log?.writable) log.write(`${line}\n`);
      options.onLine?.(line, name);
    });
  }
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      // the last lines are still in the readline buffers until the streams end
      setImmediate(() => log?.end());
      resolve({ code, signal });
    });
  });
  const running = () => child.exitCode === null && child.signalCode === null;

  return {
    label: options.label,
    child,
    pid: child.pid,
    get running() {
      return running();
    },
    exited,
    async stop({ signal = 'SIGTERM', timeoutMs = options.stopTimeoutMs ?? 10_000 } = {}) {
      if (!running()) return exited;
      child.kill(signal);
      const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(killer);
      }
    },
  };
}
