// Upgrade authentication (docs/design.md §6): a socket opens only with a valid access token.
import { readyFrameSchema } from '@parley/contracts';
import { createTestIssuer, type TestIssuer } from '@parley/testing';
import request from 'supertest';
import { connect, newUser, refusedUpgrade, useWebsocketHarness } from './support/websocket-harness';

const ws = useWebsocketHarness({ name: 'ws-upgrade' });
let other: TestIssuer;

beforeAll(async () => {
  other = await createTestIssuer();
});

afterAll(async () => {
  await other.close();
});

describe('WebSocket upgrade', () => {
  test('When the token is valid, then the socket opens and the first frame is ready with the user', async () => {
    const user = newUser(ws.issuer);
    const client = await connect(ws.instance.wsBase, user.token);
    expect(client.frames[0]).toEqual(client.ready);
    expect(readyFrameSchema.parse(client.ready)).toMatchObject({
      userId: user.userId,
      username: user.username,
    });
    expect(client.ready.connectionId).toEqual(expect.any(String));
    await client.close();
  });

  test('When the bare path and an Authorization header are used, then the socket opens too', async () => {
    const user = newUser(ws.issuer);
    const client = await connect(ws.instance.wsBase, user.token, {
      path: '/',
      headers: { authorization: `Bearer ${user.token}` },
    });
    expect(client.ready.userId).toBe(user.userId);
    await client.close();
  });

  test.each([
    ['no token', () => ''],
    ['a garbage token', () => 'not-a-jwt'],
    ['an expired token', () => ws.issuer.mint({ expiresInSeconds: -120 })],
    ['a token for another audience', () => ws.issuer.mint({ claims: { aud: 'someone-else' } })],
    ['a token signed by another key', () => other.mint()],
    ['a token from another issuer', () => ws.issuer.mint({ claims: { iss: 'evil' } })],
  ])(
    'When the upgrade carries %s, then it is refused with HTTP 401 and a problem body',
    async (_what, token) => {
      const t = token();
      const url =
        t === ''
          ? `${ws.instance.wsBase}/ws`
          : `${ws.instance.wsBase}/ws?token=${encodeURIComponent(t)}`;
      const { status, body, rawHeaders } = await refusedUpgrade(url);
      expect(status).toBe(401);
      expect(JSON.parse(body)).toMatchObject({ status: 401, code: 'unauthorized' });
      const challenges = rawHeaders.filter(
        (_, i) => i % 2 === 1 && /^www-authenticate$/i.test(rawHeaders[i - 1] ?? ''),
      );
      expect(challenges).toEqual(['Bearer']);
      expect(ws.instance.app.registry.connectionCount).toBe(0);
    },
  );

  test('When the path is not /ws or /, then the upgrade is refused with 404', async () => {
    const user = newUser(ws.issuer);
    const { status, body } = await refusedUpgrade(`${ws.instance.wsBase}/chat?token=${user.token}`);
    expect(status).toBe(404);
    expect(JSON.parse(body)).toMatchObject({ code: 'not_found' });
  });

  test('When a user exceeds the per-user connection cap, then the extra upgrade gets 429', async () => {
    const capped = await ws.startInstance({
      env: { MAX_CONNECTIONS_PER_USER: '2' },
    });
    try {
      const user = newUser(ws.issuer);
      const a = await connect(capped.wsBase, user.token);
      const b = await connect(capped.wsBase, user.token);
      const { status, body } = await refusedUpgrade(`${capped.wsBase}/ws?token=${user.token}`);
      expect(status).toBe(429);
      expect(JSON.parse(body)).toMatchObject({ code: 'rate_limited' });
      await a.close();
      await b.close();
    } finally {
      await capped.stop();
    }
  });
});

describe('request ids on refused upgrades', () => {
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  const header = (rawHeaders: string[], name: string): string[] =>
    rawHeaders.filter((_, i) => i % 2 === 1 && rawHeaders[i - 1]?.toLowerCase() === name);

  test('When an upgrade is refused (401, 404, 429), then the answer carries an X-Request-Id, the client one if sane', async () => {
    const user = newUser(ws.issuer);
    const fresh = await refusedUpgrade(`${ws.instance.wsBase}/ws`);
    expect(fresh.status).toBe(401);
    expect(header(fresh.rawHeaders, 'x-request-id')).toEqual([expect.stringMatching(UUID)]);
    expect(header(fresh.rawHeaders, 'content-type')).toEqual(['application/problem+json']);

    const echoed = await refusedUpgrade(`${ws.instance.wsBase}/elsewhere?token=${user.token}`, {
      'X-Request-Id': 'upgrade-trace.42',
    });
    expect(echoed.status).toBe(404);
    expect(header(echoed.rawHeaders, 'x-request-id')).toEqual(['upgrade-trace.42']);

    const hostile = await refusedUpgrade(`${ws.instance.wsBase}/ws?token=nope`, {
      'X-Request-Id': `<script>${'x'.repeat(200)}`,
    });
    expect(hostile.status).toBe(401);
    expect(header(hostile.rawHeaders, 'x-request-id')).toEqual([expect.stringMatching(UUID)]);

    const capped = await ws.startInstance({
      env: { MAX_CONNECTIONS_PER_USER: '1' },
    });
    try {
      const a = await connect(capped.wsBase, user.token);
      const limited = await refusedUpgrade(`${capped.wsBase}/ws?token=${user.token}`, {
        'X-Request-Id': 'capped-1',
      });
      expect(limited.status).toBe(429);
      expect(header(limited.rawHeaders, 'x-request-id')).toEqual(['capped-1']);
      await a.close();
    } finally {
      await capped.stop();
    }
  });
});

describe('HTTP side', () => {
  test('When /healthz and /readyz are asked, then they answer; /metrics answers on the metrics port only, with the service metrics', async () => {
    await request(ws.instance.httpUrl).get('/healthz').expect(200);
    const ready = await request(ws.instance.httpUrl).get('/readyz').expect(200);
    expect(ready.body).toMatchObject({ status: 'ready', checks: { rabbitmq: 'up' } });
    await request(ws.instance.httpUrl).get('/metrics').expect(404);
    const metrics = await request(ws.instance.metricsUrl).get('/metrics').expect(200);
    for (const name of [
      'ws_open_connections',
      'ws_connected_users',
      'ws_frames_in_total',
      'ws_frames_out_total',
      'ws_events_consumed_total',
      'ws_delivery_latency_seconds',
      'ws_closes_total',
    ]) {
      expect(metrics.text).toContain(name);
    }
  });

  test('When GET /presence is asked without a token, then it is 401; with one, it lists the users; with chat unreachable, others are 503', async () => {
    await request(ws.instance.httpUrl).get('/presence?userIds=a').expect(401);
    const user = newUser(ws.issuer);
    const client = await connect(ws.instance.wsBase, user.token);
    // oneself needs no presence check
    const res = await request(ws.instance.httpUrl)
      .get(`/presence?userIds=${user.userId}`)
      .set('authorization', `Bearer ${user.token}`)
      .expect(200);
    expect(res.body).toEqual({ presence: [{ userId: user.userId, status: 'online' }] });
    // anyone else does, and this instance's chat does not answer: no guess either way
    const others = await request(ws.instance.httpUrl)
      .get(`/presence?userIds=${user.userId},nobody`)
      .set('authorization', `Bearer ${user.token}`);
    expect([others.status, others.body.code]).toEqual([503, 'dependency_unavailable']);
    await request(ws.instance.httpUrl)
      .get('/presence')
      .set('authorization', `Bearer ${user.token}`)
      .expect(400);
    await client.close();
  });
});
