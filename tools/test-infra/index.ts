// What a test file needs from the infrastructure that global-setup.js provides:
// its own database, unique names so tests never see each other's data, and a
// bounded poll for things that happen asynchronously (events, consumers).
// Import it by relative path, e.g. `from '../../../tools/test-infra'`.
import { randomBytes } from 'node:crypto';

const defaultMongoUrl = 'mongodb://127.0.0.1:27017';
const defaultAmqpUrl = 'amqp://guest:guest@127.0.0.1:5672';

/** A name no other test (or earlier run) uses: `<prefix>_<time><random>`, [a-z0-9_] only. */
export function uniqueName(prefix = 't'): string {
  return `${prefix}_${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}

/**
 * MONGO_URL with `dbName` as its database (a fresh unique one by default), keeping
 * any query string such as `?directConnection=true`.
 * Call it once per test file and share the result between its tests.
 */
export function testMongoUrl(dbName: string = uniqueName('t')): string {
  const base = process.env.MONGO_URL ?? defaultMongoUrl;
  const queryAt = base.indexOf('?');
  const query = queryAt === -1 ? '' : base.slice(queryAt);
  const withoutQuery = queryAt === -1 ? base : base.slice(0, queryAt);
  const hostsAt = withoutQuery.indexOf('://') + 3;
  const pathAt = withoutQuery.indexOf('/', hostsAt);
  const hosts = pathAt === -1 ? withoutQuery : withoutQuery.slice(0, pathAt);
  return `${hosts}/${dbName}${query}`;
}

export function amqpUrl(): string {
  return process.env.AMQP_URL ?? defaultAmqpUrl;
}

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Says what was awaited, for the timeout error. */
  description?: string;
}

/**
 * Calls `check` until it returns a value other than undefined, null or false, and
 * resolves with that value. A throwing check counts as "not yet"; its last error is
 * in the timeout error. Never a fixed sleep: it returns as soon as the check passes.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  { timeoutMs = 5_000, intervalMs = 25, description = 'condition' }: WaitForOptions = {},
): Promise<Exclude<T, undefined | null | false>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) {
        return value as Exclude<T, undefined | null | false>;
      }
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? `: last error: ${lastError.message}` : '';
      throw new Error(`waitFor: ${description} not met within ${timeoutMs} ms${cause}`, {
        cause: lastError,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
