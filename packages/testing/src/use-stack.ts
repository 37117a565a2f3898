// Jest wiring for a stack: started before the file's tests, stopped after them (also
// when they fail), and the tail of every process's log printed under a failed test.
import { startStack, type Stack, type StackOptions } from './stack';
import { closeAllConnections } from './users';

export interface StackHandle {
  /** The running stack (throws before beforeAll has started it). */
  readonly stack: Stack;
}

/** Lines of each process's log printed for a failed test. */
const tailLines = 30;

/**
 * Registers beforeAll/afterEach/afterAll for one stack per test file; afterAll also
 * closes every realtime connection opened with connect().
 *
 *   const e2e = useStack({ websocketInstances: 2 });
 *   test('When …, then …', async () => { const [alice] = await createUsers(e2e.stack, ['alice']); … });
 */
export function useStack(options: StackOptions = {}, startTimeoutMs = 60_000): StackHandle {
  const started = useStarted(
    () => startStack(options),
    (stack) => stack,
    startTimeoutMs,
  );
  return {
    get stack() {
      return started();
    },
  };
}

/**
 * The wiring under useStack, for anything a file starts once around a stack (e.g. a
 * stack behind Toxiproxy): `start` in beforeAll, the stack's logs under a failed test,
 * and in afterAll every connection opened with connect() closed, then `stop()`.
 * Returns a getter for what was started (it throws before beforeAll has run).
 */
export function useStarted<T extends { stop(): Promise<void> }>(
  start: () => Promise<T>,
  stackOf: (started: T) => Stack,
  startTimeoutMs = 60_000,
): () => T {
  let started: T | undefined;
  beforeAll(async () => {
    started = await start();
  }, startTimeoutMs);
  reportLogsOnFailure(() => (started === undefined ? undefined : stackOf(started)));
  afterAll(async () => {
    closeAllConnections();
    await started?.stop();
  }, 30_000);
  return () => {
    if (started === undefined) throw new Error('not started yet (use it inside a test)');
    return started;
  };
}

/** After each failed test, prints where the logs are and the tail of each. */
export function reportLogsOnFailure(stacks: () => Stack | readonly Stack[] | undefined): void {
  afterEach(() => {
    if (currentTestFailed() !== true) return;
    const list = stacks();
    for (const stack of list === undefined ? [] : Array.isArray(list) ? list : [list]) {
      process.stderr.write(
        `\n[e2e] "${expect.getState().currentTestName}" failed; logs of stack ${stack.name} in ${stack.logDir}\n${stack.logTails(tailLines)}\n`,
      );
    }
  });
}

interface CircusState {
  currentlyRunningTest?: { errors: unknown[] } | null;
}

// jest-circus keeps its state on the test file's global under a private symbol; the
// running test's errors are filled before afterEach hooks run. Undefined when that
// cannot be read (another runner), so nothing is printed rather than guessed.
function currentTestFailed(): boolean | undefined {
  const symbol = Object.getOwnPropertySymbols(globalThis).find(
    (s) => s.description === 'JEST_STATE_SYMBOL',
  );
  if (symbol === undefined) return undefined;
  const state = (globalThis as unknown as Record<symbol, CircusState | undefined>)[symbol];
  const test = state?.currentlyRunningTest;
  return test ? test.errors.length > 0 : undefined;
}
