// Registering webhooks (docs/design.md §12) against the real app and database, with
// private targets refused (WEBHOOK_ALLOW_PRIVATE off), and the pure parts of delivery:
// which addresses count as private, the signature, the backoff.
import { createHmac } from 'node:crypto';
import { createdWebhookResponseSchema, webhooksResponseSchema } from '@parley/contracts';
import { DependencyUnavailableError } from '@parley/server-kit';
import { waitFor } from '@parley/testing';
import request from 'supertest';
import { signatureHeader } from '../src/webhooks/webhook-delivery';
import { DEFAULT_RETRY_POLICY, retryDelayMs } from '../src/webhooks/webhook-dispatcher';
import { isNonPublicAddress, resolvePublicAddresses } from '../src/webhooks/webhook-targets';
import { bearer, useChatHarness, type TestUser } from './support/chat-harness';
import { insertWebhook, messageEvent, recordingDispatcher } from './support/webhook-lanes';

const h = useChatHarness({ webhookAllowPrivate: false });
const api = () => request(h.app.url);

async function roomOf(
  owner: TestUser,
  members: TestUser[] = [],
  isPrivate = false,
): Promise<string> {
  const res = await api()
    .post('/chat/rooms')
    .set(bearer(owner))
    .send({ name: 'hooks', isPrivate, members: members.map((m) => m.username) });
  expect(res.status).toBe(201);
  return (res.body as { conversation: { id: string } }).conversation.id;
}

const register = (user: TestUser, roomId: string, url: string, events = ['new_message']) =>
  api().post(`/chat/rooms/${roomId}/webhooks`).set(bearer(user)).send({ url, events });

it('When a webhook targets loopback, a private, link-local or documentation address, carries credentials or is not http(s), then 400 validation_failed and nothing is stored', async () => {
  const owner = h.newUser('owner');
  const roomId = await roomOf(owner);

  for (const url of [
    'http://127.0.0.1:8080/hook',
    'http://localhost/hook',
    'http://10.1.2.3/hook',
    'http://169.254.169.254/latest/meta-data',
    'http://[::1]/hook',
    'http://[::ffff:192.168.0.1]/hook',
    'ftp://example.com/hook',
    'javascript:alert(1)',
    'https://user:pw@example.com/hook',
    'https://:pw@example.com/hook',
    'http://192.0.2.10/hook',
    'http://203.0.113.7/hook',
    'http://[2001:db8::1]/hook',
    'http://[64:ff9b::a00:1]/hook',
  ]) {
    const res = await register(owner, roomId, url);
    expect([url, res.status, res.body.code]).toEqual([url, 400, 'validation_failed']);
  }
  expect(await h.db.collection('webhooks').countDocuments({ roomId })).toBe(0);
});

it('When the owner registers a public target, then the secret is shown once; listing hides it, a plain member and an outsider are refused', async () => {
  const [owner, member, outsider] = [h.newUser('owner'), h.newUser('member'), h.newUser('out')];
  const roomId = await roomOf(owner, [member]);

  // a literal public address: no DNS needed on the build machine
  const created = await register(owner, roomId, 'https://93.184.215.14/hook', [
    'new_message',
    'reaction',
  ]);
  const listed = await api().get(`/chat/rooms/${roomId}/webhooks`).set(bearer(owner));
  const byMember = await register(member, roomId, 'https://93.184.215.14/hook');
  const byOutsider = await api().get(`/chat/rooms/${roomId}/webhooks`).set(bearer(outsider));

  expect(created.status).toBe(201);
  const { webhook } = createdWebhookResponseSchema.parse(created.body);
  expect(webhook.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
  expect(webhooksResponseSchema.parse(listed.body).webhooks).toEqual([
    {
      id: webhook.id,
      roomId,
      url: 'https://93.184.215.14/hook',
      events: ['new_message', 'reaction'],
      createdAt: webhook.createdAt,
    },
  ]);
  expect(JSON.stringify(listed.body)).not.toContain(webhook.secret);
  expect([byMember.status, byMember.body.code]).toEqual([403, 'forbidden']);
  // a public room: visible, but not theirs
  expect([byOutsider.status, byOutsider.body.code]).toEqual([403, 'not_a_member']);
});

it('When a member is made admin, then they manage the webhooks; demoted, removed or outside a private room, they are refused at once', async () => {
  const [owner, admin, outsider] = [h.newUser('owner'), h.newUser('admin'), h.newUser('out')];
  const roomId = await roomOf(owner, [admin], true);
  const setRole = (role: string) =>
    api().put(`/chat/rooms/${roomId}/roles/${admin.username}`).set(bearer(owner)).send({ role });
  const list = (user: TestUser) => api().get(`/chat/rooms/${roomId}/webhooks`).set(bearer(user));

  expect((await setRole('admin')).status).toBe(200);
  const byAdmin = await register(admin, roomId, 'https://93.184.215.14/hook');
  const listedByAdmin = await list(admin);
  expect((await setRole('member')).status).toBe(200);
  const demoted = await list(admin);
  expect((await setRole('admin')).status).toBe(200);
  const removed = await api()
    .delete(`/chat/rooms/${roomId}/members/${admin.username}`)
    .set(bearer(owner));
  const afterRemoval = await list(admin);
  const byOutsider = await register(outsider, roomId, 'https://93.184.215.14/hook');

  expect(byAdmin.status).toBe(201);
  expect(webhooksResponseSchema.parse(listedByAdmin.body).webhooks).toHaveLength(1);
  expect([demoted.status, demoted.body.code]).toEqual([403, 'forbidden']);
  expect(removed.status).toBe(200);
  // a private room does not exist for those outside it
  expect([afterRemoval.status, afterRemoval.body.code]).toEqual([404, 'conversation_not_found']);
  expect([byOutsider.status, byOutsider.body.code]).toEqual([404, 'conversation_not_found']);
  expect(webhooksResponseSchema.parse((await list(owner)).body).webhooks).toHaveLength(1);
});

it('When a webhook is deleted, then it is gone; an unknown one is 404 webhook_not_found', async () => {
  const owner = h.newUser('owner');
  const roomId = await roomOf(owner);
  const { webhook } = createdWebhookResponseSchema.parse(
    (await register(owner, roomId, 'https://93.184.215.14/hook')).body,
  );

  const deleted = await api()
    .delete(`/chat/rooms/${roomId}/webhooks/${webhook.id}`)
    .set(bearer(owner));
  const again = await api()
    .delete(`/chat/rooms/${roomId}/webhooks/${webhook.id}`)
    .set(bearer(owner));
  const attempts = await api()
    .get(`/chat/rooms/${roomId}/webhooks/${webhook.id}/deliveries`)
    .set(bearer(owner));

  expect(deleted.status).toBe(204);
  expect([again.status, again.body.code]).toEqual([404, 'webhook_not_found']);
  expect(attempts.status).toBe(404);
});

describe('webhook targets and signatures', () => {
  it('When addresses are classified, then loopback, private, link-local, CGNAT and mapped ones are not public', () => {
    for (const a of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
    ]) {
      expect([a, isNonPublicAddress(a)]).toEqual([a, true]);
    }
    for (const a of ['93.184.215.14', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8']) {
      expect([a, isNonPublicAddress(a)]).toEqual([a, false]);
    }
  });

  it('When a name resolves to a public and a private address, then it is refused (DNS rebinding)', async () => {
    const resolver = () =>
      Promise.resolve([
        { address: '93.184.215.14', family: 4 },
        { address: '10.0.0.5', family: 4 },
      ]);
    await expect(resolvePublicAddresses('bots.example', false, resolver)).rejects.toThrow(
      /non-public/,
    );
    await expect(resolvePublicAddresses('bots.example', true, resolver)).resolves.toHaveLength(2);
  });

  it('When a body is signed, then v1 is the hex HMAC-SHA256 of "<t>.<body>" with t in seconds', () => {
    const header = signatureHeader('whsec_x', '{"a":1}', new Date(1_700_000_000_500));
    const expected = createHmac('sha256', 'whsec_x').update('1700000000.{"a":1}').digest('hex');
    expect(header).toBe(`t=1700000000,v1=${expected}`);
  });

  it('When retries follow each other, then waits double up to the cap, with jitter between half and all of it', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, baseMs: 1000, maxMs: 8000 };
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, policy, () => 1))).toEqual([
      1000, 2000, 4000, 8000, 8000,
    ]);
    expect(retryDelayMs(3, policy, () => 0)).toBe(2000);
  });
});

describe('the delivery lanes (real MongoDB, a stand-in for the HTTP attempt, a test clock)', () => {
  it('When a webhook is deleted while its lane holds a backlog, then nothing is sent after the delivery under way, and what it was owed is gone', async () => {
    const store = h.app.services.webhooks;
    const webhook = await insertWebhook(store);
    const { roomId } = webhook;
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const { dispatcher, sent } = recordingDispatcher(store, {
      answer: async (sent) => {
        if (sent.length === 2) await held; // the second is under way when the webhook goes
        return { delivered: true, status: 204, durationMs: 1 };
      },
    });
    try {
      await Promise.all(
        ['a', 'b', 'c', 'd', 'e'].map((text) => dispatcher.accept(messageEvent(roomId, text))),
      );
      await waitFor(() => sent.length === 2, { description: 'the second delivery under way' });
      await store.remove(webhook._id);
      release();
    } finally {
      await dispatcher.stop(); // waits for the lane
    }
    expect(sent).toEqual(['a', 'b']);
    expect(await store.deliveries.countDocuments({ webhookId: webhook._id.toHexString() })).toBe(0);
  });

  it('When storing deliveries fails while MongoDB is down, then the events are held and later ones wait behind them: each is delivered once, in order', async () => {
    const real = h.app.services.webhooks;
    const { roomId } = await insertWebhook(real);
    let outage = 2; // the next two inserts fail as if MongoDB were unreachable
    const store: typeof real = {
      ...real,
      enqueue: (docs) =>
        outage-- > 0
          ? Promise.reject(new DependencyUnavailableError('MongoDB down'))
          : real.enqueue(docs),
    };
    const { dispatcher, sent } = recordingDispatcher(store);
    try {
      const first = ['a', 'b', 'c'].map((text) => dispatcher.accept(messageEvent(roomId, text)));
      await new Promise((resolve) => setImmediate(resolve)); // the first batch is taken
      const later = ['d', 'e'].map((text) => dispatcher.accept(messageEvent(roomId, text)));
      await Promise.all([...first, ...later]); // resolved only once stored
      await waitFor(() => sent.length >= 5, { description: 'five deliveries' });
    } finally {
      await dispatcher.stop();
    }
    expect(outage).toBeLessThan(0);
    expect(sent).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('When a webhook keeps failing past the give-up period, then it is disabled and what it was owed is dropped; until then later events wait', async () => {
    const store = h.app.services.webhooks;
    const webhook = await insertWebhook(store);
    const { roomId } = webhook;
    let skipped = 0; // the test clock runs with real time, plus what the test skips
    const { dispatcher, sent } = recordingDispatcher(store, {
      retry: { baseMs: 20, maxMs: 40, giveUpMs: 24 * 60 * 60 * 1000 },
      now: () => new Date(Date.now() + skipped),
      answer: () => ({ delivered: false, status: 500, durationMs: 1 }),
    });
    try {
      await dispatcher.accept(messageEvent(roomId, 'first'));
      await dispatcher.accept(messageEvent(roomId, 'second'));
      await waitFor(() => sent.length >= 3, { description: 'three attempts' });
      expect(new Set(sent)).toEqual(new Set(['first'])); // the second waits its turn

      skipped += 25 * 60 * 60 * 1000;
      await waitFor(
        async () => (await store.findById(webhook._id.toHexString()))?.disabledAt !== undefined,
        { description: 'the webhook disabled' },
      );

      expect(await store.deliveries.countDocuments({ webhookId: webhook._id.toHexString() })).toBe(
        0,
      );
      const attempts = await store.recentAttempts(webhook._id.toHexString(), 100);
      expect(attempts.every((a) => a.status === 500 && !a.delivered)).toBe(true);
    } finally {
      await dispatcher.stop();
    }
  });
});
