// The edge of the kit's error mapping (docs/design.md §2.3): requests that fail before any route
// code runs — an undecodable path parameter, a corrupt compressed body, an HTTP request
// Node's own parser rejects — still get a contract problem+json with an X-Request-Id,
// never a 500 or a bare status line.
import type { Express } from 'express';
import { connect } from 'node:net';
import { gzipSync, deflateSync } from 'node:zlib';
import request from 'supertest';
import { z } from 'zod';
import {
  createHttpApp,
  createMetrics,
  finishHttpApp,
  parseBody,
  parseParams,
  requestIdFrom,
  startHttpServer,
  toHttpError,
  ValidationError,
  type RunningHttpServer,
} from '@parley/server-kit';
import { createCapturingLogger, waitFor } from '@parley/testing';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function buildApp() {
  const { logger, lines } = createCapturingLogger('edge-test');
  const app = createHttpApp({
    logger,
    metrics: createMetrics({ service: 'edge-test', defaultMetrics: false }),
    corsOrigins: '*',
    bodyLimit: '1kb',
  });
  app.get('/things/:id', (req, res) => {
    res.json(parseParams(z.strictObject({ id: z.string().max(3) }), req));
  });
  app.delete('/things/:id/tags/:tag', (req, res) => {
    res.json(req.params);
  });
  app.post('/echo', (req, res) => {
    res.status(201).json(parseBody(z.strictObject({ text: z.string() }), req));
  });
  finishHttpApp(app);
  return { app, lines };
}

function expectProblem(res: request.Response, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code, title: expect.any(String) });
  expect(res.headers['x-request-id']).toEqual(expect.any(String));
}

describe('path parameters that do not decode', () => {
  it('When a path parameter has a bad percent-encoding, then 404 not_found, not a 500 and no "unhandled error" log', async () => {
    const { app, lines } = buildApp();

    for (const path of ['/things/%E0%A4%A', '/things/%ZZ', '/things/1/tags/%E0%A4%A']) {
      const res = await request(app)[path.includes('/tags/') ? 'delete' : 'get'](path);
      expectProblem(res, 404, 'not_found');
      expect(res.body.detail).toBe('No such resource');
    }
    expect(lines().some((l) => l['msg'] === 'unhandled error')).toBe(false);
    // a well-encoded parameter still reaches the route
    expect((await request(app).get('/things/%41b')).body).toEqual({ id: 'Ab' });
  });

  it('When the router reports a param it could not decode (URIError, status 400), then toHttpError says 404', () => {
    const err = Object.assign(new URIError("Failed to decode param '%ZZ'"), { status: 400 });
    expect(toHttpError(err)).toMatchObject({ code: 'not_found', status: 404 });
    // a URIError of our own (no status) is still a bug
    expect(toHttpError(new URIError('URI malformed')).code).toBe('internal');
  });

  it('When path parameters fail validation, then the detail reads "are not valid"; body and query keep "is"', async () => {
    const { app } = buildApp();

    const res = await request(app).get('/things/toolong');

    expectProblem(res, 400, 'validation_failed');
    expect(res.body.detail).toBe('The request path parameters are not valid');
    const issue = z.string().safeParse(1);
    if (issue.success) throw new Error('expected a failure');
    expect(ValidationError.fromZod(issue.error, 'body').detail).toBe(
      'The request body is not valid',
    );
    expect(ValidationError.fromZod(issue.error, 'query').detail).toBe(
      'The request query is not valid',
    );
  });
});

/** POSTs these exact bytes (supertest would JSON-serialize a Buffer) as compressed JSON. */
function postEncoded(app: Express, encoding: string, body: Buffer) {
  return request(app)
    .post('/echo')
    .set('Content-Type', 'application/json')
    .set('Content-Encoding', encoding)
    .serialize((bytes: unknown) => bytes as string)
    .send(body);
}

describe('compressed bodies', () => {
  it('When a gzip, deflate or br body is corrupt or truncated, then 400 malformed_json (not validation_failed)', async () => {
    const { app, lines } = buildApp();
    const whole = gzipSync(Buffer.from('{"text":"hello there"}'));
    const bodies: Array<[string, Buffer]> = [
      ['gzip', Buffer.from('this is not gzip at all')],
      ['gzip', whole.subarray(0, whole.length - 6)],
      ['deflate', Buffer.from([0x78, 0x9c, 0xff, 0xff, 0xff, 0x00])],
      ['br', Buffer.from('not brotli either')],
    ];
    for (const [encoding, body] of bodies) {
      const res = await postEncoded(app, encoding, body);
      expectProblem(res, 400, 'malformed_json');
      expect(res.body.detail).toBe('The request body could not be decompressed');
    }
    expect(lines().some((l) => l['msg'] === 'unhandled error')).toBe(false);

    // valid compressed bodies are still read
    for (const [encoding, body] of [
      ['gzip', whole],
      ['deflate', deflateSync(Buffer.from('{"text":"hello there"}'))],
    ] as const) {
      const ok = await postEncoded(app, encoding, body);
      expect(ok.status).toBe(201);
      expect(ok.body).toEqual({ text: 'hello there' });
    }
  });

  it('When the content encoding is unknown, then 415 unsupported_media_type', async () => {
    const { app } = buildApp();

    const res = await request(app)
      .post('/echo')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'x-squash')
      .send('{"text":"hi"}');

    expectProblem(res, 415, 'unsupported_media_type');
  });
});

describe("requests Node's HTTP parser refuses", () => {
  let server: RunningHttpServer;
  beforeAll(async () => {
    server = await startHttpServer(buildApp().app, {
      port: 0,
      host: '127.0.0.1',
      headersTimeoutMs: 1_000,
      requestTimeoutMs: 2_000,
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  /** Writes raw bytes, returns everything received until the server closes. */
  function raw(bytes: string, timeoutMs = 5_000): Promise<string> {
    return new Promise((resolve, reject) => {
      let data = '';
      const socket = connect(server.port, '127.0.0.1');
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no close within ${timeoutMs} ms; got ${JSON.stringify(data)}`));
      }, timeoutMs);
      socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
      socket.on('error', () => undefined);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(data);
      });
      socket.once('connect', () => socket.write(bytes));
    });
  }

  function parse(response: string) {
    const [head = '', body = ''] = response.split('\r\n\r\n');
    const [statusLine = '', ...headerLines] = head.split('\r\n');
    const headers = Object.fromEntries(
      headerLines.map((line) => {
        const at = line.indexOf(':');
        return [line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim()];
      }),
    );
    return { statusLine, headers, body };
  }

  it.each([
    ['a header with a bare CR', 400, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\rb\r\n\r\n'],
    ['a garbage request line', 400, 'NOT HTTP AT ALL\r\n\r\n'],
    [
      'headers over 16 KB',
      431,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    ],
  ])(
    'When a request has %s, then the answer is %d problem+json with an X-Request-Id and Connection: close',
    async (_what, status, bytes) => {
      const { statusLine, headers, body } = parse(await raw(bytes));

      expect(statusLine).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(headers['content-type']).toBe('application/problem+json');
      expect(headers['connection']).toBe('close');
      expect(headers['x-request-id']).toMatch(UUID);
      expect(Number(headers['content-length'])).toBe(Buffer.byteLength(body));
      expect(JSON.parse(body)).toMatchObject({ status, code: expect.any(String) });
    },
  );

  it('When a bad request follows an answered one on a keep-alive connection, then it still gets its problem answer', async () => {
    let data = '';
    const socket = connect(server.port, '127.0.0.1');
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    let closed = false;
    socket.once('close', () => (closed = true));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));

    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => data.includes('{"status":"ok"}'), { timeoutMs: 5_000 });
    const first = data;
    socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    await waitFor(() => closed, { timeoutMs: 5_000, description: 'the server to close' });

    const { statusLine, headers, body } = parse(data.slice(first.length));
    expect(statusLine).toMatch(/^HTTP\/1\.1 431 /);
    expect(headers['x-request-id']).toMatch(UUID);
    expect(JSON.parse(body)).toMatchObject({ status: 431, code: 'payload_too_large' });
  });

  it('When a client stalls inside its headers, then 408 problem+json with an X-Request-Id at the headers timeout', async () => {
    const { statusLine, headers, body } = parse(await raw('GET /healthz HTTP/1.1\r\nHost: x\r\n'));

    expect(statusLine).toMatch(/^HTTP\/1\.1 408 /);
    expect(headers['x-request-id']).toMatch(UUID);
    expect(JSON.parse(body)).toMatchObject({ status: 408 });
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
  });
});

describe('requestIdFrom', () => {
  it('When given a sane id it is kept; a hostile, missing or repeated header gets a fresh UUID', () => {
    expect(requestIdFrom('client-abc.123:x_y')).toBe('client-abc.123:x_y');
    for (const sent of [undefined, '', 'x'.repeat(129), 'a b', 'a\r\nb', '<script>', ['a', 'b']]) {
      expect(requestIdFrom(sent)).toMatch(UUID);
    }
  });
});
