// The conversations' last-message fields are written behind the sends, many
// conversations per command (conversation-activity.ts, docs/design.md §4.10).
import type { CommandStartedEvent } from 'mongodb';
import { waitFor } from '@parley/testing';
import {
  ACTIVITY_BULK_MAX,
  createConversationActivity,
  type ActivityFields,
} from '../src/conversations/conversation-activity';
import type { ConversationDoc } from '../src/conversations/conversation-store';
import { useChatHarness } from './support/chat-harness';

const h = useChatHarness();

function seed(ids: string[]) {
  const at = new Date(0);
  return h.db.collection<ConversationDoc>('conversation_activity_test').insertMany(
    ids.map((_id) => ({
      _id,
      kind: 'direct' as const,
      isPrivate: true,
      members: [],
      memberIds: [],
      lastSeq: 0,
      lastMessageAt: at,
      createdAt: at,
      updatedAt: at,
      version: 0,
    })),
  );
}

it('When 120 conversations get messages in one window, then one write per 50 stores them all and the fields only move forward', async () => {
  const collection = h.db.collection<ActivityFields>('conversation_activity_test');
  const ids = Array.from({ length: 120 }, (_, i) => `c${i}`);
  await seed(ids);
  const activity = createConversationActivity({ collection, delayMs: 60_000 });
  const late = new Date('2030-01-01T00:00:00Z');
  for (const id of ids) {
    activity.record(id, 7, late);
    activity.record(id, 3, new Date('2029-01-01T00:00:00Z')); // an older send finishing last
  }
  expect(activity.pending('c5')).toEqual({ seq: 7, at: late });

  const writes: CommandStartedEvent[] = [];
  const listener = (event: CommandStartedEvent) => {
    if (event.commandName === 'update' && event.command['update'] === collection.collectionName)
      writes.push(event);
  };
  h.mongo.on('commandStarted', listener);
  try {
    await activity.flush();
  } finally {
    h.mongo.off('commandStarted', listener);
  }
  expect(writes).toHaveLength(Math.ceil(120 / ACTIVITY_BULK_MAX));
  expect(writes.every((w) => (w.command['updates'] as unknown[]).length <= ACTIVITY_BULK_MAX)).toBe(
    true,
  );
  const stored = await collection.find({ _id: { $in: ids } }).toArray();
  expect(stored.every((d) => d.lastSeq === 7 && d.lastMessageAt.getTime() === late.getTime())).toBe(
    true,
  );
  expect(activity.pending('c5')).toBeUndefined();

  // an older record written later cannot move them back ($max)
  activity.record('c5', 2, new Date(0));
  await activity.flush();
  expect((await collection.findOne({ _id: 'c5' }))?.lastSeq).toBe(7);
});

it('When the window passes, then what was recorded is written without anyone asking', async () => {
  const collection = h.db.collection<ActivityFields>('conversation_activity_test');
  await seed(['timed']);
  const activity = createConversationActivity({ collection, delayMs: 50 });
  activity.record('timed', 4, new Date());
  await waitFor(async () => (await collection.findOne({ _id: 'timed' }))?.lastSeq === 4, {
    timeoutMs: 2_000,
    description: 'the window written',
  });
});
