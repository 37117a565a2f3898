// One Parley service as a real child process: `node dist/main.js` in the service's
// folder (the production entry point), or the web app's `node serve.mjs` in apps/web;
// its output kept in memory and appended to a log file, ready when GET /readyz (the
// web app: /healthz) answers 200. It can be stopped with any signal, killed, and
// restarted on the same port with the same environment.
//
// Ports are not picked beforehand: a free port handed to a child can be taken by
// another process before the child binds it (parallel jest workers did exactly that,
// and a test then talked to a stranger). The first start binds PORT=0 (unless a port
// is given) and the process itself says where it listens: main.ts calls the kit's
// announceListening(url), a message over the IPC channel the launcher opens (whatever
// LOG_LEVEL hides; serve.mjs sends the same message). Later starts ask for that same port again — clients hold its URL —
// and retry for a bounded time while something else holds it. A service's /metrics
// listener (METRICS_PORT) is found the same way: 0 at first, then the announced port.
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { ListeningAnnouncement } from '@parley/server-kit';
import { repoRoot } from './repo-root';
import { spawnNode, type Env, type ExitInfo, type NodeProcess } from './node-process';
import { waitFor } from './wait-for';

export type ServiceName = 'auth' | 'chat' | 'websocket' | 'webhooks' | 'web';
export type { Env, ExitInfo };

interface EntryPoint {
  dir: string;
  script: string;
  /** The variable its port goes in. */
  portVariable: string;
  /** Answers 200 once it is ready. */
  readyPath: string;
  /** The variable its /metrics listener's port goes in, when it has one. */
  metricsPortVariable?: string;
}

/** A service's production entry point. */
const service = (name: string): EntryPoint => ({
  dir: `services/${name}`,
  script: 'dist/main.js',
  portVariable: 'PORT',
  readyPath: '/readyz',
  metricsPortVariable: 'METRICS_PORT',
});

const entryPoints: Record<ServiceName, EntryPoint> = {
  auth: service('auth'),
  chat: service('chat'),
  websocket: service('websocket'),
  // the webhook delivery worker: a process of its own from chat's package
  webhooks: { ...service('chat'), script: 'dist/webhooks/worker-main.js' },
  // serve.mjs reads WEB_PORT before PORT (apps/web/serve-env.cjs)
  web: { dir: 'apps/web', script: 'serve.mjs', portVariable: 'WEB_PORT', readyPath: '/healthz' },
};

export interface ServiceProcessOptions {
  service: ServiceName;
  /** Unique among the processes of a run, e.g. `websocket-1`; default the service. */
  label?: string;
  /**
   * 0 (default): the system picks a free port at bind time and the process announces
   * it. Any other port is asked for as it is (e.g. `pnpm start`'s 5001).
   */
  port?: number;
  /**
   * Its /metrics listener's port (METRICS_PORT), the same way: 0 (default) picks one at
   * bind time and the process announces it.
   */
  metricsPort?: number;
  /** The whole environment (PATH is added; PORT, or the web app's WEB_PORT, is set by the launcher). */
  env: Env;
  /** Output (and the launcher's notes) are appended here. */
  logFile?: string;
  /** Each line of output, as it comes. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Node flags before the script, e.g. `--cpu-prof`. */
  nodeArgs?: readonly string[];
  /** See NodeProcessOptions.raiseFileLimit. */
  raiseFileLimit?: boolean;
  /**
   * Bound on the wait for /readyz after each start (default 20 000 ms; may be Infinity).
   * The web app's first start may run `vite build`.
   */
  readyTimeoutMs?: number;
  /**
   * How long a start keeps retrying while its port is taken (EADDRINUSE), default
   * 10 000 ms. Only a fixed port can be taken: a restart, or `port` given.
   */
  portRetryMs?: number;
  /** stop()'s default bound before SIGKILL (default 10 000 ms). */
  stopTimeoutMs?: number;
  /** Called when the process exits without stop()/kill()/restart() asking it to. */
  onUnexpectedExit?: (service: ServiceProcess, exit: ExitInfo) => void;
}

/** Lines of output kept in memory per process (the log file keeps everything). */
const keptLines = 20_000;

function isAnnouncement(message: unknown): message is ListeningAnnouncement {
  const candidate = message as Partial<ListeningAnnouncement> | null;
  return candidate?.type === 'parley:listening' && typeof candidate.url === 'string';
}

export class ServiceProcess {
  readonly service: ServiceName;
  readonly label: string;
  readonly logFile: string | undefined;
  #port: number;
  /** Its /metrics listener's port: 0 until the first start announced it. */
  #metricsPort = 0;
  #env: Env;
  readonly #options: ServiceProcessOptions;
  readonly #lines: string[] = [];
  readonly #log: WriteStream | undefined;
  #process: NodeProcess | null = null;
  #exited: Promise<ExitInfo> = Promise.resolve({ code: null, signal: null });
  /** An exit during start() is the start's error, not an unexpected exit. */
  #expectingExit = false;
  #starts = 0;

  constructor(options: ServiceProcessOptions) {
    this.service = options.service;
    this.label = options.label ?? options.service;
    this.logFile = options.logFile;
    this.#port = options.port ?? 0;
    this.#metricsPort = options.metricsPort ?? 0;
    this.#env = { ...options.env };
    this.#options = options;
    if (options.logFile) this.#log = createWriteStream(options.logFile, { flags: 'a' });
  }

  /** The port it listens on: known once it has started, and kept across restarts. */
  get port(): number {
    if (this.#port === 0) throw new Error(`${this.label} has not started yet: no port`);
    return this.#port;
  }

  /** `http://127.0.0.1:<port>`: stays the same across restarts. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Where its GET /metrics answers (METRICS_PORT, never `url`); kept across restarts. */
  get metricsUrl(): string {
    if (this.#metricsPort === 0) throw new Error(`${this.label} has announced no metrics port`);
    return `http://127.0.0.1:${this.#metricsPort}`;
  }

  /** The pid of the current process; undefined when it is not running. */
  get pid(): number | undefined {
    return this.running ? this.#process?.pid : undefined;
  }

  get running(): boolean {
    return this.#process?.running ?? false;
  }

  /** The environment it runs with (its port variable included once started). */
  get env(): Readonly<Env> {
    return this.#env;
  }

  /** Resolves when the current process exits (at once when none runs). */
  get exited(): Promise<ExitInfo> {
    return this.#exited;
  }

  /**
   * Spawns the process and resolves once it listens and is ready (bounded).
   * While its fixed port is taken it tries again, within `portRetryMs`.
   */
  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.label} is already running`);
    this.#starts += 1;
    this.#note(`starting (${this.#starts > 1 ? `restart ${this.#starts - 1}` : 'first start'})`);
    const retryUntil = Date.now() + (this.#options.portRetryMs ?? 10_000);
    for (;;) {
      let taken = false;
      try {
        await this.#startOnce((line) => (taken ||= line.includes('EADDRINUSE')));
        return;
      } catch (err) {
        if (!taken || this.#port === 0 || Date.now() >= retryUntil) throw err;
        this.#note(`port ${this.#port} is taken; trying again`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  async #startOnce(watch: (line: string) => void): Promise<void> {
    const entry = entryPoints[this.service];
    const env: Env = {
      ...this.#env,
      [entry.portVariable]: String(this.#port),
      ...(entry.metricsPortVariable === undefined
        ? {}
        : { [entry.metricsPortVariable]: String(this.#metricsPort) }),
    };
    const child = spawnNode({
      label: this.label,
      args: [...(this.#options.nodeArgs ?? []), entry.script],
      cwd: path.join(repoRoot, entry.dir),
      env,
      ipc: true,
      ...(this.#options.raiseFileLimit ? { raiseFileLimit: true } : {}),
      ...(this.#options.stopTimeoutMs === undefined
        ? {}
        : { stopTimeoutMs: this.#options.stopTimeoutMs }),
      onLine: (line, stream) => {
        this.#record(line);
        watch(line);
        this.#options.onLine?.(line, stream);
      },
    });
    const listening = new Promise<ListeningAnnouncement>((resolve) => {
      const onMessage = (message: unknown) => {
        if (!isAnnouncement(message)) return;
        child.child.off('message', onMessage);
        resolve(message);
      };
      child.child.on('message', onMessage);
    });
    this.#process = child;
    this.#expectingExit = true;
    child.child.once('error', (err) => this.#note(`spawn error: ${err.message}`));
    this.#exited = child.exited.then((exit) => {
      this.#note(`exited (code ${exit.code}, signal ${exit.signal})`);
      if (!this.#expectingExit) this.#options.onUnexpectedExit?.(this, exit);
      return exit;
    });

    const exitedEarly = this.#exited.then((exit) => {
      throw new Error(
        `${this.label} exited before it was ready (code ${exit.code}, signal ${exit.signal})\n${this.tail()}`,
      );
    });
    const readyTimeoutMs = this.#options.readyTimeoutMs ?? 20_000;
    const ready = (async () => {
      // Its own word, not a probe of the port: whatever answers there may be a stranger.
      const announced = Number.isFinite(readyTimeoutMs)
        ? await Promise.race([
            listening,
            new Promise<never>((_, reject) =>
              setTimeout(
                () => reject(new Error(`${this.label} did not say where it listens in time`)),
                readyTimeoutMs,
              ).unref(),
            ),
          ])
        : await listening;
      this.#port = Number(new URL(announced.url).port);
      this.#env = { ...this.#env, [entry.portVariable]: String(this.#port) };
      if (announced.metricsUrl !== undefined && entry.metricsPortVariable !== undefined) {
        this.#metricsPort = Number(new URL(announced.metricsUrl).port);
        this.#env = { ...this.#env, [entry.metricsPortVariable]: String(this.#metricsPort) };
      }
      // stops polling once the process is gone (exitedEarly has the error then)
      await waitFor(async () => !child.running || (await this.#isReady()), {
        timeoutMs: readyTimeoutMs,
        intervalMs: 50,
        description: `${this.label} ${entry.readyPath} at ${this.url}`,
      });
      if (!child.running) await exitedEarly;
    })();
    try {
      await Promise.race([ready, exitedEarly]);
    } catch (err) {
      await this.kill();
      throw err;
    } finally {
      exitedEarly.catch(() => undefined);
      ready.catch(() => undefined);
    }
    this.#expectingExit = false;
    this.#note(`ready at ${this.url} (pid ${child.pid})`);
  }

  /**
   * Sends `signal` (SIGTERM by default: the service's graceful shutdown) and resolves
   * with how it exited; SIGKILL after `timeoutMs` if it has not.
   */
  async stop({
    signal = 'SIGTERM',
    timeoutMs,
  }: { signal?: NodeJS.Signals; timeoutMs?: number } = {}): Promise<ExitInfo> {
    const child = this.#process;
    if (child === null || !child.running) return this.#exited;
    this.#expectingExit = true;
    this.#note(`sending ${signal}`);
    const exit = child.stop({ signal, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
    await exit;
    return this.#exited;
  }

  /** Kills at once (SIGKILL by default: no shutdown at all) and waits for the exit. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitInfo> {
    return this.stop({ signal, timeoutMs: 5_000 });
  }

  /**
   * Stops it if it runs (SIGTERM), then starts it again on the same port and waits
   * until it is ready. `env` is merged into the environment for this and later starts.
   */
  async restart({ env }: { env?: Env } = {}): Promise<void> {
    await this.stop();
    if (env) this.#env = { ...this.#env, ...env };
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
    const where = this.logFile ? ` (${this.logFile})` : '';
    return [`--- ${this.label}${where}, last ${lines.length} lines ---`, ...lines].join('\n');
  }

  /** Stops the process (SIGTERM, then SIGKILL) and closes the log file. */
  async dispose(): Promise<void> {
    await this.stop();
    const log = this.#log;
    if (log) await new Promise<void>((resolve) => log.end(resolve));
  }

  async #isReady(): Promise<boolean> {
    const { readyPath } = entryPoints[this.service];
    const response = await fetch(`${this.url}${readyPath}`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status === 200;
  }

  #record(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > keptLines) this.#lines.splice(0, this.#lines.length - keptLines);
    if (this.#log?.writable) this.#log.write(`${line}\n`);
  }

  // The launcher's own notes go into the same log, so the file reads as one story.
  #note(what: string): void {
    this.#record(`[launcher ${new Date().toISOString()}] ${this.label} ${what}`);
  }
}
