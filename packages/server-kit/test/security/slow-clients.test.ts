// Hostile HTTP at the kit's edge, in process: the app every service starts from
// (createHttpApp + startHttpServer) with one strict JSON route, fed what an attacker
// sends first — prototype-pollution keys, 10k-deep nesting, invalid UTF-8, a 10 MB
// body, oversized headers, and slowloris clients dribbling headers or a body. Each
// gets a contract 4xx (or a cut connection for the slow ones), never a 500, and the
// server keeps answering afterwards.
import { connect, type Socket } from 'node:net';
import express from 'express';
import { z } from 'zod';
import {
  createHttpApp,
  createMetrics,
  finishHttpApp,
  HTTP_TIMEOUT_DEFAULTS,
  parseBody,
  startHttpServer,
  type RunningHttpServer,
} from '@parley/server-kit';
import { createSilentLogger } from '@parley/testing';

const echoSchema = z.strictObject({
  name: z.string().max(64),
  tags: z.array(z.string()).max(5).optional(),
});
const seen: unknown[] = [];

function buildApp(): express.Express {
  const app = createHttpApp({
    logger: createSilentLogger(),
    metrics: createMetrics({ service: 'kit-security' }),
    corsOrigins: '*',
    bodyLimit: '100kb',
  });
  app.post('/echo', (req, res) => {
    const body = parseBody(echoSchema, req);
    // what a careless handler would do with the parsed body: merge it into defaults
    const merged = Object.assign({}, { role: 'user' }, body);
    seen.push(merged);
    res.status(201).json(merged);
  });
  return finishHttpApp(app);
}

let server: RunningHttpServer;
beforeAll(async () => {
  server = await startHttpServer(buildApp(), {
    port: 0,
    host: '127.0.0.1',
    headersTimeoutMs: 1_000,
    requestTimeoutMs: 2_000,
    keepAliveTimeoutMs: 1_000,
  });
});
afterAll(async () => {
  await server?.close();
});

async function post(body: string | Buffer, contentType = 'application/json') {
  const res = await fetch(`${server.url}/echo`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });
  const text = await res.text();
  return { status: res.status, text, json: safeJson(text) };
}

function safeJson(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** A raw TCP client: what it received and when the server closed the connection. */
function rawClient(): Promise<{ socket: Socket; received: () => string; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let data = '';
    const socket = connect(server.port, '127.0.0.1');
    const closed = new Promise<number>((done) =>
      socket.once('close', () => done(Date.now() - started)),
    );
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, received: () => data, closed }));
    socket.once('error', reject);
  });
}

/** Answers from Node's parser (431, 408) are problem+json with a request id too. */
function expectProblemHead(response: string): void {
  expect(response).toMatch(/\r\nContent-Type: application\/problem\+json\r\n/i);
  expect(response).toMatch(/\r\nX-Request-Id: [0-9a-f-]{36}\r\n/i);
  expect(response).toMatch(/\r\nConnection: close\r\n/i);
}

async function stillServes(): Promise<void> {
  const res = await fetch(`${server.url}/healthz`);
  expect(res.status).toBe(200);
}

describe('hostile bodies', () => {
  it('When bodies carry __proto__, constructor and prototype keys (top level and nested), then 400 validation_failed and Object.prototype is untouched', async () => {
    const payloads = [
      '{"name":"a","__proto__":{"polluted":"yes","isAdmin":true}}',
      '{"name":"a","constructor":{"prototype":{"polluted":"yes"}}}',
      '{"name":"a","prototype":{"polluted":"yes"}}',
      '{"name":"a","tags":["x"],"__proto__":[]}',
      '{"__proto__":{"name":"from-proto"}}',
    ];
    for (const body of payloads) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(res.json.code).toBe('validation_failed');
    }
    // a valid body merged into defaults can't reach the prototype either
    const ok = await post('{"name":"a"}');
    expect(ok.status).toBe(201);
    const probe: Record<string, unknown> = {};
    expect(probe.polluted).toBeUndefined();
    expect(probe.isAdmin).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(
      Object.getOwnPropertyNames(Object.getPrototypeOf({})).sort(),
    );
    expect(seen.every((m) => Object.getPrototypeOf(m) === Object.prototype)).toBe(true);
  });

  it('When the body is nested 10 000 levels deep (object and array), then a 4xx, not a stack overflow into a 500', async () => {
    const depth = 10_000;
    for (const body of [
      `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
      `{"name":"x","tags":${'['.repeat(depth)}${']'.repeat(depth)}}`,
      `{"name":${'['.repeat(depth)}${']'.repeat(depth)}}`,
    ]) {
      const res = await post(body);
      expect([400, 413]).toContain(res.status);
    }
    await stillServes();
  });

  it('When the body has invalid UTF-8 byte sequences, then a 4xx or a replacement-character string, never a 500', async () => {
    const bad = [
      Buffer.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), // {"name":"\xC3("}
      Buffer.concat([
        Buffer.from('{"name":"'),
        Buffer.from([0xff, 0xfe, 0xed, 0xa0, 0x80]),
        Buffer.from('"}'),
      ]),
      Buffer.concat([Buffer.from('{"na'), Buffer.from([0xe2, 0x82]), Buffer.from('me":"x"}')]),
      Buffer.from([0xef, 0xbb, 0xbf, ...Buffer.from('{"name":"bom"}')]),
      Buffer.from('{"name":"\\ud800"}'), // a lone surrogate escape
    ];
    for (const body of bad) {
      const res = await post(body);
      expect(res.status).toBeLessThan(500);
      if (res.status === 201) expect(typeof res.json.name).toBe('string');
    }
    for (const charset of ['utf-7', 'utf-16', 'x-unknown']) {
      const res = await post('{"name":"a"}', `application/json; charset=${charset}`);
      expect(res.status).toBeLessThan(500);
    }
  });

  it('When a 10 MB body is announced, then 413 payload_too_large comes back before the body is sent', async () => {
    const client = await rawClient();
    const started = Date.now();
    client.socket.write(
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${10 * 1024 * 1024}\r\n\r\n{"name":"`,
    );
    const deadline = Date.now() + 2_000;
    while (!client.received().includes('\r\n\r\n') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const took = Date.now() - started;
    client.socket.destroy();
    expect(client.received()).toMatch(/^HTTP\/1\.1 413 /);
    expect(client.received()).toContain('payload_too_large');
    expect(took).toBeLessThan(1_000);
    await stillServes();
  });

  it('When a 10 MB body is streamed chunked (no length), then 413 comes back once past the limit, long before 10 MB', async () => {
    const client = await rawClient();
    client.socket.write(
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
    );
    const piece = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    while (sent < 10 * 1024 * 1024 && client.received() === '' && !client.socket.destroyed) {
      const ok = client.socket.write(
        Buffer.concat([
          Buffer.from(`${piece.length.toString(16)}\r\n`),
          piece,
          Buffer.from('\r\n'),
        ]),
      );
      sent += piece.length;
      if (!ok) await new Promise((r) => setTimeout(r, 5));
      else await new Promise((r) => setImmediate(r));
    }
    await Promise.race([client.closed, new Promise((r) => setTimeout(r, 2_000))]);
    client.socket.destroy();
    expect(client.received()).toMatch(/^HTTP\/1\.1 413 /);
    expect(sent).toBeLessThan(2 * 1024 * 1024);
    await stillServes();
  });

  it('When headers are huge (64 KB) or content-type / authorization are garbage, then a 4xx and the server keeps serving', async () => {
    const client = await rawClient();
    client.socket.write(
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`,
    );
    await client.closed;
    expect(client.received()).toMatch(/^HTTP\/1\.1 431 /);
    expectProblemHead(client.received());
    for (const contentType of [
      '',
      'text/plain',
      'application/json; charset',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      '\u0000',
    ]) {
      const res = await fetch(`${server.url}/echo`, {
        method: 'POST',
        headers: contentType === '\u0000' ? {} : { 'content-type': contentType },
        body: '{"name":"a"}',
      }).catch(() => undefined);
      if (res) expect(res.status).toBeLessThan(500);
    }
    await stillServes();
  });
});

describe('slow clients (slowloris)', () => {
  it('When started with no timeouts given, then the kit sets headers 10 s, request 30 s, keep-alive 5 s', async () => {
    const running = await startHttpServer(express(), { port: 0, host: '127.0.0.1' });
    expect(running.server.headersTimeout).toBe(HTTP_TIMEOUT_DEFAULTS.headersTimeoutMs);
    expect(running.server.requestTimeout).toBe(HTTP_TIMEOUT_DEFAULTS.requestTimeoutMs);
    expect(running.server.keepAliveTimeout).toBe(HTTP_TIMEOUT_DEFAULTS.keepAliveTimeoutMs);
    expect(HTTP_TIMEOUT_DEFAULTS).toEqual({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
    });
    await running.close();
  });

  it('When a client dribbles header lines forever, then it is cut off at the headers timeout (1 s here) with 408', async () => {
    const client = await rawClient();
    client.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const dribble = setInterval(() => {
      if (!client.socket.destroyed) client.socket.write(`X-Slow-${Date.now()}: 1\r\n`);
    }, 150);
    const closedAfter = await Promise.race([
      client.closed,
      new Promise<number>((r) => setTimeout(() => r(Infinity), 5_000)),
    ]);
    clearInterval(dribble);
    client.socket.destroy();
    expect(closedAfter).toBeLessThan(3_000);
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
    expectProblemHead(client.received());
    await stillServes();
  });

  it('When a client sends its headers but dribbles the body, then it is cut off at the request timeout (2 s here)', async () => {
    const client = await rawClient();
    client.socket.write(
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
    );
    const dribble = setInterval(() => {
      if (!client.socket.destroyed) client.socket.write(' ');
    }, 150);
    const closedAfter = await Promise.race([
      client.closed,
      new Promise<number>((r) => setTimeout(() => r(Infinity), 6_000)),
    ]);
    clearInterval(dribble);
    client.socket.destroy();
    expect(closedAfter).toBeLessThan(4_500);
    expect(client.received()).not.toMatch(/^HTTP\/1\.1 5/);
    await stillServes();
  });

  it('When 200 slow clients hold connections, then a normal request is still answered', async () => {
    const clients = await Promise.all(Array.from({ length: 200 }, () => rawClient()));
    for (const c of clients) c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    await stillServes();
    const closed = await Promise.all(clients.map((c) => c.closed));
    expect(Math.max(...closed)).toBeLessThan(4_000);
  });
});
