// A RabbitMQ cluster of its own for a test (docs/design.md §14): N nodes of the
// installed rabbitmq-server on this machine, each with its own node name, AMQP and
// distribution ports, data and log folders (in one temp folder) and the cluster's own
// Erlang cookie (a temp HOME), joined with `rabbitmqctl join_cluster`. The machine's own
// broker (rabbit@localhost on 5672) is never touched: a node of ours has another name, a
// cookie the machine's node does not know, and its own env file, so nothing of
// /etc/rabbitmq (which names rabbit@localhost) applies to it.
//
// Debian's /usr/sbin wrappers switch to the rabbitmq user and drop the environment, so
// the scripts are run from the package's own sbin folder. A node is started in the
// foreground as a child of this process, in a process group of its own: stop() asks each
// node to stop (`rabbitmqctl stop`) and kills what is left; if this process dies first,
// its exit handler kills the groups.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port';
import { uniqueName } from './unique-name';
import { waitFor } from './wait-for';

const run = promisify(execFile);

/**
 * The folder holding the real rabbitmq-server and rabbitmqctl scripts, or undefined
 * when RabbitMQ is not installed (PARLEY_RABBITMQ_SBIN overrides the search).
 */
export function rabbitmqSbin(): string | undefined {
  const override = process.env['PARLEY_RABBITMQ_SBIN'];
  if (override) return existsSync(path.join(override, 'rabbitmq-server')) ? override : undefined;
  const debian = '/usr/lib/rabbitmq/lib';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((name) => name.startsWith('rabbitmq_server-'))
      .sort();
    const newest = versions.at(-1);
    if (newest && existsSync(path.join(debian, newest, 'sbin', 'rabbitmq-server')))
      return path.join(debian, newest, 'sbin');
  }
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, 'rabbitmq-server')) && !dir.endsWith('/usr/sbin'))
      return dir;
  }
  return undefined;
}

export interface RabbitNode {
  /** e.g. `parley-c1a2b3-1@localhost`. */
  readonly name: string;
  readonly port: number;
  /** `amqp://guest:guest@127.0.0.1:<port>`. */
  readonly url: string;
  readonly running: boolean;
}

export interface RabbitCluster {
  readonly nodes: readonly RabbitNode[];
  /** Every node's URL, comma-separated, starting with node `first` (AMQP_URL for a service). */
  urlFrom(first: number): string;
  /** Runs rabbitmqctl against node `index` (default the first running one); resolves stdout. */
  ctl(args: readonly string[], index?: number): Promise<string>;
  /**
   * The connection names held by each running node (by its index). Services name
   * theirs `<service>-<host>-<pid>`.
   */
  connectionsByNode(): Promise<Map<number, string[]>>;
  /** Stops node `index` as a lost machine would look to clients: its connections drop. */
  stopNode(index: number): Promise<void>;
  /** Stops every node and deletes their folders. Safe to call twice. */
  stop(): Promise<void>;
}

export interface RabbitClusterOptions {
  /** How many nodes (default 3). */
  nodes?: number;
  /** Names the nodes (`<name>-<random>-<i>@localhost`); default `parley`. */
  name?: string;
  /** Bound on each node's boot and on joining (default 180 000 ms; a loaded machine is slow). */
  bootTimeoutMs?: number;
  /** Progress lines (default none). */
  log?: (line: string) => void;
}

interface NodeState {
  name: string;
  port: number;
  url: string;
  running: boolean;
  process: ChildProcess;
  exited: Promise<void>;
  logFile: string;
}

const liveGroups = new Set<number>();
let exitHookInstalled = false;
function killGroupsOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of liveGroups) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/**
 * Starts `nodes` RabbitMQ nodes and joins the others to the first. Throws (after
 * stopping what it started) if RabbitMQ is not installed or a node does not boot in time.
 */
export async function startRabbitCluster(
  options: RabbitClusterOptions = {},
): Promise<RabbitCluster> {
  const found = rabbitmqSbin();
  if (!found) throw new Error('rabbitmq-server is not installed');
  const sbin: string = found;
  const count = options.nodes ?? 3;
  const bootTimeoutMs = options.bootTimeoutMs ?? 180_000;
  const log = options.log ?? (() => undefined);
  const base = uniqueName(options.name ?? 'parley')
    .replace(/[^a-z0-9-]/gi, '-')
    .slice(0, 30);
  const dir = await mkdtemp(path.join(tmpdir(), 'parley-rabbit-'));
  const home = path.join(dir, 'home');
  await mkdir(home);
  // a cookie of our own: neither the machine's node nor its CLI can talk to ours
  const cookie = path.join(home, '.erlang.cookie');
  await writeFile(cookie, randomBytes(24).toString('hex').toUpperCase());
  await chmod(cookie, 0o400);
  const envFile = path.join(dir, 'rabbitmq-env.conf');
  await writeFile(envFile, 'ERL_EPMD_ADDRESS=127.0.0.1\n');
  const pluginsFile = path.join(dir, 'enabled_plugins');
  await writeFile(pluginsFile, '[].\n');
  const baseEnv: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: home,
    LANG: 'C.UTF-8',
    RABBITMQ_CONF_ENV_FILE: envFile,
    RABBITMQ_ENABLED_PLUGINS_FILE: pluginsFile,
    RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dir, 'advanced.config'),
    // distribution only on loopback, like the machine's node
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  };
  const ctlEnv = { ...baseEnv };
  killGroupsOnExit();

  const nodes: NodeState[] = [];
  const ctlOn = async (node: string, args: readonly string[], timeoutMs = 60_000) => {
    const { stdout } = await run(path.join(sbin, 'rabbitmqctl'), ['-n', node, ...args], {
      env: ctlEnv,
      timeout: timeoutMs,
    });
    return stdout;
  };

  async function startNode(index: number): Promise<NodeState> {
    // a port nothing holds at the moment (RabbitMQ cannot bind port 0 and say which it
    // got); the distribution port must be set too: its default, AMQP port + 20 000,
    // can be the machine's node's (25672)
    const port = await freePort();
    const distPort = await freePort();
    const name = `${base}-${index + 1}@localhost`;
    const nodeDir = path.join(dir, `node${index + 1}`);
    await mkdir(nodeDir);
    const configFile = path.join(nodeDir, 'rabbitmq.conf');
    await writeFile(
      configFile,
      [
        `listeners.tcp.default = 127.0.0.1:${port}`,
        // fewer Erlang schedulers' worth of idle spinning on a shared machine
        'collect_statistics_interval = 30000',
        '',
      ].join('\n'),
    );
    const logFile = path.join(nodeDir, 'log', `${name}.log`);
    const child = spawn(path.join(sbin, 'rabbitmq-server'), [], {
      env: {
        ...baseEnv,
        RABBITMQ_NODENAME: name,
        RABBITMQ_CONFIG_FILE: configFile,
        RABBITMQ_DIST_PORT: String(distPort),
        RABBITMQ_MNESIA_BASE: path.join(nodeDir, 'mnesia'),
        RABBITMQ_LOG_BASE: path.join(nodeDir, 'log'),
        RABBITMQ_PID_FILE: path.join(nodeDir, 'rabbitmq.pid'),
        // the schedulers of several nodes on a small machine: less busy-waiting
        RABBITMQ_SERVER_ERL_ARGS: '+sbwt none +sbwtdcpu none +sbwtdio none',
      },
      cwd: nodeDir,
      detached: true,
      stdio: 'ignore',
    });
    if (child.pid !== undefined) liveGroups.add(child.pid);
    const state: NodeState = {
      name,
      port,
      url: `amqp://guest:guest@127.0.0.1:${port}`,
      running: true,
      process: child,
      logFile,
      exited: new Promise((resolve) =>
        child.once('exit', () => {
          state.running = false;
          if (child.pid !== undefined) liveGroups.delete(child.pid);
          resolve();
        }),
      ),
    };
    nodes[index] = state;
    log(`rabbit cluster: starting ${name} on ${port}`);
    await waitFor(
      async () => {
        if (!state.running) throw new Error(`${name} exited while booting (see ${logFile})`);
        await ctlOn(name, ['await_startup', '--timeout', '10'], 20_000);
        return true;
      },
      { timeoutMs: bootTimeoutMs, intervalMs: 1_000, description: `${name} booted` },
    );
    return state;
  }

  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      await Promise.all(
        nodes.map(async (node) => {
          if (!node?.running) return;
          await ctlOn(node.name, ['stop'], 30_000).catch(() => undefined);
          await Promise.race([node.exited, new Promise((r) => setTimeout(r, 15_000).unref())]);
          if (node.running && node.process.pid !== undefined) {
            try {
              process.kill(-node.process.pid, 'SIGKILL');
            } catch {
              // gone meanwhile
            }
            await node.exited;
          }
        }),
      );
      await rm(dir, { recursive: true, force: true });
      log('rabbit cluster: stopped');
    })());

  try {
    await Promise.all(Array.from({ length: count }, (_, index) => startNode(index)));
    const first = nodes[0] as NodeState;
    for (const node of nodes.slice(1)) {
      await ctlOn(node.name, ['stop_app']);
      await ctlOn(node.name, ['join_cluster', first.name]);
      await ctlOn(node.name, ['start_app'], bootTimeoutMs);
      log(`rabbit cluster: ${node.name} joined ${first.name}`);
    }
  } catch (err) {
    await stopAll();
    throw err;
  }

  const indexOf = (index: number) => {
    const node = nodes[index];
    if (!node) throw new Error(`the cluster has no node ${index}`);
    return node;
  };
  const anyRunning = () => {
    const node = nodes.find((n) => n.running);
    if (!node) throw new Error('no node of the cluster is running');
    return node;
  };

  return {
    get nodes() {
      return nodes.map(({ name, port, url, running }) => ({ name, port, url, running }));
    },
    urlFrom(first) {
      return [...nodes.slice(first), ...nodes.slice(0, first)].map((node) => node.url).join(',');
    },
    ctl: (args, index) => ctlOn((index === undefined ? anyRunning() : indexOf(index)).name, args),
    async connectionsByNode() {
      // cluster-wide; a connection's pid names its node: `<parley-…-2@localhost.1712.0>`
      const out = await ctlOn(anyRunning().name, [
        'list_connections',
        'pid',
        'client_properties',
        '-q',
        '--no-table-headers',
      ]);
      const byNode = new Map<number, string[]>();
      nodes.forEach((node, index) => {
        if (node.running) byNode.set(index, []);
      });
      for (const line of out.split('\n')) {
        const [pid, properties] = line.split('\t');
        const name = /\{"connection_name","([^"]*)"\}/.exec(properties ?? '')?.[1];
        const index = nodes.findIndex((node) => pid?.startsWith(`<${node.name}.`));
        if (name !== undefined && index >= 0) byNode.get(index)?.push(name);
      }
      return byNode;
    },
    async stopNode(index) {
      const node = indexOf(index);
      if (!node.running) return;
      log(`rabbit cluster: stopping ${node.name}`);
      await ctlOn(node.name, ['stop'], 60_000);
      await node.exited;
    },
    stop: stopAll,
  };
}
