// Secrets never reach the logs (docs/security.md, "secrets in logs"): with every
// service logging at debug level, a user registers, logs in, refreshes, logs out,
// calls chat with a bearer token, opens a WebSocket with `?token=` in the URL, and
// sends a plain HTTP GET /ws?token= (which the request logger records). No password,
// access token, refresh token or Authorization value may appear in any log line.
import WebSocket from 'ws';
import { openRawSocket, useStack } from '@parley/testing';

jest.setTimeout(60_000);

const e2e = useStack({ name: 'logredact', env: { LOG_LEVEL: 'debug' } });

async function json(url: string, init: RequestInit & { body?: string } = {}) {
  const res = await fetch(url, {
    ...init,
    headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
  });
  return {
    status: res.status,
    body: (await res.json().catch(() => ({}))) as Record<string, unknown>,
  };
}

it('When users register, log in, refresh, call chat and open sockets with ?token=, then no password, token or authorization value is in any log', async () => {
  const username = `redact${Date.now().toString(36)}`;
  const password = `Secret-Pass-${Math.random().toString(36).slice(2)}`;
  const secrets: string[] = [password];

  expect(
    (
      await json(`${e2e.stack.authUrl}/auth/register`, {
        method: 'POST',
        body: JSON.stringify({ username, password }),
      })
    ).status,
  ).toBe(201);
  const login = await json(`${e2e.stack.authUrl}/auth/login`, {
    method: 'POST',
    body: JSON.stringify({ username, password }),
  });
  expect(login.status).toBe(200);
  const wrong = await json(`${e2e.stack.authUrl}/auth/login`, {
    method: 'POST',
    body: JSON.stringify({ username, password: `${password}-wrong` }),
  });
  expect(wrong.status).toBe(401);
  secrets.push(`${password}-wrong`);
  const refreshed = await json(`${e2e.stack.authUrl}/auth/refresh`, {
    method: 'POST',
    body: JSON.stringify({ refreshToken: login.body.refreshToken }),
  });
  expect(refreshed.status).toBe(200);
  // a replay of the rotated token (refused, and logged as reuse)
  await json(`${e2e.stack.authUrl}/auth/refresh`, {
    method: 'POST',
    body: JSON.stringify({ refreshToken: login.body.refreshToken }),
  });
  const again = await json(`${e2e.stack.authUrl}/auth/login`, {
    method: 'POST',
    body: JSON.stringify({ username, password }),
  });
  const access = again.body.accessToken as string;
  secrets.push(
    login.body.accessToken as string,
    login.body.refreshToken as string,
    refreshed.body.accessToken as string,
    refreshed.body.refreshToken as string,
    access,
    again.body.refreshToken as string,
  );
  const bearer = { authorization: `Bearer ${access}` };
  expect((await json(`${e2e.stack.authUrl}/auth/me`, { headers: bearer })).status).toBe(200);
  expect(
    (
      await json(`${e2e.stack.chatUrl}/chat/conversations?access_token=${access}`, {
        headers: bearer,
      })
    ).status,
  ).toBe(200);
  expect(
    (
      await json(`${e2e.stack.chatUrl}/chat/send`, {
        method: 'POST',
        headers: bearer,
        body: JSON.stringify({ to: username, text: 'note to self' }),
      })
    ).status,
  ).toBe(201);

  // the socket upgrade with the token in the query string, and one refused (bad token)
  const socket = await openRawSocket(e2e.stack.websocketUrls[0]!, access);
  socket.sendJson({ type: 'auth', token: access });
  socket.sendJson({ type: 'ping' });
  await socket.next('pong');
  await socket.close();
  const forged = `${access.slice(0, -4)}AAAA`;
  secrets.push(forged);
  await new Promise<void>((resolve) => {
    const ws = new WebSocket(
      `${e2e.stack.websocketUrls[0]!.replace(/^http/, 'ws')}/ws?token=${forged}`,
    );
    ws.once('unexpected-response', () => resolve());
    ws.once('error', () => resolve());
  });
  // a plain HTTP request for the socket path, which the request logger does record
  await fetch(`${e2e.stack.websocketUrls[0]}/ws?token=${access}`).then((r) => r.arrayBuffer());
  await fetch(`${e2e.stack.chatUrl}/chat/history?token=${access}&with=${username}`, {
    headers: bearer,
  }).then((r) => r.arrayBuffer());
  await logout(again.body.refreshToken as string);

  // every line each process wrote, after the last requests were logged
  await new Promise((resolve) => setTimeout(resolve, 500));
  const lines = e2e.stack.all.flatMap((s) => s.lines().map((line) => ({ label: s.label, line })));
  expect(lines.length).toBeGreaterThan(20);
  const jwtSignatures = secrets
    .filter((s) => s.split('.').length === 3)
    .map((s) => s.split('.')[2]!);
  const leaks = lines.filter(({ line }) =>
    [...secrets, ...jwtSignatures].some((secret) => secret.length >= 8 && line.includes(secret)),
  );
  expect(leaks.map(({ label, line }) => `${label}: ${line.slice(0, 300)}`)).toEqual([]);
  const authHeaderValues = lines.filter(({ line }) =>
    /"authorization":"(?!\[redacted\])/i.test(line),
  );
  expect(authHeaderValues).toEqual([]);
  // the request log still names the path, with the credential replaced
  expect(lines.some(({ line }) => line.includes('/ws?token=[redacted]'))).toBe(true);
});

async function logout(refreshToken: string): Promise<void> {
  const res = await json(`${e2e.stack.authUrl}/auth/logout`, {
    method: 'POST',
    body: JSON.stringify({ refreshToken }),
  });
  expect(res.status).toBe(204);
}
