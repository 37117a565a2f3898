// Creates a collection's declared indexes at startup. One createIndexes command per
// index, because FerretDB v1 (the dev/test server) drops the connection when a
// multi-index createIndexes names indexes that already exist; single ones are fine.
import type { Collection, Document, IndexDescription } from 'mongodb';

export async function createDeclaredIndexes<T extends Document>(
  collection: Collection<T>,
  indexes: readonly IndexDescription[],
): Promise<void> {
  for (const index of indexes) await collection.createIndexes([index]);
}
