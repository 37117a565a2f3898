import { createPeriodicTask } from '@parley/server-kit';
import { createCapturingLogger, waitFor } from '@parley/testing';

describe('createPeriodicTask', () => {
  it('When a pass is slower than the interval, then passes never overlap and the next starts after it', async () => {
    let running = 0;
    let maxRunning = 0;
    let passes = 0;
    const task = createPeriodicTask({
      name: 'test-task',
      intervalMs: 5,
      logger: createCapturingLogger().logger,
      run: async () => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((resolve) => setTimeout(resolve, 30));
        running -= 1;
        passes += 1;
      },
    });

    task.start();
    await waitFor(() => passes >= 3 || undefined);
    await task.stop();
    const after = passes;
    await new Promise((resolve) => setTimeout(resolve, 60));

    expect(maxRunning).toBe(1);
    expect(running).toBe(0); // stop() waited for the pass in progress
    expect(passes).toBe(after); // and nothing ran after it
  });

  it('When a pass fails, then it is logged and the next pass still runs', async () => {
    const log = createCapturingLogger();
    let calls = 0;
    const task = createPeriodicTask({
      name: 'flaky-task',
      intervalMs: 5,
      logger: log.logger,
      run: async () => {
        calls += 1;
        if (calls === 1) throw new Error('MongoDB went away');
      },
    });

    task.start();
    await waitFor(() => calls >= 2 || undefined);
    await task.stop();

    expect(log.lines().some((l) => String(l['msg']).includes('flaky-task pass failed'))).toBe(true);
  });

  it('When runOnce is called during a pass, then it joins that pass instead of starting another', async () => {
    let passes = 0;
    let release!: () => void;
    const task = createPeriodicTask({
      name: 'join-task',
      intervalMs: 60_000,
      logger: createCapturingLogger().logger,
      run: () =>
        new Promise<void>((resolve) => {
          passes += 1;
          release = resolve;
        }),
    });

    const first = task.runOnce();
    const second = task.runOnce();
    release();
    await Promise.all([first, second]);

    expect(passes).toBe(1);
  });

  it('When a task has a due check, then a tick runs a pass only when it says so, and runOnce runs one regardless', async () => {
    let ticks = 0;
    let passes = 0;
    const task = createPeriodicTask({
      name: 'due-task',
      intervalMs: 5,
      logger: createCapturingLogger().logger,
      due: () => ++ticks % 3 === 0, // every third tick
      run: async () => {
        passes += 1;
      },
    });

    expect(await task.runOnce()).toBeUndefined();
    expect(passes).toBe(1);
    task.start();
    await waitFor(() => ticks >= 9 || undefined);
    await task.stop();

    expect(passes).toBe(1 + Math.floor(ticks / 3));
  });

  it('When a pass resolves with a result, then runOnce gives it (undefined for a failed pass), joined callers alike', async () => {
    let calls = 0;
    const task = createPeriodicTask({
      name: 'counting-task',
      intervalMs: 60_000,
      logger: createCapturingLogger().logger,
      run: async () => {
        calls += 1;
        if (calls === 2) throw new Error('MongoDB went away');
        return calls * 10;
      },
    });

    expect(await Promise.all([task.runOnce(), task.runOnce()])).toEqual([10, 10]);
    expect(await task.runOnce()).toBeUndefined();
    expect(await task.runOnce()).toBe(30);
  });
});
