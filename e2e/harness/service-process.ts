// One Parley service as a real child process: `node dist/main.js` in the service's
// folder (the production entry point), its stdout and stderr appended to a log file,
// ready when GET /readyz answers 200. It can be stopped with any signal, killed, and
// restarted on the same port with the same environment.
//
// No child outlives the test run: every live child is killed when the test process
// exits, and each child runs exit-with-parent.cjs, which shuts it down when the test
// process dies without exiting cleanly (a crashed or SIGKILLed jest worker).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { waitFor } from '../../tools/test-infra';

export type ServiceName = 'auth' | 'chat' | 'websocket';
export type Env = Record<string, string>;

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServiceProcessOptions {
  service: ServiceName;
  /** Unique within the stack, e.g. `websocket-1`; names the log file. */
  label: string;
  port: number;
  env: Env;
  logFile: string;
  /** Bound on the wait for /readyz after each start (default 20 000 ms). */
  readyTimeoutMs?: number;
  /** Called when the process exits without stop()/kill() asking it to. */
  onUnexpectedExit?: (service: ServiceProcess, exit: ExitInfo) => void;
}

const repoRoot = path.resolve(__dirname, '..', '..');
const watchdog = path.join(__dirname, 'exit-with-parent.cjs');
/** Lines of output kept in memory per process (the log file keeps everything). */
const keptLines = 20_000;

// Every child started by this test process, killed if the process exits with them alive.
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

export class ServiceProcess {
  readonly service: ServiceName;
  readonly label: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>` — stays the same across restarts. */
  readonly url: string;
  readonly logFile: string;
  #env: Env;
  readonly #readyTimeoutMs: number;
  readonly #onUnexpectedExit: ServiceProcessOptions['onUnexpectedExit'];
  readonly #lines: string[] = [];
  #log: WriteStream;
  #child: ChildProcess | null = null;
  #exited: Promise<ExitInfo> = Promise.resolve({ code: null, signal: null });
  #expectingExit = false;
  #starts = 0;

  constructor(options: ServiceProcessOptions) {
    this.service = options.service;
    this.label = options.label;
    this.port = options.port;
    this.url = `http://127.0.0.1:${options.port}`;
    this.logFile = options.logFile;
    this.#env = { ...options.env, PORT: String(options.port) };
    this.#readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
    this.#onUnexpectedExit = options.onUnexpectedExit;
    this.#log = createWriteStream(options.logFile, { flags: 'a' });
  }

  /** The pid of the current process; undefined when it is not running. */
  get pid(): number | undefined {
    return this.running ? this.#child?.pid : undefined;
  }

  get running(): boolean {
    const child = this.#child;
    return child !== null && child.exitCode === null && child.signalCode === null;
  }

  /** The environment it runs with (PORT included). */
  get env(): Readonly<Env> {
    return this.#env;
  }

  /** Resolves when the current process exits (at once when none runs). */
  get exited(): Promise<ExitInfo> {
    return this.#exited;
  }

  /** Spawns the process and resolves once /readyz answers 200 (bounded). */
  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.label} is already running`);
    this.#starts += 1;
    this.#note(`starting (${this.#starts > 1 ? `restart ${this.#starts - 1}` : 'first start'})`);
    const child = spawn(process.execPath, ['--require', watchdog, 'dist/main.js'], {
      cwd: path.join(repoRoot, 'services', this.service),
      env: { PATH: process.env.PATH ?? '', ...this.#env },
      // stdin is the watchdog's lifeline (see exit-with-parent.cjs); never written to.
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: false,
    });
    this.#child = child;
    this.#expectingExit = false;
    track(child);
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      readline
        .createInterface({ input: stream, crlfDelay: Infinity })
        .on('line', (line) => this.#record(line));
    }
    this.#exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        this.#note(`exited (code ${code}, signal ${signal})`);
        const exit = { code, signal };
        if (!this.#expectingExit) this.#onUnexpectedExit?.(this, exit);
        resolve(exit);
      });
    });
    child.once('error', (err) => this.#note(`spawn error: ${err.message}`));

    const exitedEarly = this.#exited.then((exit) => {
      throw new Error(
        `${this.label} exited before it was ready (code ${exit.code}, signal ${exit.signal})\n${this.tail()}`,
      );
    });
    const ready = waitFor(() => this.#isReady(), {
      timeoutMs: this.#readyTimeoutMs,
      intervalMs: 50,
      description: `${this.label} /readyz at ${this.url}`,
    });
    try {
      await Promise.race([ready, exitedEarly]);
    } catch (err) {
      await this.kill();
      throw err;
    } finally {
      exitedEarly.catch(() => undefined);
    }
    this.#note(`ready (pid ${child.pid})`);
  }

  /**
   * Sends `signal` (SIGTERM by default: the service's graceful shutdown) and resolves
   * with how it exited; SIGKILL after `timeoutMs` (default 10 000) if it has not.
   */
  async stop({
    signal = 'SIGTERM',
    timeoutMs = 10_000,
  }: { signal?: NodeJS.Signals; timeoutMs?: number } = {}): Promise<ExitInfo> {
    const child = this.#child;
    if (child === null || !this.running) return this.#exited;
    this.#expectingExit = true;
    this.#note(`sending ${signal}`);
    child.kill(signal);
    const killer = setTimeout(() => {
      this.#note(`still running ${timeoutMs} ms after ${signal}; SIGKILL`);
      child.kill('SIGKILL');
    }, timeoutMs);
    try {
      return await this.#exited;
    } finally {
      clearTimeout(killer);
    }
  }

  /** Kills at once (SIGKILL by default: no shutdown at all) and waits for the exit. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitInfo> {
    return this.stop({ signal, timeoutMs: 5_000 });
  }

  /**
   * Stops it if it runs (SIGTERM), then starts it again on the same port and waits
   * for /readyz. `env` is merged into the environment for this and later starts.
   */
  async restart({ env }: { env?: Env } = {}): Promise<void> {
    await this.stop();
    if (env) this.#env = { ...this.#env, ...env, PORT: String(this.port) };
    await this.start();
  }

  /** Output lines since the first start (the newest `keptLines`), in order. */
  lines(): readonly string[] {
    return this.#lines;
  }

  /** Resolves with the first output line (since `from`) matching `pattern`. */
  waitForLine(
    pattern: RegExp,
    { from = 0, timeoutMs = 10_000 }: { from?: number; timeoutMs?: number } = {},
  ): Promise<string> {
    return waitFor(() => this.#lines.slice(from).find((line) => pattern.test(line)), {
      timeoutMs,
      description: `${this.label} to log ${pattern}`,
    });
  }

  /** The last `count` lines of output, headed with the service and log file. */
  tail(count = 40): string {
    const lines = this.#lines.slice(-count);
    return [`--- ${this.label} (${this.logFile}), last ${lines.length} lines ---`, ...lines].join(
      '\n',
    );
  }

  /** Stops the process (SIGTERM, then SIGKILL) and closes the log file. */
  async dispose(): Promise<void> {
    await this.stop();
    await new Promise<void>((resolve) => this.#log.end(resolve));
  }

  async #isReady(): Promise<boolean> {
    const response = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status === 200;
  }

  #record(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > keptLines) this.#lines.splice(0, this.#lines.length - keptLines);
    if (this.#log.writable) this.#log.write(`${line}\n`);
  }

  // The harness's own notes go into the same log, so the file reads as one story.
  #note(what: string): void {
    this.#record(`[e2e-harness ${new Date().toISOString()}] ${this.label} ${what}`);
  }
}
