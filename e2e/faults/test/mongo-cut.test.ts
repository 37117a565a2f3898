// docs/design.md §7.3 with the database really gone: auth's and chat's links to MongoDB
// are cut (connections reset, new ones refused) and, separately, stalled (a silent
// partition: bytes vanish, nothing is closed). Either way /chat/send and /auth/login
// answer 503 dependency_unavailable within 2 s, /readyz turns 503, nothing is stored
// half-way, and both services recover by themselves once the link is back.
import {
  call,
  createUsers,
  expectGapFree,
  send,
  storedMessages,
  type Call,
  type TestUser,
  useFaultStack,
} from '../support/fault-stack';
import { waitFor } from '@parley/testing';

jest.setTimeout(120_000);

const faults = useFaultStack({ name: 'mongocut', websocketInstances: 1 });
let ann: TestUser;
let bob: TestUser;
let roomId: string;

beforeAll(async () => {
  [ann, bob] = (await createUsers(faults.stack, ['ann', 'bob'])) as [TestUser, TestUser];
  roomId = (await ann.client.createRoom({ name: 'mongo-room', members: [bob.username] })).id;
  expect((await send(faults.stack, ann, { conversationId: roomId, text: 'first' })).status).toBe(
    201,
  );
});

async function duringOutage(): Promise<Call[]> {
  const { stack } = faults;
  let n = 0;
  return Promise.all([
    send(stack, ann, { conversationId: roomId, text: `outage ${(n += 1)}` }),
    send(stack, bob, { conversationId: roomId, text: `outage ${(n += 1)}` }),
    send(stack, bob, { to: ann.username, text: `outage direct ${(n += 1)}` }),
    call(`${stack.authUrl}/auth/login`, {
      method: 'POST',
      body: { username: ann.username, password: ann.password },
    }),
    call(`${stack.authUrl}/auth/login`, {
      method: 'POST',
      body: { username: 'nobody-here', password: 'whatever-long' },
    }),
    call(`${stack.chatUrl}/readyz`),
    call(`${stack.authUrl}/readyz`),
  ]);
}

async function expectRecovered(pids: (number | undefined)[]): Promise<void> {
  const { stack } = faults;
  for (const url of [stack.authUrl, stack.chatUrl]) {
    await waitFor(async () => (await call(`${url}/readyz`)).status === 200, {
      timeoutMs: 20_000,
      description: `${url}/readyz back to 200`,
    });
  }
  const sent = await send(stack, ann, { conversationId: roomId, text: 'after the outage' });
  expect(sent.status).toBe(201);
  const login = await call(`${stack.authUrl}/auth/login`, {
    method: 'POST',
    body: { username: bob.username, password: bob.password },
  });
  expect(login.status).toBe(200);
  expectGapFree(await storedMessages(faults.db, roomId));
  expect(stack.unexpectedExits).toEqual([]);
  expect(stack.all.map((s) => s.pid)).toEqual(pids);
}

function report(kind: string, calls: Call[]): void {
  process.stdout.write(
    `[faults] mongo ${kind}: ${calls.map((c) => `${c.status}/${c.ms}ms`).join(' ')}\n`,
  );
}

describe.each([
  ['cut', () => faults.mongo.cut(), () => faults.mongo.restore()],
  ['stall', () => faults.mongo.stall(), () => faults.mongo.clearToxics()],
] as const)('When the MongoDB link is %s', (kind, fail, heal) => {
  it('then sends and logins answer 503 dependency_unavailable within 2 s, readyz is 503, and everything recovers without a restart', async () => {
    const pids = faults.stack.all.map((s) => s.pid);
    await fail();
    let calls: Call[];
    try {
      // the first round meets pooled connections; the second, a driver that knows
      calls = [...(await duringOutage()), ...(await duringOutage())];
    } finally {
      await heal();
    }
    report(kind, calls);
    for (const c of calls) {
      expect(c.status).toBe(503);
      expect(c.ms).toBeLessThan(2_000);
    }
    const problems = calls.filter((c) => c.body.code !== undefined);
    expect(problems.length).toBeGreaterThanOrEqual(10);
    for (const p of problems) expect(p.body.code).toBe('dependency_unavailable');
    await expectRecovered(pids);
  });
});
