// Ending every session (docs/design.md §9.3) across the real processes: auth publishes
// session_revoked on RabbitMQ, and both websocket instances close the user's sockets
// with 4001 and refuse the access tokens issued before it; other users are untouched.
import { WS_CLOSE } from '@parley/contracts';
import {
  createClient,
  createUsers,
  openRawSocket,
  useStack,
  type RawSocket,
  type TestUser,
} from '@parley/testing';

const e2e = useStack({ name: 'revoked', websocketInstances: 2 });

function token(user: TestUser): string {
  const session = user.client.session;
  if (session === null) throw new Error(`${user.username} is not logged in`);
  return session.accessToken;
}

/** A second device of `user`: its own login, so its own refresh-token family. */
async function secondDevice(user: TestUser) {
  const client = createClient(e2e.stack, { websocket: 1 });
  await client.login({ username: user.username, password: user.password });
  return client;
}

const opened: RawSocket[] = [];
async function socketOn(instance: number, accessToken: string): Promise<RawSocket> {
  const socket = await openRawSocket(e2e.stack.websocketUrls[instance] as string, accessToken);
  opened.push(socket);
  return socket;
}
afterAll(async () => {
  await Promise.all(opened.map((socket) => socket.close()));
});

test('When a user logs out everywhere, then their sockets on every instance close with 4001 and their old tokens are refused; bob is untouched', async () => {
  const [alice, bob] = (await createUsers(e2e.stack, ['alice', 'bob'])) as [TestUser, TestUser];
  const laptop = await secondDevice(alice);
  const phoneToken = token(alice);
  const laptopToken = laptop.session?.accessToken as string;
  const phone = await socketOn(0, phoneToken);
  const laptopSocket = await socketOn(1, laptopToken);
  const bobSocket = await socketOn(1, token(bob));

  await alice.client.logoutAll();

  expect(await phone.closed).toBe(WS_CLOSE.tokenExpired);
  expect(await laptopSocket.closed).toBe(WS_CLOSE.tokenExpired);
  for (const [instance, old] of [
    [0, phoneToken],
    [1, laptopToken],
  ] as const) {
    await expect(socketOn(instance, old)).rejects.toThrow(/401/);
  }
  await expect(laptop.refresh()).rejects.toMatchObject({ status: 401 });
  bobSocket.sendJson({ type: 'ping' });
  await bobSocket.next('pong');

  // a new login opens a socket again at once
  await alice.client.login({ username: alice.username, password: alice.password });
  const again = await socketOn(0, token(alice));
  expect(again.frames[0]).toMatchObject({ type: 'ready', userId: alice.user.id });
});

test('When a user changes their password, then their open sockets close with 4001 and only the new password logs in', async () => {
  const [carol] = (await createUsers(e2e.stack, ['carol'])) as [TestUser];
  const socket = await socketOn(1, token(carol));
  const newPassword = `${carol.password}-changed`;

  await carol.client.changePassword({ currentPassword: carol.password, newPassword });

  expect(await socket.closed).toBe(WS_CLOSE.tokenExpired);
  await expect(
    carol.client.login({ username: carol.username, password: carol.password }),
  ).rejects.toMatchObject({ code: 'invalid_credentials' });
  await carol.client.login({ username: carol.username, password: newPassword });
});
