// fast-check arbitraries for what an attacker sends first: MongoDB operators,
// prototype-pollution keys, numbers at the edges, odd strings, nesting; and a
// fingerprint of what a stack stored, to prove a refused request changed nothing.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { MongoClient } from 'mongodb';

export const POLLUTION_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/** Values that are queries, not data, if they ever reach a MongoDB filter unparsed. */
export const operatorValue: fc.Arbitrary<unknown> = fc.constantFrom(
  { $ne: null },
  { $gt: '' },
  { $regex: '.*' },
  { $where: 'sleep(1000) || true' },
  { $exists: true },
  { $in: [null, ''] },
  { $expr: { $eq: [1, 1] } },
  ['$ne', null],
  '$ne',
  '{"$gt":""}',
);

export const edgeNumber: fc.Arbitrary<unknown> = fc.constantFrom(
  1e308,
  -1e308,
  -0,
  Number.MAX_SAFE_INTEGER + 2,
  -1,
  0.5,
  'NaN',
  'Infinity',
  '-0',
  '1e400',
  '0x10',
  ' 1',
);

export const oddString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\ud800',
    '../../etc/passwd',
    '%2e%2e%2f',
    '<script>alert(1)</script>',
    "' OR 1=1 --",
    'a'.repeat(5_000),
    '🙂'.repeat(100),
    '\u202e\u0000\r\n',
  ),
);

const leaf: fc.Arbitrary<unknown> = fc.oneof(
  oddString,
  edgeNumber,
  operatorValue,
  fc.boolean(),
  fc.constant(null),
  fc.integer(),
);

/** Any JSON-ish value with adversarial leaves and, now and then, pollution keys. */
export const hostileValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom(...POLLUTION_KEYS, '$where', 'a.b')),
      tie('value'),
      { maxKeys: 4 },
    ),
  ),
})).value;

/**
 * A body aimed at a schema: its own field names (so the parser gets past "unknown
 * key"), each with a hostile value, plus sometimes an extra or pollution key.
 */
export function hostileBody(fields: readonly string[]): fc.Arbitrary<unknown> {
  const named =
    fields.length === 0
      ? fc.constant({})
      : fc.record(Object.fromEntries(fields.map((f) => [f, fc.oneof(leaf, hostileValue)])), {
          requiredKeys: [],
        });
  return fc.oneof(
    named,
    fc
      .tuple(named, fc.constantFrom(...POLLUTION_KEYS, 'extra', '$set'), hostileValue)
      .map(([body, key, value]) => {
        const copy = JSON.parse(JSON.stringify(body ?? {})) as Record<string, unknown>;
        Object.defineProperty(copy, key, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
        return copy;
      }),
    hostileValue,
  );
}

/** Field names of a zod object schema (through one refine/pipe), for hostileBody. */
export function fieldsOf(schema: unknown): string[] {
  let current = schema as
    { shape?: Record<string, unknown>; def?: Record<string, unknown> } | undefined;
  for (let i = 0; i < 4 && current; i += 1) {
    if (current.shape && typeof current.shape === 'object') return Object.keys(current.shape);
    const def = current.def ?? {};
    current = (def.in ?? def.schema ?? def.innerType) as typeof current;
  }
  return [];
}

/**
 * A hash per collection of its every document, except rate-limit counters (a
 * refused login counts a failure there by design, which is what stops guessing)
 * and bookkeeping, as one line per collection so a failed comparison names it.
 */
export async function storedFingerprint(client: MongoClient): Promise<string> {
  const db = client.db();
  const lines: string[] = [];
  const names = (await db.listCollections().toArray()).map((c) => c.name).sort();
  for (const name of names) {
    // rate limits, and the message relay's checkpoints (a heartbeat every second), are
    // written whatever requests come
    if (/rate|limit|relay_checkpoints/i.test(name)) continue;
    // outbox fields are delivery bookkeeping, cleared asynchronously after an earlier
    // accepted request's event is confirmed, and a conversation's activity (lastSeq,
    // lastMessageAt, updatedAt) is written up to one window after an earlier accepted send; neither
    // is what a request stored
    const docs = await db
      .collection(name)
      .find(
        {},
        {
          projection: {
            outbox: 0,
            outboxCount: 0,
            outboxDueAt: 0,
            ...(name === 'conversations' ? { lastSeq: 0, lastMessageAt: 0, updatedAt: 0 } : {}),
          },
        },
      )
      .sort({ _id: 1 })
      .toArray();
    const hash = createHash('sha256').update(JSON.stringify(docs)).digest('hex').slice(0, 16);
    lines.push(`${name}: ${docs.length} ${hash}`);
  }
  return lines.join('\n');
}
