// Optional TTL indexes: MongoDB deletes expired documents by itself, FerretDB v1 does
// not implement TTL indexes. Every query that cares about expiry filters on it, so the
// index is a clean-up, never a correctness requirement (docs/design.md §8).
import type { Collection, Document } from 'mongodb';

/** Creates a TTL index on `field`; false when the server does not implement them. */
export async function createTtlIndexIfSupported<T extends Document>(
  collection: Collection<T>,
  field: string,
): Promise<boolean> {
  try {
    await collection.createIndex({ [field]: 1 }, { expireAfterSeconds: 0, name: `${field}_ttl` });
    return true;
  } catch (err) {
    if (isNotImplemented(err)) return false;
    throw err;
  }
}

function isNotImplemented(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, codeName } = err as { code?: unknown; codeName?: unknown };
  return code === 238 || codeName === 'NotImplemented';
}
