// The RabbitMQ side of a stack, seen from the broker with `rabbitmqctl`: which AMQP
// connections its processes hold, closing them from the broker (what a broker
// restart, a network partition or an operator does to a client), and compose's broker
// users and rights loaded into a vhost of their own.
//
// Services name their connection `<service>-<hostname>-<pid>` (client property
// connection_name), so a process's connections are found by its pid. The JSON
// formatter of list_connections prints pids as `#PID<…>`, which close_connection does
// not take, hence the tab-separated table.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './repo-root';
import type { ServiceProcess } from './service-process';

const run = promisify(execFile);

export interface BrokerConnection {
  /** The broker's connection pid, e.g. `<rabbit@host.1712.0>`. */
  pid: string;
  name: string;
}

/** Every connection the broker lists, with its connection_name (empty when unnamed). */
export async function listBrokerConnections(): Promise<BrokerConnection[]> {
  const { stdout } = await run(
    'rabbitmqctl',
    ['list_connections', 'pid', 'client_properties', '-q', '--no-table-headers'],
    { timeout: 15_000 },
  );
  return stdout
    .split('\n')
    .map((line) => line.split('\t'))
    .filter(([pid]) => pid?.startsWith('<'))
    .map(([pid, properties]) => ({
      pid: pid as string,
      name: /\{"connection_name","([^"]*)"\}/.exec(properties ?? '')?.[1] ?? '',
    }));
}

/** The broker connections of these processes (by the pid in their connection name). */
export async function brokerConnectionsOf(
  services: readonly ServiceProcess[],
): Promise<BrokerConnection[]> {
  const suffixes = services.flatMap((service) =>
    service.pid === undefined ? [] : [`-${service.pid}`],
  );
  const all = await listBrokerConnections();
  return all.filter(({ name }) => suffixes.some((suffix) => name.endsWith(suffix)));
}

/** Closes the given connections from the broker; the clients see a connection-forced close. */
export async function closeBrokerConnections(
  connections: readonly BrokerConnection[],
  reason = 'closed by the e2e test',
): Promise<void> {
  await Promise.all(
    connections.map(({ pid }) =>
      run('rabbitmqctl', ['close_connection', pid, reason], { timeout: 15_000 }),
    ),
  );
}

/**
 * docker-compose.yml's broker definitions (tools/docker/rabbitmq), loaded into a vhost
 * of their own so a test runs the services under exactly the users and rights compose
 * gives them: rendered by the same script compose runs, then moved to a fresh vhost,
 * with the user names made unique (users are global to the broker).
 */
export interface DefinitionsVhost {
  readonly vhost: string;
  /** `amqp://user:password@127.0.0.1:5672/<vhost>` for each user of the definitions. */
  urlOf(
    user: 'admin' | 'parley-auth' | 'parley-chat' | 'parley-websocket' | 'parley-webhooks',
  ): string;
  /** Deletes the vhost and the users. */
  remove(): Promise<void>;
}

export async function loadComposeDefinitions(
  amqpUrl: string,
  prefix: string,
): Promise<DefinitionsVhost> {
  const vhost = prefix;
  const password = () => randomBytes(12).toString('base64url');
  const env = {
    RABBITMQ_USER: 'admin',
    RABBITMQ_PASSWORD: password(),
    RABBITMQ_AUTH_PASSWORD: password(),
    RABBITMQ_CHAT_PASSWORD: password(),
    RABBITMQ_WEBSOCKET_PASSWORD: password(),
    RABBITMQ_WEBHOOKS_PASSWORD: password(),
  };
  const dir = await mkdtemp(path.join(tmpdir(), 'parley-definitions-'));
  const rendered = path.join(dir, 'definitions.json');
  const templateDir = path.join(repoRoot, 'tools', 'docker', 'rabbitmq');
  await run(
    'sh',
    [
      path.join(templateDir, 'render-definitions.sh'),
      path.join(templateDir, 'definitions.json'),
      rendered,
    ],
    {
      env: { PATH: process.env['PATH'] ?? '', ...env },
    },
  );
  const definitions = JSON.parse(await readFile(rendered, 'utf8')) as {
    vhosts: { name: string }[];
    users: { name: string; password: string }[];
    permissions: { user: string; vhost: string }[];
    [key: string]: unknown;
  };
  const rename = (user: string) => `${prefix}-${user}`;
  const passwords = new Map(definitions.users.map((u) => [u.name, u.password]));
  definitions.vhosts = [{ name: vhost }];
  definitions.users = definitions.users.map((u) => ({ ...u, name: rename(u.name) }));
  definitions.permissions = definitions.permissions.map((p) => ({
    ...p,
    user: rename(p.user),
    vhost,
  }));
  for (const kind of ['exchanges', 'queues', 'bindings'] as const) {
    const list = definitions[kind] as { vhost: string }[];
    definitions[kind] = list.map((item) => ({ ...item, vhost }));
  }
  // rabbitmqctl may run as the broker's user: the file must be readable by it (the
  // passwords are throwaway ones, and the file is gone right after)
  await writeFile(rendered, JSON.stringify(definitions));
  await chmod(rendered, 0o644);
  await chmod(dir, 0o755);
  try {
    await run('rabbitmqctl', ['import_definitions', rendered], { timeout: 30_000 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const base = new URL(amqpUrl);
  const urlOf: DefinitionsVhost['urlOf'] = (user) => {
    const url = new URL(base);
    url.username = encodeURIComponent(rename(user));
    url.password = encodeURIComponent(passwords.get(user) ?? '');
    url.pathname = `/${encodeURIComponent(vhost)}`;
    return url.toString();
  };
  return {
    vhost,
    urlOf,
    async remove() {
      await run('rabbitmqctl', ['delete_vhost', vhost], { timeout: 30_000 }).catch(() => undefined);
      for (const user of passwords.keys()) {
        await run('rabbitmqctl', ['delete_user', rename(user)], { timeout: 30_000 }).catch(
          () => undefined,
        );
      }
    },
  };
}
