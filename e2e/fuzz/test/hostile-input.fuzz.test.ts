// docs/design.md §7.5 against the real processes: fast-check throws random and adversarial
// bodies, query strings, path parameters and headers at EVERY route of the contracts'
// catalogue, and random frames of EVERY client frame type at a real socket. Never a
// 500, never a crash (same pids, no unexpected exit), never a stored change from a
// refused request (a fingerprint of the database before and after each all-refused
// batch). Plus the named cases: operators in every field, 10k-deep nesting, invalid
// UTF-8, 10 MB bodies, and thousands of sockets from one IP against a low cap.
import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { MongoClient } from 'mongodb';
import WebSocket from 'ws';
import {
  CLIENT_FRAME_TYPES,
  ROUTES,
  WS_CLOSE,
  WS_ERROR_CODES,
  clientFrameSchema,
  serverFrameSchema,
  type RouteSpec,
} from '@parley/contracts';
import {
  createUsers,
  openRawSocket,
  type TestUser,
  tokenOf,
  useStack,
  waitFor,
} from '@parley/testing';
import {
  edgeNumber,
  fieldsOf,
  hostileBody,
  hostileValue,
  operatorValue,
  oddString,
  storedFingerprint,
} from '../support/adversarial';
import { loadFuzzKnobs } from '../support/fuzz-knobs';

jest.setTimeout(180_000);

const knobs = loadFuzzKnobs();
const BATCH = 4;
const IP_CAP = 40;
const routes = Object.entries(ROUTES) as [string, RouteSpec][];
const counters = { requests: 0, frames: 0, refusedBatchesChecked: 0, socketsTried: 0 };

const e2e = useStack({
  name: 'fuzz',
  // "never a 5xx" is about what hostile input does, not about the 1.5 s request deadline,
  // which a loaded 2-core CI machine trips on its own (logout-all answered 503 there);
  // a request that hangs still ends in 503 and fails the property
  env: { REQUEST_DEADLINE_MS: '10000' },
  serviceEnv: {
    auth: {
      LOGIN_MAX_FAILURES_PER_IP: '100000',
      LOGIN_MAX_FAILURES_PER_USERNAME_PER_IP: '100000',
      LOGIN_SLOWDOWN_AFTER: '100000',
    },
    chat: { SEND_RATE_LIMIT: '0' },
    websocket: {
      MAX_CONNECTIONS_PER_IP: String(IP_CAP),
      MAX_CONNECTIONS_PER_USER: '1000',
      RATE_LIMIT_PER_SECOND: '10000',
      RATE_LIMIT_BURST: '10000',
      ABUSE_MAX_BAD_FRAMES: '100000',
    },
  },
});
let db: MongoClient;
let ann: TestUser;
let bob: TestUser;
/** Whose token the routes that end every session get, so ann's token stays good. */
let eve: TestUser;
let roomId: string;
let messageId: string;
let pids: (number | undefined)[];

beforeAll(async () => {
  const { stack } = e2e;
  db = await MongoClient.connect(stack.mongoUrl);
  [ann, bob, eve] = (await createUsers(stack, ['ann', 'bob', 'eve'])) as [
    TestUser,
    TestUser,
    TestUser,
  ];
  roomId = (await ann.client.createRoom({ name: 'fuzz-room', members: [bob.username] })).id;
  messageId = (await ann.client.send({ conversationId: roomId, text: 'hello' })).id;
  pids = stack.all.map((s) => s.pid);
});

afterAll(async () => {
  process.stdout.write(
    `[fuzz] ${counters.requests} HTTP requests over ${routes.length} routes, ${counters.frames} WS frames over ` +
      `${CLIENT_FRAME_TYPES.length} frame types, ${counters.refusedBatchesChecked} refused batches proven to change nothing, ` +
      `${counters.socketsTried} sockets opened from one IP\n`,
  );
  await db?.close();
});

function baseOf(route: RouteSpec): string {
  if (route.service === 'auth') return e2e.stack.authUrl;
  if (route.service === 'chat') return e2e.stack.chatUrl;
  return e2e.stack.websocketUrls[0]!;
}

interface Answer {
  status: number;
  code?: unknown;
  ms: number;
}

/** One raw HTTP request (bytes as given), its status and problem code; never throws. */
function send(
  url: string,
  {
    method,
    headers = {},
    body,
  }: { method: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<Answer> {
  counters.requests += 1;
  const started = Date.now();
  return new Promise((resolve) => {
    // an explicit length: Node's client sends a DELETE body with neither length nor
    // chunking, which the server rightly reads as the start of the next request
    const withLength =
      body === undefined
        ? headers
        : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    const req = httpRequest(url, { method, headers: withLength, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let code: unknown;
        try {
          code = (JSON.parse(Buffer.concat(chunks).toString()) as { code?: unknown }).code;
        } catch {
          code = undefined;
        }
        resolve({ status: res.statusCode ?? 0, code, ms: Date.now() - started });
      });
    });
    req.on('error', (err) => resolve({ status: 0, code: String(err), ms: Date.now() - started }));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const authHeader = fc.oneof(
  fc.constant<string | undefined>(undefined),
  fc.constant('valid'),
  fc.constantFrom(
    'Bearer',
    'Bearer ',
    'bearer x.y.z',
    'Basic YWRtaW46YWRtaW4=',
    'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
    `Bearer ${'A'.repeat(8_000)}`,
    'Bearer \u00ff\u00fe',
  ),
  fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`),
);
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/merge-patch+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/json; charset=latin1',
  '',
);
const pathValue = fc.oneof(
  fc.constantFrom('valid', '$ne', '__proto__', 'constructor', '..', '%00', '%ZZ', 'a'.repeat(300)),
  fc.string({ maxLength: 30 }),
);

/** Percent-encodes any string, lone surrogates included (as UTF-8 replacement bytes). */
function enc(value: string): string {
  return [...Buffer.from(value, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).padStart(2, '0')}`,
    )
    .join('');
}

function headerSafe(value: string): string {
  return value.replace(/[^\t\x20-\x7e\x80-\xff]/g, '');
}

function pathOf(route: RouteSpec, values: Record<string, string>): string {
  return route.path.replace(/:([a-z]+)/gi, (_m, name: string) => {
    const v = values[name] ?? 'valid';
    if (v !== 'valid') return enc(v);
    if (name === 'username') return bob.username;
    if (name === 'emoji') return enc('👍');
    return route.path.startsWith('/chat/messages') ? messageId : roomId;
  });
}

const queryArb = (keys: string[]) =>
  fc
    .array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom(...(keys.length ? keys : ['q']), 'limit[$gt]', '__proto__', 'ids'),
          fc.string({ maxLength: 8 }),
        ),
        fc.oneof(oddString, edgeNumber.map(String), fc.constantFrom('$ne', '{"$gt":""}', '1,2,3')),
      ),
      { maxLength: 4 },
    )
    .map((pairs) => pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&'));

function requestArb(route: RouteSpec) {
  const params = [...route.path.matchAll(/:([a-z]+)/gi)].map((m) => m[1]!);
  return fc.record({
    params: fc.record(Object.fromEntries(params.map((p) => [p, pathValue]))) as fc.Arbitrary<
      Record<string, string>
    >,
    query: queryArb(route.query ? fieldsOf(route.query) : []),
    body: route.body
      ? hostileBody(fieldsOf(route.body))
      : fc.option(hostileValue, { nil: undefined }),
    auth: authHeader,
    contentType,
    rawBody: fc.option(
      fc.constantFrom('{', '{"a":1,}', 'null', '[]', '"x"', '\u0000', '{"a":"\\ud800"}', 'NaN'),
      { nil: undefined, freq: 4 },
    ),
  });
}

async function fire(
  route: RouteSpec,
  r: ReturnType<typeof requestArb> extends fc.Arbitrary<infer T> ? T : never,
) {
  const query = r.query ? `?${r.query}` : '';
  const headers: Record<string, string> = {};
  if (r.auth === 'valid') {
    const owner = route === ROUTES.logoutAll || route === ROUTES.changePassword ? eve : ann;
    headers.authorization = `Bearer ${tokenOf(owner)}`;
  } else if (r.auth !== undefined) headers.authorization = headerSafe(r.auth);
  let body: string | undefined;
  if (route.method !== 'get') {
    body = r.rawBody ?? (r.body === undefined ? undefined : JSON.stringify(r.body));
    if (body !== undefined && r.contentType) headers['content-type'] = r.contentType;
  }
  return send(`${baseOf(route)}${pathOf(route, r.params)}${query}`, {
    method: route.method.toUpperCase(),
    headers,
    ...(body === undefined ? {} : { body }),
  });
}

function expectAlive(): void {
  expect(e2e.stack.unexpectedExits).toEqual([]);
  expect(e2e.stack.all.map((s) => s.pid)).toEqual(pids);
}

describe('every HTTP route', () => {
  it.each(routes)(
    'When %s gets random and adversarial requests, then never a 5xx and a refused batch stores nothing',
    async (_name, route) => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(requestArb(route), { minLength: BATCH, maxLength: BATCH }),
          async (batch) => {
            const before = await storedFingerprint(db);
            const answers: Answer[] = [];
            for (const r of batch) answers.push(await fire(route, r));
            for (const a of answers) expect(`${a.status} ${String(a.code)}`).toMatch(/^[234]\d\d /);
            if (answers.every((a) => a.status >= 400)) {
              expect(await storedFingerprint(db)).toBe(before);
              counters.refusedBatchesChecked += 1;
            }
          },
        ),
        { numRuns: knobs.FUZZ_RUNS, seed: knobs.FUZZ_SEED ?? Date.now() % 2 ** 31 },
      );
      expectAlive();
    },
  );
});

describe('named hostile HTTP cases', () => {
  const bodyRoutes = routes.filter(([, r]) => r.body !== undefined);

  it('When every body field of every route holds a MongoDB operator or an edge number, then 4xx and nothing stored', async () => {
    const before = await storedFingerprint(db);
    for (const [, route] of bodyRoutes) {
      for (const field of fieldsOf(route.body)) {
        // an edge number may be a legal value (-0 is seq 0); an operator never is, and
        // none may reach a query: refused, so nothing stored (logout is 204 by design)
        // ('$ne' as a plain string is legal text, e.g. a room name; an operator object never is)
        for (const value of fc.sample(operatorValue, 20).filter((v) => typeof v === 'object')) {
          const a = await send(`${baseOf(route)}${pathOf(route, {})}`, {
            method: route.method.toUpperCase(),
            headers: {
              'content-type': 'application/json',
              authorization: `Bearer ${tokenOf(ann)}`,
            },
            body: JSON.stringify({ [field]: value }),
          });
          expect(`${a.status} ${String(a.code)}`).toMatch(/^4\d\d /);
        }
      }
    }
    expect(await storedFingerprint(db)).toBe(before);
    expectAlive();
  });

  it('When bodies are 10k levels deep, invalid UTF-8, or 10 MB, then 4xx (413 at once for 10 MB) on every body route', async () => {
    const deep = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    const deepArray = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const badUtf8 = Buffer.concat([
      Buffer.from('{"text":"'),
      Buffer.from([0xc3, 0x28, 0xff, 0xed, 0xa0, 0x80]),
      Buffer.from('"}'),
    ]);
    const tenMb = Buffer.alloc(10 * 1024 * 1024, 0x61);

    for (const [, route] of bodyRoutes) {
      const url = `${baseOf(route)}${pathOf(route, {})}`;
      const headers = {
        'content-type': 'application/json',
        authorization: `Bearer ${tokenOf(ann)}`,
      };
      for (const body of [deep, deepArray]) {
        const a = await send(url, { method: route.method.toUpperCase(), headers, body });
        expect(a.status).toBeGreaterThanOrEqual(400);
        expect(a.status).toBeLessThan(500);
      }
      // invalid bytes decode to U+FFFD, which is legal text: never a 5xx
      expect(
        (await send(url, { method: route.method.toUpperCase(), headers, body: badUtf8 })).status,
      ).toBeLessThan(500);
      const big = await send(url, { method: route.method.toUpperCase(), headers, body: tenMb });
      // 413, or the connection cut right after it while the client was still uploading
      if (big.status !== 0) expect(big.status).toBe(413);
      expect(big.ms).toBeLessThan(2_000);
    }
    expectAlive();
  });
});

describe('every WebSocket frame type', () => {
  const frameArb = fc.oneof(
    // a known type with hostile fields
    fc
      .tuple(
        fc.constantFrom(...CLIENT_FRAME_TYPES),
        fc.dictionary(
          fc.constantFrom(
            'ref',
            'to',
            'conversationId',
            'text',
            'parentId',
            'isTyping',
            'seq',
            'userIds',
            'conversations',
            'token',
            '__proto__',
            'constructor',
          ),
          hostileValue,
          { maxKeys: 5 },
        ),
      )
      .map(([type, fields]) => JSON.stringify({ ...fields, type })),
    // a frame that is not a known shape at all
    hostileValue.map((v) => JSON.stringify(v)),
    fc.constantFrom(
      '',
      '{',
      'null',
      '[]',
      '{"type":"__proto__"}',
      '{"type":"send","__proto__":{"x":1}}',
      `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
    ),
    fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  );

  it('When random frames of every type are sent, then each gets an error frame (or a valid answer) and the socket stays usable', async () => {
    let socket = await openRawSocket(e2e.stack.websocketUrls[0]!, tokenOf(ann));
    const before = await storedFingerprint(db);
    let pings = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(frameArb, { minLength: 10, maxLength: 10 }), async (frames) => {
        if (socket.ws.readyState !== WebSocket.OPEN) {
          expect(Object.values(WS_CLOSE)).toContain(await socket.closed);
          socket = await openRawSocket(e2e.stack.websocketUrls[0]!, tokenOf(ann));
        }
        const from = socket.frames.length;
        for (const frame of frames) {
          counters.frames += 1;
          socket.ws.send(frame, { binary: Buffer.isBuffer(frame) });
        }
        pings += 1;
        socket.sendJson({ type: 'ping' });
        // frames are answered in order: the last pong comes after every other answer
        const pongs =
          frames.filter((f) => typeof f === 'string' && /^\{"type":"ping"\}$/.test(f)).length + 1;
        await waitFor(
          () => socket.frames.slice(from).filter((f) => f.type === 'pong').length >= pongs,
          {
            timeoutMs: 10_000,
            description: `${pongs} pongs`,
          },
        );
        for (const f of socket.frames.slice(from)) {
          expect(serverFrameSchema.safeParse(f).success).toBe(true);
          if (f.type === 'error') expect(WS_ERROR_CODES).toContain(f.code);
        }
        // a frame the contract refuses always gets an answer of its own
        const refused = frames.filter(
          (f) => typeof f !== 'string' || !clientFrameSchema.safeParse(safeParse(f)).success,
        );
        const errors = socket.frames.slice(from).filter((f) => f.type === 'error').length;
        expect(errors).toBeGreaterThanOrEqual(refused.length);
      }),
      { numRuns: knobs.FUZZ_WS_RUNS },
    );
    expect(pings).toBeGreaterThan(0);
    await socket.close();
    // the only stored effects a frame may have come from valid sends/reads; none is valid here
    expect(await storedFingerprint(db)).toBe(before);
    expect(Object.prototype).not.toHaveProperty('x');
    expectAlive();
  });

  it('When a frame is over the size limit, then the socket closes with 1009 and the service stays up', async () => {
    const socket = await openRawSocket(e2e.stack.websocketUrls[0]!, tokenOf(ann));
    socket.ws.send(
      JSON.stringify({
        type: 'send',
        ref: 'big',
        conversationId: roomId,
        text: 'x'.repeat(200_000),
      }),
    );
    counters.frames += 1;
    expect(await socket.closed).toBe(WS_CLOSE.messageTooBig);
    const again = await openRawSocket(e2e.stack.websocketUrls[0]!, tokenOf(ann));
    again.sendJson({ type: 'ping' });
    await again.next('pong');
    await again.close();
    expectAlive();
  });
});

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

describe('connection caps', () => {
  it(`When thousands of sockets are opened from one IP (cap ${IP_CAP}), then exactly the cap is let in, the rest get 429, and the service serves again once they close`, async () => {
    const open: WebSocket[] = [];
    const statuses: Record<string, number> = {};
    const tokens = [tokenOf(ann), tokenOf(bob)];
    const attempts = 2_000;
    for (let i = 0; i < attempts; i += 100) {
      const wave = await Promise.all(
        Array.from(
          { length: 100 },
          (_v, k) =>
            new Promise<string>((resolve) => {
              counters.socketsTried += 1;
              const url = new URL('/ws', e2e.stack.websocketUrls[0]!.replace(/^http/, 'ws'));
              url.searchParams.set('token', tokens[(i + k) % 2]!);
              const ws = new WebSocket(url);
              ws.once('open', () => {
                open.push(ws);
                resolve('open');
              });
              ws.once('unexpected-response', (_req, res) => {
                resolve(String(res.statusCode));
                ws.terminate();
              });
              ws.once('error', () => resolve('error'));
            }),
        ),
      );
      for (const s of wave) statuses[s] = (statuses[s] ?? 0) + 1;
    }
    process.stdout.write(
      `[fuzz] ${attempts} sockets from one IP, cap ${IP_CAP}: ${JSON.stringify(statuses)}\n`,
    );
    expect(statuses.open).toBeLessThanOrEqual(IP_CAP);
    expect(statuses.open).toBeGreaterThanOrEqual(IP_CAP - 2); // a socket of an earlier test may still be closing
    expect(statuses['429']).toBe(attempts - statuses.open!);
    for (const ws of open) ws.close(1000);
    await waitFor(
      async () => {
        const res = await fetch(`${e2e.stack.services.websockets[0]!.metricsUrl}/metrics`);
        const text = await res.text();
        return !/^ws_open_connections(\{[^}]*\})? [1-9]/m.test(text);
      },
      { timeoutMs: 10_000, description: 'the sockets to close' },
    ).catch(() => undefined);
    const again = await openRawSocket(e2e.stack.websocketUrls[0]!, tokenOf(ann));
    await again.close();
    expectAlive();
  });
});
