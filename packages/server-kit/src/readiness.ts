// /readyz: each dependency answers within a short timeout, or the instance reports
// not ready (503) so a load balancer routes around it instead of queueing requests.
export interface ReadinessCheck {
  /** The key in the `checks` object, e.g. `mongo`, `rabbitmq`. */
  name: string;
  /** Resolves when the dependency answers; rejects (or times out) when it does not. */
  check(signal: AbortSignal): Promise<void>;
}

export type CheckState = 'up' | 'down';

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, CheckState>;
}

export async function runReadinessChecks(
  checks: readonly ReadinessCheck[],
  timeoutMs: number,
): Promise<ReadinessReport> {
  const states = await Promise.all(checks.map((check) => runOne(check, timeoutMs)));
  const report: ReadinessReport = { ready: states.every((s) => s === 'up'), checks: {} };
  checks.forEach((check, i) => {
    report.checks[check.name] = states[i] ?? 'down';
  });
  return report;
}

async function runOne(check: ReadinessCheck, timeoutMs: number): Promise<CheckState> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckState>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve('down');
    }, timeoutMs);
  });
  try {
    return await Promise.race([
      check.check(controller.signal).then((): CheckState => 'up'),
      timeout,
    ]);
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}
