// Attachments and webhooks against the raw figures of the same machine, in one run
// (docs/design.md §11, §12):
//
//   upload / download MB/s of a 10 MiB file through chat (GridFS on the FerretDB dev
//     server) vs a plain HTTP server that streams the body to a file and back;
//   webhook deliveries/s to a loopback receiver (the worker draining a backlog for one
//     webhook, one delivery at a time as it must, in order) vs a plain loop of
//     sequential POSTs of the same bodies to the same receiver.
//
//   node bench/files-webhooks.mjs [--repeats 3] [--messages 200]
//
// Needs what `pnpm bench` needs (pnpm build, RabbitMQ, the FerretDB dev server binary).
// Prints one JSON object and a short table; nothing is written to the repository.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createUsers, startFerretDb, startStack, tokenOf, waitFor } from '@parley/testing';

const { values: opts } = parseArgs({
  options: {
    repeats: { type: 'string', default: '3' },
    messages: { type: 'string', default: '200' },
  },
});
const repeats = Number(opts.repeats);
const messages = Number(opts.messages);
const FILE_BYTES = 10 * 1024 * 1024;
const MIB = 1024 * 1024;
const log = (line) => process.stderr.write(`[files-webhooks] ${line}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x, digits = 1) => Number(x.toFixed(digits));

async function timed(work) {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function readAll(res) {
  let bytes = 0;
  for await (const chunk of res.body) bytes += chunk.length;
  return bytes;
}

/** The raw ceiling for files: stream a POST body to disk, stream it back on GET. */
async function startRawFileServer(dir) {
  let n = 0;
  const server = createServer(async (req, res) => {
    if (req.method === 'POST') {
      const file = path.join(dir, `f${++n}`);
      await pipeline(req, createWriteStream(file));
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: n }));
      return;
    }
    const file = path.join(dir, `f${req.url.slice(1)}`);
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    await pipeline(createReadStream(file), res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${server.address().port}` };
}

/** A receiver answering 204 at once, counting what it got. */
async function startReceiver() {
  const state = { count: 0 };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      state.count += 1;
      res.writeHead(204).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, state, url: `http://127.0.0.1:${server.address().port}/hook` };
}

async function measureFiles(upload, download) {
  const body = randomBytes(FILE_BYTES);
  const up = [];
  const down = [];
  for (let i = 0; i < repeats; i++) {
    let id;
    up.push(
      FILE_BYTES /
        MIB /
        (await timed(async () => {
          id = await upload(body);
        })),
    );
    down.push(
      FILE_BYTES /
        MIB /
        (await timed(async () => {
          const bytes = await download(id);
          if (bytes !== FILE_BYTES) throw new Error(`downloaded ${bytes} bytes`);
        })),
    );
  }
  return { uploadMBps: round(median(up)), downloadMBps: round(median(down)) };
}

const tmp = mkdtempSync(path.join(tmpdir(), 'parley-bench-files-'));
const cleanups = [];
try {
  const ferret = await startFerretDb({ dataDir: path.join(tmp, 'ferretdb') });
  cleanups.push(() => ferret.stop());
  process.env.MONGO_URL = ferret.url;
  const stack = await startStack({
    name: 'benchfiles',
    webhooks: true,
    env: { LOG_LEVEL: 'warn', NODE_ENV: 'development' },
    serviceEnv: {
      chat: {
        ATTACHMENT_DAILY_QUOTA_BYTES: String(100 * FILE_BYTES),
        REQUEST_DEADLINE_MS: '10000',
        SEND_RATE_LIMIT: '0', // one sender fills the backlog
      },
    },
    logDir: path.join(tmp, 'logs'),
  });
  cleanups.unshift(() => stack.stop());
  const [alice, bob] = await createUsers(stack, ['alice', 'bob']);
  const auth = () => ({ authorization: `Bearer ${tokenOf(alice)}` });

  log(`files: ${repeats} × 10 MiB through chat`);
  const parleyFiles = await measureFiles(
    async (body) => {
      const res = await fetch(`${stack.chatUrl}/chat/attachments`, {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/octet-stream', 'x-file-name': 'b.bin' },
        body,
      });
      if (res.status !== 201) throw new Error(`upload ${res.status}: ${await res.text()}`);
      return (await res.json()).attachment.id;
    },
    async (id) =>
      readAll(await fetch(`${stack.chatUrl}/chat/attachments/${id}`, { headers: auth() })),
  );
  log('files: the same through a plain HTTP file copy');
  const raw = await startRawFileServer(tmp);
  cleanups.unshift(() => raw.server.close());
  const rawFiles = await measureFiles(
    async (body) => {
      const res = await fetch(`${raw.url}/`, { method: 'POST', body });
      return (await res.json()).id;
    },
    async (id) => readAll(await fetch(`${raw.url}/${id}`)),
  );

  log(`webhooks: a backlog of ${messages} deliveries, drained by the worker`);
  const receiver = await startReceiver();
  cleanups.unshift(() => receiver.server.close());
  const room = await alice.client.createRoom({ name: 'bench', members: [bob.username] });
  const created = await fetch(`${stack.chatUrl}/chat/rooms/${room.id}/webhooks`, {
    method: 'POST',
    headers: { ...auth(), 'content-type': 'application/json' },
    body: JSON.stringify({ url: receiver.url, events: ['new_message'] }),
  });
  if (created.status !== 201) throw new Error(`webhook ${created.status}`);
  const worker = stack.services.webhooks;
  // warm-up delivery, then a backlog while the worker is stopped
  await alice.client.send({ conversationId: room.id, text: 'warm-up' });
  await waitFor(() => receiver.state.count >= 1, { timeoutMs: 30_000 });
  await worker.stop();
  for (let i = 0; i < messages; i++) {
    await alice.client.send({ conversationId: room.id, text: `bench ${i}` });
  }
  const before = receiver.state.count;
  await worker.start();
  const drainSeconds = await timed(() =>
    waitFor(() => receiver.state.count - before >= messages, {
      timeoutMs: 600_000,
      intervalMs: 20,
    }),
  );
  const webhookRate = messages / drainSeconds;

  log('webhooks: a plain loop of sequential POSTs to the same receiver');
  const sample = JSON.stringify({ id: 'x', type: 'new_message', data: { text: 'x'.repeat(400) } });
  const rawSeconds = await timed(async () => {
    for (let i = 0; i < messages; i++) {
      const res = await fetch(receiver.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: sample,
      });
      await res.arrayBuffer();
    }
  });
  const rawRate = messages / rawSeconds;

  const result = {
    at: new Date().toISOString(),
    repeats,
    messages,
    files: { parley: parleyFiles, raw: rawFiles },
    webhooks: { parleyPerSecond: round(webhookRate), rawPerSecond: round(rawRate) },
  };
  console.log(JSON.stringify(result, null, 2));
  const share = (a, b) => `${Math.round((100 * a) / b)} %`;
  log(
    `upload ${parleyFiles.uploadMBps} MB/s (raw ${rawFiles.uploadMBps}, ${share(parleyFiles.uploadMBps, rawFiles.uploadMBps)}); ` +
      `download ${parleyFiles.downloadMBps} MB/s (raw ${rawFiles.downloadMBps}, ${share(parleyFiles.downloadMBps, rawFiles.downloadMBps)}); ` +
      `webhook deliveries ${round(webhookRate)}/s (raw POST loop ${round(rawRate)}/s, ${share(webhookRate, rawRate)})`,
  );
} finally {
  for (const cleanup of cleanups) await Promise.resolve(cleanup()).catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
}
