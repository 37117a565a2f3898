// The RabbitMQ side of a stack, seen from the broker with `rabbitmqctl`: which AMQP
// connections its processes hold, and closing them from the broker (what a broker
// restart, a network partition or an operator does to a client).
//
// Services name their connection `<service>-<hostname>-<pid>` (client property
// connection_name), so a process's connections are found by its pid. The JSON
// formatter of list_connections prints pids as `#PID<…>`, which close_connection does
// not take, hence the tab-separated table.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
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
