// Jest global teardown: stops what the global setup started (and only that). Jest runs
// both in its parent process, so the setup hands its infrastructure over in a global.
import type { TestInfrastructure } from './infrastructure';

const key = Symbol.for('parley.testing.infrastructure');
type Holder = { [key]?: TestInfrastructure };

export function holdInfrastructure(infrastructure: TestInfrastructure): void {
  (globalThis as Holder)[key] = infrastructure;
}

export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as Holder;
  const infrastructure = holder[key];
  delete holder[key];
  await infrastructure?.stop();
}
