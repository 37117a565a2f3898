// What one idle authenticated socket costs the websocket service, on its own: starts
// services/websocket/dist (after `pnpm build`) against the local RabbitMQ, with a JWKS
// served from here, opens N sockets with tokens signed by that key, and reports the
// server's RSS delta per socket (measured 3 s after the last one opened) and CPU per
// handshake. Faster to iterate on than `pnpm bench --scenarios connections`, which
// measures the same thing inside the full stack.
//
//   node bench/idle-sockets.mjs [sockets=2000] [runs=1]
import { createSign, generateKeyPairSync, randomUUID } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import amqp from 'amqplib';
import WebSocket from 'ws';
import { localAmqpUrl } from '@parley/testing';
import { readProc } from './lib/proc-stats.mjs';
import { startService } from './lib/stack.mjs';

const count = Number(process.argv[2] ?? 2000);
const runs = Number(process.argv[3] ?? 1);
const amqpUrl = process.env.AMQP_URL ?? localAmqpUrl;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const kid = `idle-${randomUUID()}`;
const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] };
const jwksServer = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
});
await new Promise((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
const jwksUrl = `http://127.0.0.1:${jwksServer.address().port}/.well-known/jwks.json`;

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
function token(i) {
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: 'RS256', typ: 'JWT', kid })}.${b64({
    sub: randomUUID().replace(/-/g, '').slice(0, 24),
    username: `idle${i}`,
    jti: randomUUID(),
    iat: now,
    exp: now + 3600,
    iss: 'parley-auth',
    aud: 'parley',
  })}`;
  return `${body}.${createSign('RSA-SHA256').update(body).sign(privateKey).toString('base64url')}`;
}
const tokens = Array.from({ length: count }, (_, i) => token(i));

const tag = `idle.${Date.now().toString(36)}`;
const logDir = mkdtempSync(path.join(os.tmpdir(), 'parley-idle-'));

async function once() {
  const server = await startService('websocket', {
    env: {
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      AMQP_URL: amqpUrl,
      JWKS_URL: jwksUrl,
      CHAT_URL: 'http://127.0.0.1:9',
      EVENTS_EXCHANGE: `${tag}.events`,
      PRESENCE_EXCHANGE: `${tag}.presence`,
      MAX_CONNECTIONS_PER_IP: '1000000',
    },
    logDir,
  });
  const sockets = [];
  try {
    await sleep(2_000);
    const before = readProc(server.pid);
    const wsUrl = `${server.url.replace('http', 'ws')}/ws`;
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < tokens.length) {
          const t = tokens[next++];
          await new Promise((resolve, reject) => {
            const ws = new WebSocket(`${wsUrl}?token=${t}`, { perMessageDeflate: false });
            ws.once('message', () => resolve());
            ws.once('error', reject);
            sockets.push(ws);
          });
        }
      }),
    );
    const connected = readProc(server.pid);
    await sleep(3_000);
    const after = readProc(server.pid);
    return {
      sockets: sockets.length,
      rssPerSocketKiB: Math.round(((after.rssKiB - before.rssKiB) / sockets.length) * 100) / 100,
      cpuMsPerHandshake:
        Math.round(((connected.cpuMs - before.cpuMs) / sockets.length) * 1000) / 1000,
    };
  } finally {
    for (const ws of sockets) ws.terminate();
    await server.stop();
  }
}

try {
  for (let r = 0; r < runs; r += 1) console.log(JSON.stringify(await once()));
} finally {
  jwksServer.close();
  const connection = await amqp.connect(amqpUrl);
  const channel = await connection.createChannel();
  for (const name of [`${tag}.events.dead-letter`, `${tag}.presence.dead-letter`])
    await channel.deleteQueue(name).catch(() => undefined);
  for (const name of [`${tag}.events`, `${tag}.events.dlx`, `${tag}.presence`])
    await channel.deleteExchange(name).catch(() => undefined);
  await connection.close();
  rmSync(logDir, { recursive: true, force: true });
}
