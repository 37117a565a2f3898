import { EventEmitter } from 'node:events';
import { createShutdown, installSignalHandlers } from '@parley/server-kit';
import { createCapturingLogger } from '@parley/testing';

describe('createShutdown', () => {
  it('When shutdown runs, then the steps close in the given order', async () => {
    const order: string[] = [];
    const step = (name: string) => ({ name, close: async () => void order.push(name) });
    const shutdown = createShutdown({
      logger: createCapturingLogger().logger,
      steps: [step('http'), step('consumers'), step('channel'), step('mongo')],
    });

    const result = await shutdown('SIGTERM');

    expect(order).toEqual(['http', 'consumers', 'channel', 'mongo']);
    expect(result).toEqual({ clean: true, failed: [] });
  });

  it('When shutdown is called twice, then the steps run once and both callers get the same promise', async () => {
    let closes = 0;
    const shutdown = createShutdown({
      logger: createCapturingLogger().logger,
      steps: [{ name: 'http', close: async () => void (closes += 1) }],
    });

    const first = shutdown('SIGTERM');
    const second = shutdown('SIGINT');

    expect(second).toBe(first);
    await first;
    expect(closes).toBe(1);
  });

  it('When a step throws or hangs past the deadline, then later steps still run and the result is not clean', async () => {
    const { logger, lines } = createCapturingLogger();
    const ran: string[] = [];
    const shutdown = createShutdown({
      logger,
      timeoutMs: 200,
      minStepMs: 100,
      steps: [
        { name: 'broken', close: async () => Promise.reject(new Error('boom')) },
        { name: 'hangs', close: () => new Promise<void>(() => undefined) },
        { name: 'mongo', close: async () => void ran.push('mongo') },
      ],
    });

    const started = Date.now();
    const result = await shutdown('test');

    expect(Date.now() - started).toBeLessThan(1000);
    expect(result).toEqual({ clean: false, failed: ['broken', 'hangs'] });
    expect(ran).toEqual(['mongo']);
    expect(lines().filter((l) => l['msg'] === 'shutdown step failed')).toHaveLength(2);
  });

  it('When SIGTERM arrives, then the handlers run shutdown once and exit with its outcome', async () => {
    const target = new EventEmitter() as EventEmitter & { exit: jest.Mock };
    target.exit = jest.fn();
    const shutdown = jest.fn(async () => ({ clean: true, failed: [] }));

    installSignalHandlers(shutdown, target);
    target.emit('SIGTERM');
    await new Promise((resolve) => setImmediate(resolve));

    expect(shutdown).toHaveBeenCalledWith('SIGTERM');
    expect(target.exit).toHaveBeenCalledWith(0);
  });
});
