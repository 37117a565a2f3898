import { createMetrics } from '@parley/server-kit';

describe('createMetrics', () => {
  it('When two services build metrics side by side, then each has its own registry and labels', async () => {
    const chat = createMetrics({ service: 'chat' });
    const ws = createMetrics({ service: 'websocket' });

    const chatSent = chat.counter({
      name: 'messages_sent_total',
      help: 'Messages stored',
      labelNames: ['kind'],
    });
    const wsSent = ws.counter({ name: 'messages_sent_total', help: 'Frames pushed' });
    chatSent.inc({ kind: 'direct' }, 2);
    wsSent.inc();
    ws.gauge({ name: 'open_sockets', help: 'Open sockets' }).set(3);

    const chatText = await chat.registry.metrics();
    const wsText = await ws.registry.metrics();
    expect(chatText).toMatch(/messages_sent_total\{kind="direct",service="chat"\} 2/);
    expect(chatText).toMatch(/process_cpu_user_seconds_total\{service="chat"\}/);
    expect(chatText).not.toMatch(/open_sockets/);
    expect(wsText).toMatch(/messages_sent_total\{service="websocket"\} 1/);
    expect(wsText).toMatch(/open_sockets\{service="websocket"\} 3/);
  });

  it('When a custom histogram is registered, then it observes into the service registry', async () => {
    const metrics = createMetrics({ service: 'auth', defaultMetrics: false });
    const hashing = metrics.histogram({
      name: 'bcrypt_seconds',
      help: 'Hash time',
      buckets: [0.1, 0.5],
    });

    hashing.observe(0.2);

    expect(await metrics.registry.metrics()).toMatch(
      /bcrypt_seconds_bucket\{le="0.5",service="auth"\} 1/,
    );
  });
});
