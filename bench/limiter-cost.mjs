// What the per-user limits add to a request (docs/security.md "How the limits are
// counted"): the CPU time of one check (no I/O: it runs on every send), and what one
// sync costs the database for many users, against the MongoDB at MONGO_URL (the FerretDB
// dev server, say). Uses services/chat/dist, so `pnpm build` first.
//
//   MONGO_URL=mongodb://127.0.0.1:27017 node bench/limiter-cost.mjs [users]
import { MongoClient } from 'mongodb';
import { createSharedRateLimiter } from '../services/chat/dist/rate-limits/shared-rate-limiter.js';

const users = Number(process.argv[2] ?? 1000);
const url = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017';
const client = await MongoClient.connect(`${url.replace(/\/+$/, '')}/limiter_cost_${Date.now()}`, {
  monitorCommands: true,
});
const commands = [];
client.on('commandStarted', (e) => commands.push(e.commandName));
const silent = { warn() {}, info() {}, debug() {}, error() {} };
const limiter = createSharedRateLimiter({ db: client.db(), syncIntervalMs: 0, logger: silent });
await limiter.ensureIndexes();
const send = limiter.limit({ name: 'send', points: 60, windowMs: 10_000 });
const keys = Array.from({ length: users }, (_, i) => `user-${i}`);

// one check, on the request path: warm up, then time a million
for (let i = 0; i < 100_000; i++) send.take(keys[i % users]);
const checks = 1_000_000;
let started = process.hrtime.bigint();
for (let i = 0; i < checks; i++) send.take(keys[i % users]);
const perCheckNs = Number(process.hrtime.bigint() - started) / checks;

// one sync with every user past the write share (each has used the limit): the worst case
const before = commands.length;
started = process.hrtime.bigint();
await limiter.sync();
const syncMs = Number(process.hrtime.bigint() - started) / 1e6;
const syncCommands = commands.slice(before);

console.log(
  JSON.stringify(
    {
      users,
      perCheckMicroseconds: +(perCheckNs / 1000).toFixed(3),
      syncWithAllUsersWritingMs: +syncMs.toFixed(1),
      syncCommands,
    },
    null,
    2,
  ),
);
await client.db().dropDatabase();
await client.close();
