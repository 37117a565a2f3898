// session_revoked (docs/design.md §9.3): auth ended every session of a user; each instance closes
// that user's sockets with 4001 and refuses their access tokens issued up to the
// revocation, at the upgrade and on `auth` frames. Events are injected on the real
// exchange as auth publishes them.
import { WS_CLOSE } from '@parley/contracts';
import { uniqueName, waitFor } from '@parley/testing';
import {
  connect,
  newUser,
  refusedUpgrade,
  useWebsocketHarness,
  type TestClient,
} from './support/websocket-harness';

const ws = useWebsocketHarness({ name: 'ws-revoked' });

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A token of `user` issued `secondsAgo` before now (negative: after now). */
function tokenIssued(user: { userId: string; username: string }, secondsAgo: number): string {
  return ws.issuer.mint({
    userId: user.userId,
    username: user.username,
    claims: { iat: nowSeconds() - secondsAgo },
  });
}

function revoke(userId: string, at = new Date()) {
  return ws.injector.publish('session_revoked', { userId, revokedAt: at.toISOString() }, [userId]);
}

/**
 * Publishes the revocation, then an event for `witness` on the same exchange, and waits
 * for the witness to get it: one queue keeps order, so the instance has handled the
 * revocation by then.
 */
async function revokeAndWait(userId: string, at: Date, witness: TestClient): Promise<void> {
  await revoke(userId, at);
  const conversationId = uniqueName('witness');
  await ws.injector.publish('read', { conversationId, userId: witness.ready.userId, seq: 1 }, [
    witness.ready.userId,
  ]);
  await witness.next('read', (f) => f.conversationId === conversationId);
}

test('When session_revoked arrives for a user, then every socket of theirs closes with 4001 and other users keep theirs', async () => {
  const alice = newUser(ws.issuer);
  const bob = newUser(ws.issuer);
  const phone = await connect(ws.instance.wsBase, alice.token);
  const laptop = await connect(ws.instance.wsBase, alice.token);
  const bobs = await connect(ws.instance.wsBase, bob.token);

  await revoke(alice.userId);

  for (const socket of [phone, laptop]) {
    expect(await socket.closed).toEqual({ code: WS_CLOSE.tokenExpired, reason: 'session revoked' });
  }
  bobs.sendJson({ type: 'ping' });
  await bobs.next('pong');
  await bobs.close();
});

test('When a user was revoked, then a token issued up to the revocation is refused at the upgrade with 401, and one issued after opens', async () => {
  const alice = newUser(ws.issuer);
  const old = tokenIssued(alice, 10);
  const revokedAt = new Date(Date.now() - 5_000);
  const socket = await connect(ws.instance.wsBase, old);
  await revoke(alice.userId, revokedAt);
  await socket.closed;

  const refused = await refusedUpgrade(`${ws.instance.wsBase}/ws?token=${encodeURIComponent(old)}`);
  const fresh = await connect(ws.instance.wsBase, tokenIssued(alice, 0));

  expect(refused.status).toBe(401);
  expect(JSON.parse(refused.body)).toMatchObject({ code: 'unauthorized' });
  expect(fresh.ready.userId).toBe(alice.userId);
  await fresh.close();
});

test('When an auth frame carries a token issued before the revocation, then it is refused and the socket keeps its newer token', async () => {
  const alice = newUser(ws.issuer);
  const old = tokenIssued(alice, 10);
  const fresh = await connect(ws.instance.wsBase, tokenIssued(alice, 0));
  await revokeAndWait(alice.userId, new Date(Date.now() - 5_000), fresh);

  fresh.sendJson({ type: 'auth', token: old });

  expect(await fresh.next('error')).toMatchObject({ code: 'unauthorized' });
  fresh.sendJson({ type: 'ping' });
  await fresh.next('pong');
  await fresh.close();
});

test('When session_revoked arrives late, then a socket opened with a token issued after the revocation stays open', async () => {
  const alice = newUser(ws.issuer);
  const stale = await connect(ws.instance.wsBase, tokenIssued(alice, 10));
  const fresh = await connect(ws.instance.wsBase, tokenIssued(alice, 0));

  await revoke(alice.userId, new Date(Date.now() - 5_000));

  expect((await stale.closed).code).toBe(WS_CLOSE.tokenExpired);
  fresh.sendJson({ type: 'ping' });
  await fresh.next('pong');
  await fresh.close();
});

test('When the revocation is older than SESSION_REVOCATION_TTL_MS, then it no longer refuses anything (those tokens have expired)', async () => {
  const short = await ws.startInstance({ env: { SESSION_REVOCATION_TTL_MS: '1000' } });
  {
    const alice = newUser(ws.issuer);
    const old = tokenIssued(alice, 30);
    const witness = await connect(short.wsBase, newUser(ws.issuer).token);
    await revokeAndWait(alice.userId, new Date(Date.now() - 20_000), witness);
    // the control: `instance` (15 min) refuses that token once it has the event
    await waitFor(
      () =>
        refusedUpgrade(`${ws.instance.wsBase}/ws?token=${encodeURIComponent(old)}`).then(
          (r) => r.status === 401 || undefined,
        ),
      { description: 'the default instance to refuse the old token' },
    );

    const socket = await connect(short.wsBase, old);

    expect(socket.ready.userId).toBe(alice.userId);
    await socket.close();
    await witness.close();
  }
});
