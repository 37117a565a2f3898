// The load-generator processes (load-worker.mjs) and a promise-returning RPC over
// their IPC channel.
import path from 'node:path';
import { benchRoot, startBenchProcess } from './stack.mjs';

export function startWorkers(count, logDir) {
  return Array.from({ length: count }, (_, index) => {
    const proc = startBenchProcess(`load-${index}`, [path.join(benchRoot, 'load-worker.mjs')], {
      logDir,
      ipc: true,
    });
    let nextId = 0;
    const pending = new Map();
    proc.child.on('message', ({ id, result, error }) => {
      const waiter = pending.get(id);
      pending.delete(id);
      if (error) waiter?.reject(new Error(`load-${index}: ${error}`));
      else waiter?.resolve(result);
    });
    proc.exited.then(({ code, signal }) => {
      for (const waiter of pending.values()) {
        waiter.reject(new Error(`load-${index} exited (code ${code}, signal ${signal})`));
      }
    });
    return {
      pid: proc.pid,
      exited: proc.exited,
      index,
      call(cmd, args) {
        const id = nextId++;
        return new Promise((resolve, reject) => {
          pending.set(id, { resolve, reject });
          proc.child.send({ id, cmd, args });
        });
      },
      async stop() {
        proc.child.disconnect();
        return proc.stop({ timeoutMs: 5_000 });
      },
    };
  });
}

/** Splits `items` into `parts` contiguous slices whose sizes differ by at most `unit`. */
export function split(items, parts, unit = 1) {
  const units = Math.floor(items.length / unit);
  const slices = [];
  let start = 0;
  for (let i = 0; i < parts; i += 1) {
    const take = (Math.floor((units * (i + 1)) / parts) - Math.floor((units * i) / parts)) * unit;
    slices.push(items.slice(start, start + take));
    start += take;
  }
  return slices;
}
