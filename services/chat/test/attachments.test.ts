// Attachments in GridFS on the dev server (docs/design.md §11): streamed upload and
// download, the size cap, quota, image headers (readable by a page on another origin),
// access, ranges, sending them with a message, cut uploads, and the sweep.
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import {
  attachmentResponseSchema,
  messageResponseSchema,
  type Attachment,
} from '@parley/contracts';
import { waitFor } from '@parley/testing';
import { ObjectId } from 'mongodb';
import request from 'supertest';
import { sweepAttachments } from '../src/attachments/attachment-sweep';
import { bearer, useChatHarness, type TestUser } from './support/chat-harness';

const MAX = 10 * 1024 * 1024;
const h = useChatHarness({ attachmentSettings: { maxBytes: MAX } });
const api = () => request(h.app.url);

/** A PNG's signature and IHDR chunk: all image-size reads; the rest is filler. */
function pngBytes(width: number, height: number, filler = 64): Buffer {
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const chunk = Buffer.alloc(4 + 4 + 13 + 4);
  chunk.writeUInt32BE(13, 0);
  chunk.write('IHDR', 4, 'ascii');
  chunk.writeUInt32BE(width, 8);
  chunk.writeUInt32BE(height, 12);
  chunk.writeUInt8(8, 16); // bit depth
  chunk.writeUInt8(6, 17); // colour type
  return Buffer.concat([sig, chunk, randomBytes(filler)]);
}

async function upload(
  user: TestUser,
  body: Buffer,
  type = 'application/octet-stream',
  name = 'file.bin',
): Promise<Attachment> {
  const res = await api()
    .post('/chat/attachments')
    .set(bearer(user))
    .set('Content-Type', type)
    .set('X-File-Name', encodeURIComponent(name))
    .send(body);
  expect(res.status).toBe(201);
  return attachmentResponseSchema.parse(res.body).attachment;
}

function download(user: TestUser, id: string) {
  return api()
    .get(`/chat/attachments/${id}`)
    .set(bearer(user))
    .buffer(true)
    .parse((res, done) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => done(null, Buffer.concat(parts)));
    });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function sendWith(from: TestUser, to: TestUser, ids: string[], clientMsgId?: string) {
  return api()
    .post('/chat/send')
    .set(bearer(from))
    .send({ to: to.username, attachmentIds: ids, ...(clientMsgId ? { clientMsgId } : {}) });
}

it('When a PNG is uploaded, then it answers its digest and size from the header, and its uploader downloads it inline with safe headers', async () => {
  const alice = h.newUser('alice');
  const png = pngBytes(640, 480);

  const attachment = await upload(alice, png, 'image/png', 'holiday photo ü.png');

  expect(attachment).toMatchObject({
    name: 'holiday photo ü.png',
    contentType: 'image/png',
    size: png.length,
    sha256: sha(png),
    width: 640,
    height: 480,
  });
  const res = await download(alice, attachment.id);
  expect(res.status).toBe(200);
  expect(Buffer.compare(res.body as Buffer, png)).toBe(0);
  expect(res.headers).toMatchObject({
    'content-type': 'image/png',
    'content-length': String(png.length),
    etag: `"${sha(png)}"`,
    'x-content-type-options': 'nosniff',
    'accept-ranges': 'bytes',
  });
  expect(res.headers['content-disposition']).toMatch(
    /^inline; filename="holiday photo \?\.png"; filename\*=UTF-8''holiday%20photo%20%C3%BC\.png$/,
  );
  expect(res.headers['content-security-policy']).toBe("default-src 'none'; sandbox");
  const again = await api()
    .get(`/chat/attachments/${attachment.id}`)
    .set(bearer(alice))
    .set('If-None-Match', `"${sha(png)}"`);
  expect(again.status).toBe(304);
});

it('When a file is not a known image, then it is offered as a download, not shown', async () => {
  const alice = h.newUser('alice');
  const html = Buffer.from('<script>alert(1)</script>');

  const attachment = await upload(alice, html, 'text/html', 'page.html');
  const res = await download(alice, attachment.id);

  expect(attachment.width).toBeUndefined();
  expect(res.headers['content-disposition']).toBe('attachment; filename="page.html"');
  expect(res.headers['x-content-type-options']).toBe('nosniff');
});

it('When a page on another origin downloads a range, then it may read the download headers', async () => {
  const alice = h.newUser('alice');
  const attachment = await upload(alice, randomBytes(100), 'application/pdf', 'report.pdf');

  const res = await api()
    .get(`/chat/attachments/${attachment.id}`)
    .set(bearer(alice))
    .set('Origin', 'https://app.example')
    .set('Range', 'bytes=0-9');

  expect(res.status).toBe(206);
  expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
  const exposed = String(res.headers['access-control-expose-headers'])
    .split(',')
    .map((name) => name.trim().toLowerCase());
  // each is on this answer, and a script on the page is allowed to see it
  for (const name of ['etag', 'accept-ranges', 'content-range', 'content-disposition']) {
    expect([name, res.headers[name] !== undefined]).toEqual([name, true]);
    expect(exposed).toContain(name);
  }
});

it('When a 9 MiB file is streamed up in chunks, then every byte comes back, and ranges give their slices', async () => {
  const alice = h.newUser('alice');
  const big = randomBytes(9 * 1024 * 1024 + 17);

  const attachment = await upload(alice, big);
  const whole = await download(alice, attachment.id);
  const ranged = (range: string) =>
    api()
      .get(`/chat/attachments/${attachment.id}`)
      .set(bearer(alice))
      .set('Range', range)
      .buffer(true)
      .parse((res, done) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => done(null, Buffer.concat(parts)));
      });

  expect(attachment.sha256).toBe(sha(big));
  expect(Buffer.compare(whole.body as Buffer, big)).toBe(0);
  // across a GridFS chunk boundary (255 KiB)
  const middle = await ranged('bytes=261000-600000');
  expect(middle.status).toBe(206);
  expect(middle.headers['content-range']).toBe(`bytes 261000-600000/${big.length}`);
  expect(Buffer.compare(middle.body as Buffer, big.subarray(261000, 600001))).toBe(0);
  const tail = await ranged('bytes=-10');
  expect(Buffer.compare(tail.body as Buffer, big.subarray(big.length - 10))).toBe(0);
  const from = await ranged(`bytes=${big.length - 5}-`);
  expect(Buffer.compare(from.body as Buffer, big.subarray(big.length - 5))).toBe(0);
  const outside = await ranged(`bytes=${big.length}-`);
  expect([outside.status, outside.headers['content-range']]).toEqual([
    416,
    `bytes */${big.length}`,
  ]);
});

it('When a body is announced larger than the cap, then 413 comes before any of it is read, and nothing is stored', async () => {
  const alice = h.newUser('alice');

  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(`${h.app.url}/chat/attachments`, {
      method: 'POST',
      headers: {
        ...bearer(alice),
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(MAX + 1),
      },
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.flushHeaders(); // headers only: the 413 must not wait for a body
  });

  expect(answer.status).toBe(413);
  expect(JSON.parse(answer.body)).toMatchObject({ code: 'payload_too_large' });
  expect(
    await h.db.collection('attachments.files').countDocuments({ 'metadata.uploaderId': alice.id }),
  ).toBe(0);
});

it('When a chunked body passes the cap, then 413 and no file is left', async () => {
  const alice = h.newUser('alice');
  const instance = await h.startInstance({ attachmentSettings: { maxBytes: 100_000 } });
  const chunksBefore = await h.db.collection('attachments.chunks').countDocuments();

  const status = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(`${instance.url}/chat/attachments`, {
      method: 'POST',
      headers: { ...bearer(alice), 'Content-Type': 'application/octet-stream' },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    // no Content-Length: chunked, so the cap is found while reading
    for (let i = 0; i < 6; i++) req.write(randomBytes(50_000));
    req.end();
  });

  expect(status).toBe(413);
  await waitFor(
    async () => (await h.db.collection('attachments.chunks').countDocuments()) === chunksBefore,
    { timeoutMs: 5_000, description: 'the partial chunks are removed' },
  );
  expect(
    await h.db.collection('attachments.files').countDocuments({ 'metadata.uploaderId': alice.id }),
  ).toBe(0);
});

it('When the content type is missing or a form, or an image is not what it says, then 415; an empty body 400', async () => {
  const alice = h.newUser('alice');
  const post = () => api().post('/chat/attachments').set(bearer(alice));

  const missing = await post().send(Buffer.from('abc')).unset('Content-Type');
  const form = await post().set('Content-Type', 'multipart/form-data; boundary=x').send('--x--');
  const fake = await post().set('Content-Type', 'image/png').send(Buffer.from('not a png at all'));
  const empty = await post().set('Content-Type', 'text/plain').send('');

  expect([missing.status, missing.body.code]).toEqual([415, 'unsupported_media_type']);
  expect([form.status, form.body.code]).toEqual([415, 'unsupported_media_type']);
  expect([fake.status, fake.body.code]).toEqual([415, 'unsupported_media_type']);
  expect([empty.status, empty.body.code]).toEqual([400, 'validation_failed']);
  expect(
    await h.db.collection('attachments.files').countDocuments({ 'metadata.uploaderId': alice.id }),
  ).toBe(0);
});

it('When a file is sent to Bob, then Bob can read it and anyone else gets 404', async () => {
  const [alice, bob, carol] = [h.newUser('alice'), h.newUser('bob'), h.newUser('carol')];
  const file = await upload(alice, Buffer.from('shared notes'), 'text/plain', 'notes.txt');
  expect((await download(bob, file.id)).status).toBe(404); // not sent yet: uploader only

  const sent = await sendWith(alice, bob, [file.id]);

  expect(sent.status).toBe(201);
  const message = messageResponseSchema.parse(sent.body).message;
  expect([message.text, message.attachments]).toEqual(['', [file]]);
  expect((await download(bob, file.id)).status).toBe(200);
  const outsider = await download(carol, file.id);
  expect([outsider.status, JSON.parse((outsider.body as Buffer).toString()).code]).toEqual([
    404,
    'attachment_not_found',
  ]);
  expect((await download(carol, '0123456789abcdef01234567')).status).toBe(404);
});

it('When an attachment is someone else\u2019s or already sent, then the send is 400 validation_failed and stores nothing; a retried send gets its original', async () => {
  const [alice, bob] = [h.newUser('alice'), h.newUser('bob')];
  const mine = await upload(alice, Buffer.from('one'));
  const bobs = await upload(bob, Buffer.from('two'));

  const foreign = await sendWith(alice, bob, [bobs.id]);
  const first = await sendWith(alice, bob, [mine.id], 'retry-1');
  const retried = await sendWith(alice, bob, [mine.id], 'retry-1');
  const reused = await sendWith(alice, bob, [mine.id]);

  expect([foreign.status, foreign.body.code]).toEqual([400, 'validation_failed']);
  expect(first.status).toBe(201);
  expect([retried.status, retried.body.message.id]).toEqual([200, first.body.message.id]);
  expect([reused.status, reused.body.code]).toEqual([400, 'validation_failed']);
  expect(await h.db.collection('messages').countDocuments({ senderId: alice.id })).toBe(1);
});

it('When five uploads run at once, then each is stored whole and on its own', async () => {
  const alice = h.newUser('alice');
  const bodies = Array.from({ length: 5 }, () => randomBytes(700_000));

  const uploaded = await Promise.all(bodies.map((b) => upload(alice, b)));

  for (const [i, attachment] of uploaded.entries()) {
    expect(attachment.sha256).toBe(sha(bodies[i] as Buffer));
    const res = await download(alice, attachment.id);
    expect(Buffer.compare(res.body as Buffer, bodies[i] as Buffer)).toBe(0);
  }
});

it('When the connection is cut mid-upload, then no file becomes visible and its chunks are removed', async () => {
  const alice = h.newUser('alice');
  const chunks = h.db.collection('attachments.chunks');
  const before = await chunks.countDocuments();

  const req = httpRequest(`${h.app.url}/chat/attachments`, {
    method: 'POST',
    headers: {
      ...bearer(alice),
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(3 * 1024 * 1024),
    },
  });
  req.on('error', () => undefined);
  req.write(randomBytes(1024 * 1024));
  await waitFor(async () => (await chunks.countDocuments()) > before, {
    timeoutMs: 5_000,
    description: 'some chunks are stored',
  });
  req.destroy();

  await waitFor(async () => (await chunks.countDocuments()) === before, {
    timeoutMs: 5_000,
    description: 'the cut upload is removed',
  });
  expect(
    await h.db.collection('attachments.files').countDocuments({ 'metadata.uploaderId': alice.id }),
  ).toBe(0);
});

it('When a user passes the daily quota, then 429 rate_limited', async () => {
  const alice = h.newUser('alice');
  const instance = await h.startInstance({ attachmentSettings: { dailyQuotaBytes: 1_000 } });
  const post = (size: number) =>
    request(instance.url)
      .post('/chat/attachments')
      .set(bearer(alice))
      .set('Content-Type', 'application/octet-stream')
      .send(randomBytes(size));

  expect((await post(600)).status).toBe(201);
  const over = await post(600);

  expect([over.status, over.body.code]).toEqual([429, 'rate_limited']);
  expect(over.headers['retry-after']).toBeDefined();
});

it('When a day has passed, then the sweep deletes an upload never sent and keeps a sent one', async () => {
  const [alice, bob] = [h.newUser('alice'), h.newUser('bob')];
  const unsent = await upload(alice, Buffer.from('forgotten'));
  const sent = await upload(alice, Buffer.from('kept'));
  expect((await sendWith(alice, bob, [sent.id])).status).toBe(201);

  const tomorrow = () => new Date(Date.now() + 25 * 60 * 60 * 1000);
  await sweepAttachments({ ...h.app.services, now: tomorrow });

  expect((await download(alice, unsent.id)).status).toBe(404);
  expect((await download(bob, sent.id)).status).toBe(200);
});

it('When a message is deleted, then its files are deleted', async () => {
  const [alice, bob] = [h.newUser('alice'), h.newUser('bob')];
  const file = await upload(alice, Buffer.from('short-lived'));
  const message = (await sendWith(alice, bob, [file.id])).body.message as { id: string };

  const deleted = await api().delete(`/chat/messages/${message.id}`).set(bearer(alice));

  expect(deleted.status).toBe(204);
  expect((await download(bob, file.id)).status).toBe(404);
  expect(
    await h.db
      .collection('attachments.chunks')
      .countDocuments({ files_id: ObjectId.createFromHexString(file.id) }),
  ).toBe(0);
});

async function roomWith(owner: TestUser, members: TestUser[], isPrivate = false): Promise<string> {
  const res = await api()
    .post('/chat/rooms')
    .set(bearer(owner))
    .send({ name: 'files', isPrivate, members: members.map((m) => m.username) });
  expect(res.status).toBe(201);
  return (res.body as { conversation: { id: string } }).conversation.id;
}

async function sendToRoom(from: TestUser, roomId: string, ids: string[]): Promise<string> {
  const res = await api()
    .post('/chat/send')
    .set(bearer(from))
    .send({ conversationId: roomId, attachmentIds: ids });
  expect(res.status).toBe(201);
  return messageResponseSchema.parse(res.body).message.id;
}

it('When a member is removed from a room or banned, then their next download of its files is 404, and the others still read them', async () => {
  const [owner, bob, carol, dave] = ['owner', 'bob', 'carol', 'dave'].map((n) => h.newUser(n)) as [
    TestUser,
    TestUser,
    TestUser,
    TestUser,
  ];
  const roomId = await roomWith(owner, [bob, carol, dave]);
  const file = await upload(owner, Buffer.from('room minutes'), 'text/plain', 'minutes.txt');
  await sendToRoom(owner, roomId, [file.id]);
  expect((await download(bob, file.id)).status).toBe(200);
  expect((await download(carol, file.id)).status).toBe(200);

  const removed = await api()
    .delete(`/chat/rooms/${roomId}/members/${bob.username}`)
    .set(bearer(owner));
  const banned = await api()
    .post(`/chat/rooms/${roomId}/bans`)
    .set(bearer(owner))
    .send({ username: carol.username });

  expect([removed.status, banned.status]).toEqual([200, 200]);
  for (const gone of [bob, carol]) {
    const res = await download(gone, file.id);
    expect([res.status, JSON.parse((res.body as Buffer).toString()).code]).toEqual([
      404,
      'attachment_not_found',
    ]);
  }
  expect((await download(dave, file.id)).status).toBe(200);
});

it('When a room admin deletes a member\u2019s message, then its files are deleted as when the sender does', async () => {
  const [owner, admin, bob] = [h.newUser('owner'), h.newUser('admin'), h.newUser('bob')];
  const roomId = await roomWith(owner, [admin, bob], true);
  const promoted = await api()
    .put(`/chat/rooms/${roomId}/roles/${admin.username}`)
    .set(bearer(owner))
    .send({ role: 'admin' });
  expect(promoted.status).toBe(200);
  const file = await upload(bob, Buffer.from('not for this room'));
  const messageId = await sendToRoom(bob, roomId, [file.id]);
  expect((await download(owner, file.id)).status).toBe(200);

  const deleted = await api().delete(`/chat/messages/${messageId}`).set(bearer(admin));

  expect(deleted.status).toBe(204);
  for (const user of [bob, owner, admin]) expect((await download(user, file.id)).status).toBe(404);
  const fileId = ObjectId.createFromHexString(file.id);
  expect(await h.db.collection('attachments.files').countDocuments({ _id: fileId })).toBe(0);
  expect(await h.db.collection('attachments.chunks').countDocuments({ files_id: fileId })).toBe(0);
  const history = await api()
    .get('/chat/history')
    .query({ conversationId: roomId })
    .set(bearer(bob));
  expect(history.status).toBe(200);
  const tombstone = (history.body.messages as { id: string; attachments?: unknown[] }[]).find(
    (m) => m.id === messageId,
  );
  expect(tombstone?.attachments ?? []).toEqual([]);
});
