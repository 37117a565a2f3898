// The ordered shutdown of every process (docs/design.md §1: stop accepting, drain,
// consumers, channel, MongoDB) as real processes on SIGTERM: each runs its steps in
// exactly its order, every step in time, and exits 0. The order is a promise (chat
// stops taking requests, lets its relays finish and drains its publishes before it
// closes its connections), so reordering a main.ts's steps fails here.
import { useStack, type ServiceProcess } from '@parley/testing';

const e2e = useStack({ name: 'shutdown', webhooks: true });

/** The steps the process logged as done during its shutdown, in order. */
function stepsDone(service: ServiceProcess): string[] {
  return service
    .lines()
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return {};
      }
    })
    .filter((entry) => entry['msg'] === 'shutdown step done')
    .map((entry) => String(entry['step']));
}

it('When each process gets SIGTERM, then it runs its shutdown steps in its order and exits 0', async () => {
  const { services } = e2e.stack;
  const webhooks = services.webhooks;
  if (!webhooks) throw new Error('the stack was asked for the webhook worker');
  const [websocket] = services.websockets;
  if (!websocket) throw new Error('the stack has a websocket instance');

  // the order a real stop would take: clients' doors first, auth last
  const exits = {
    websocket: await websocket.stop(),
    webhooks: await webhooks.stop(),
    chat: await services.chat.stop(),
    auth: await services.auth.stop(),
  };

  expect(exits).toEqual({
    websocket: { code: 0, signal: null },
    webhooks: { code: 0, signal: null },
    chat: { code: 0, signal: null },
    auth: { code: 0, signal: null },
  });
  expect(stepsDone(websocket)).toEqual([
    'stop accepting',
    'close sockets (1001)',
    'http server',
    'metrics',
    'consumer and publisher',
    'rabbitmq',
  ]);
  expect(stepsDone(webhooks)).toEqual([
    'http',
    'metrics',
    'consumer',
    'deliveries under way',
    'rabbitmq',
    'mongodb',
  ]);
  expect(stepsDone(services.chat)).toEqual([
    'http',
    'metrics',
    'outbox relay',
    'message relay',
    'conversation activity',
    'rate limit counts',
    'attachment sweep',
    'publishes in flight',
    'publisher',
    'rabbitmq',
    'mongodb',
  ]);
  expect(stepsDone(services.auth)).toEqual([
    'http',
    'metrics',
    'session-revoked relay',
    'publishes in flight',
    'publisher',
    'rabbitmq',
    'mongo',
  ]);
});
