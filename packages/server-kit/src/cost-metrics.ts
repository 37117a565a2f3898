// What one message costs in round trips, counted where they happen (issue "Cost per
// message"): every MongoDB command, every AMQP publish, confirm, ack frame and
// delivery, and every log line is a socket or file write paid in full, so these
// counters, read per send or per event, are the cost model of the service. Every
// service's registry has them (createMetrics), so the bench reads the same names
// from auth, chat and websocket.
import type { Counter, Registry } from 'prom-client';
import { Counter as PromCounter } from 'prom-client';

export interface CostMetrics {
  /** By command name (`insert`, `update`, `find`, …) and collection ('' for none). */
  readonly mongoCommands: Counter<'command' | 'collection'>;
  readonly amqpPublishes: Counter<'exchange'>;
  /** Publishes the broker confirmed. */
  readonly amqpConfirms: Counter;
  /** Ack frames sent: one ack with multiple=true counts one. */
  readonly amqpAcks: Counter;
  readonly amqpDeliveries: Counter;
  readonly logLines: Counter<'level'>;
}

export function createCostMetrics(registry: Registry): CostMetrics {
  const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
    new PromCounter<L>({ name, help, labelNames, registers: [registry] });
  return {
    mongoCommands: counter(
      'parley_mongo_commands_total',
      'MongoDB commands sent (driver command monitoring), by command and collection',
      ['command', 'collection'],
    ),
    amqpPublishes: counter('parley_amqp_publishes_total', 'AMQP messages published, by exchange', [
      'exchange',
    ]),
    amqpConfirms: counter('parley_amqp_confirms_total', 'AMQP publishes confirmed by the broker'),
    amqpAcks: counter(
      'parley_amqp_acks_total',
      'AMQP ack frames sent (an ack with multiple=true counts once)',
    ),
    amqpDeliveries: counter('parley_amqp_deliveries_total', 'AMQP messages delivered to consumers'),
    logLines: counter('parley_log_lines_total', 'Log lines written, by level', ['level']),
  };
}

/** The collection a command names (its first field's string value), else ''. */
export function commandCollection(commandName: string, command: Record<string, unknown>): string {
  const value = command[commandName];
  return typeof value === 'string' ? value : '';
}
