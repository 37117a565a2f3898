// Declaring only what is missing. With one broker user per service and least rights
// (docs/design.md §9.6), a service may write to or read from an exchange it has no right to
// declare (declaring needs `configure`, even for an exchange that exists). So an
// exchange or queue is first looked up passively, on a throwaway channel (a failed
// lookup closes its channel), and declared only when it is not there: under compose
// the broker's definitions declare every shared one at boot; on a development broker
// with one all-powerful user the first service to need one declares it.
import type { Channel, ConfirmChannel, Options } from 'amqplib';
import type { AmqpConnection } from './amqp-connection';

type AnyChannel = Channel | ConfirmChannel;

async function exists(
  connection: AmqpConnection,
  check: (probe: Channel) => Promise<unknown>,
): Promise<boolean> {
  const model = connection.manager.connection;
  if (!model) return false; // not connected: the declare on the real channel fails and is retried
  const probe = await model.createChannel();
  probe.on('error', () => undefined); // the broker closes it when the lookup fails
  try {
    await check(probe);
    return true;
  } catch {
    return false;
  } finally {
    await probe.close().catch(() => undefined);
  }
}

/** Asserts a durable fanout exchange on `channel` unless it already exists. */
export async function ensureFanoutExchange(
  connection: AmqpConnection,
  channel: AnyChannel,
  name: string,
): Promise<'existed' | 'declared'> {
  if (await exists(connection, (probe) => probe.checkExchange(name))) return 'existed';
  await channel.assertExchange(name, 'fanout', { durable: true });
  return 'declared';
}

/** Asserts a named queue on `channel` unless it already exists. */
export async function ensureQueue(
  connection: AmqpConnection,
  channel: AnyChannel,
  name: string,
  options: Options.AssertQueue,
): Promise<'existed' | 'declared'> {
  if (await exists(connection, (probe) => probe.checkQueue(name))) return 'existed';
  await channel.assertQueue(name, options);
  return 'declared';
}
