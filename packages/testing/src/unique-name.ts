// Names no other test (or earlier run) uses, for databases, exchanges, queues and
// users, so tests never depend on order or on leftovers.
import { randomUUID } from 'node:crypto';

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;
}

/** A MongoDB database name unique to the caller (dots and slashes are not allowed). */
export function uniqueDbName(prefix = 'test'): string {
  return uniqueName(prefix)
    .replace(/[^A-Za-z0-9_-]/g, '_')
    .slice(0, 60);
}
