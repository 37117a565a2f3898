// Read-modify-write changes (edits, reactions, membership) as optimistic updates: read
// the document, let the use case decide the change (or refuse it with a typed error),
// then write it only if `version` is unchanged, together with the events built from
// the new state (see outbox.ts). A lost race re-reads and decides again.
import type { ParleyEvent } from '@parley/contracts';
import { DependencyUnavailableError } from '@parley/server-kit';
import type { Collection, Filter, UpdateFilter } from 'mongodb';
import { withOutbox } from '../outbox/outbox';
import { backoff } from './retry-backoff';

export interface VersionedDoc {
  _id: unknown;
  version: number;
}

export interface VersionedChange<D> {
  set: Partial<D>;
  unset?: (keyof D & string)[];
  /** The events announcing the change, built from the document as it will be. */
  events(after: D): ParleyEvent[];
}

export interface VersionedResult<D> {
  doc: D;
  events: ParleyEvent[];
  changed: boolean;
}

export interface VersionedUpdateOptions {
  now: () => Date;
  /** Thrown when the document does not exist. */
  notFound: () => Error;
  maxAttempts?: number;
}

export async function updateVersioned<D extends VersionedDoc>(
  col: Collection<D>,
  id: D['_id'],
  decide: (current: D) => VersionedChange<D> | undefined,
  options: VersionedUpdateOptions,
): Promise<VersionedResult<D>> {
  const maxAttempts = options.maxAttempts ?? 20;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const current = (await col.findOne({ _id: id } as Filter<D>)) as D | null;
    if (!current) throw options.notFound();
    const change = decide(current);
    if (!change) return { doc: current, events: [], changed: false };

    const version = current.version + 1;
    const after = { ...current, ...change.set, version } as D;
    for (const key of change.unset ?? []) delete after[key];
    const events = change.events(after);
    const $unset = Object.fromEntries((change.unset ?? []).map((key) => [key, ''] as const));
    const update = withOutbox(
      { $set: { ...change.set, version }, ...(change.unset?.length ? { $unset } : {}) },
      events,
      options.now(),
    );
    const result = await col.updateOne(
      { _id: id, version: current.version } as Filter<D>,
      update as UpdateFilter<D>,
    );
    if (result.matchedCount === 1) return { doc: after, events, changed: true };
    await backoff(attempt);
  }
  throw new DependencyUnavailableError('The change kept conflicting with others; try again');
}
