// Graceful shutdown as one ordered list: stop accepting, drain, consumers, channel,
// MongoDB. Each step gets what is left of one overall deadline (and a short minimum),
// a failing or hanging step does not stop the ones after it, and a second SIGTERM
// joins the first run instead of starting another.
import type { Logger } from './logger';

export interface ShutdownStep {
  name: string;
  close(): Promise<void>;
}

export interface ShutdownOptions {
  logger: Logger;
  /** The whole shutdown's budget; default 10 s. */
  timeoutMs?: number;
  /**
   * Time a step still gets once the budget is spent, so that Mongo is closed even
   * after a consumer hung; default 500 ms.
   */
  minStepMs?: number;
  steps: readonly ShutdownStep[];
}

export interface ShutdownResult {
  /** True when every step finished in time without throwing. */
  clean: boolean;
  failed: string[];
}

export type Shutdown = (reason: string) => Promise<ShutdownResult>;

export function createShutdown(options: ShutdownOptions): Shutdown {
  let running: Promise<ShutdownResult> | undefined;
  const timeoutMs = options.timeoutMs ?? 10_000;

  async function run(reason: string): Promise<ShutdownResult> {
    const log = options.logger;
    const deadline = Date.now() + timeoutMs;
    const failed: string[] = [];
    log.info({ reason }, 'shutting down');
    for (const step of options.steps) {
      const left = Math.max(deadline - Date.now(), options.minStepMs ?? 500);
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(() => step.close()),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`step timed out after ${left} ms`)), left);
          }),
        ]);
        log.info({ step: step.name }, 'shutdown step done');
      } catch (err) {
        failed.push(step.name);
        log.error({ err, step: step.name }, 'shutdown step failed');
      } finally {
        clearTimeout(timer);
      }
    }
    log.info({ clean: failed.length === 0, failed }, 'shutdown complete');
    return { clean: failed.length === 0, failed };
  }

  return (reason) => {
    running ??= run(reason);
    return running;
  };
}

/** What installSignalHandlers needs of `process`; injectable for tests. */
export interface SignalTarget {
  once(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  exit(code?: number): never | void;
}

/**
 * Runs `shutdown` on SIGTERM/SIGINT, then exits (0 when clean, 1 otherwise). Call it
 * from main.ts only: signal handlers are process-wide.
 */
export function installSignalHandlers(shutdown: Shutdown, target: SignalTarget = process): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    target.once(signal, () => {
      void shutdown(signal).then(
        (result) => target.exit(result.clean ? 0 : 1),
        () => target.exit(1),
      );
    });
  }
}
