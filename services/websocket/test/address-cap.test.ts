// The per-address connection cap (docs/design.md §9.2): it counts handshakes still being
// authenticated as well as open sockets, and the address is the client's under
// TRUST_PROXY, as auth reads it.
import type { TokenVerifier } from '@parley/server-kit';
import { waitFor } from '@parley/testing';
import WebSocket from 'ws';
import {
  connect,
  newUser,
  refusedUpgrade,
  useWebsocketHarness,
  type Instance,
} from './support/websocket-harness';

const ws = useWebsocketHarness({ name: 'ws-address', instance: false });

/** An instance with these settings (and verifier), stopped after the file's tests. */
function start(env: Record<string, string>, verifier?: TokenVerifier): Promise<Instance> {
  return ws.startInstance({ env, ...(verifier ? { verifier } : {}) });
}

/** The issuer's verifier, held until release(): upgrades wait in authentication. */
function gatedVerifier() {
  const real = ws.issuer.verifier();
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let waiting = 0;
  const verifier: TokenVerifier = {
    async verify(token) {
      waiting += 1;
      await gate;
      return real.verify(token);
    },
  };
  return { verifier, release: () => open(), waiting: () => waiting };
}

const bearer = (token: string, forwardedFor?: string) => ({
  Authorization: `Bearer ${token}`,
  ...(forwardedFor === undefined ? {} : { 'X-Forwarded-For': forwardedFor }),
});

test('When upgrades from one address are still being authenticated, then they count: the one past the cap gets 429 at once', async () => {
  const gated = gatedVerifier();
  const instance = await start({ MAX_CONNECTIONS_PER_IP: '2' }, gated.verifier);
  const user = newUser(ws.issuer);
  const pending = [0, 1].map(() => new WebSocket(`${instance.wsBase}/ws?token=${user.token}`));
  const opened = pending.map(
    (ws) =>
      new Promise<void>((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      }),
  );
  await waitFor(() => gated.waiting() === 2 || undefined);

  const third = await refusedUpgrade(`${instance.wsBase}/ws?token=${user.token}`);

  expect(third.status).toBe(429);
  expect(JSON.parse(third.body)).toMatchObject({ code: 'rate_limited' });
  expect(gated.waiting()).toBe(2); // refused before authentication
  gated.release();
  await Promise.all(opened);
  expect(instance.app.registry.countForIp('127.0.0.1')).toBe(2);
  for (const ws of pending) ws.close();
});

test('When a handshake fails authentication, then it stops counting against its address', async () => {
  const instance = await start({ MAX_CONNECTIONS_PER_IP: '1' });
  const refused = await refusedUpgrade(`${instance.wsBase}/ws?token=not-a-token`);
  expect(refused.status).toBe(401);

  const client = await connect(instance.wsBase, newUser(ws.issuer).token);

  expect(client.ready).toBeDefined();
  await client.close();
});

test('When TRUST_PROXY trusts one proxy hop, then the cap is per client address from X-Forwarded-For', async () => {
  const instance = await start({ MAX_CONNECTIONS_PER_IP: '1', TRUST_PROXY: '1' });
  const user = newUser(ws.issuer);

  const first = await connect(instance.wsBase, user.token, {
    headers: bearer(user.token, '203.0.113.1'),
  });
  const sameAddress = await refusedUpgrade(
    `${instance.wsBase}/ws`,
    bearer(user.token, '203.0.113.1'),
  );
  const otherAddress = await connect(instance.wsBase, user.token, {
    headers: bearer(user.token, '203.0.113.2'),
  });

  expect(sameAddress.status).toBe(429);
  expect(instance.app.registry.countForIp('203.0.113.1')).toBe(1);
  expect(instance.app.registry.countForIp('203.0.113.2')).toBe(1);
  await first.close();
  await otherAddress.close();
});

test('When TRUST_PROXY is off (the default), then X-Forwarded-For is ignored: writing it does not dodge the cap', async () => {
  const instance = await start({ MAX_CONNECTIONS_PER_IP: '1' });
  const user = newUser(ws.issuer);

  const first = await connect(instance.wsBase, user.token, {
    headers: bearer(user.token, '203.0.113.1'),
  });
  const disguised = await refusedUpgrade(
    `${instance.wsBase}/ws`,
    bearer(user.token, '203.0.113.9'),
  );

  expect(disguised.status).toBe(429);
  expect(instance.app.registry.countForIp('127.0.0.1')).toBe(1);
  await first.close();
});
