// The launcher's promises about ports, against the real auth service (its build) on the
// test MongoDB: a first start binds port 0 and learns the port from the process
// (whatever its LOG_LEVEL), and a restart comes back on that port, waiting while
// something else holds it. The web app's serve.mjs is launched the same way.
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { MongoClient } from 'mongodb';
import { ServiceProcess, testMongoUrl, uniqueDbName, waitFor } from '@parley/testing';

const dbName = uniqueDbName('launcher');
const started: ServiceProcess[] = [];

function auth({
  logLevel = 'info',
  portRetryMs,
}: { logLevel?: string; portRetryMs?: number } = {}): ServiceProcess {
  const service = new ServiceProcess({
    service: 'auth',
    env: {
      NODE_ENV: 'test',
      LOG_LEVEL: logLevel,
      HOST: '127.0.0.1',
      BCRYPT_COST: '4',
      MONGO_URL: testMongoUrl(dbName),
    },
    ...(portRetryMs === undefined ? {} : { portRetryMs }),
  });
  started.push(service);
  return service;
}

async function hold(port: number): Promise<Server> {
  const blocker = createServer();
  blocker.listen(port, '127.0.0.1');
  await once(blocker, 'listening');
  return blocker;
}

afterAll(async () => {
  await Promise.all(started.map((service) => service.dispose()));
  const mongo = await MongoClient.connect(testMongoUrl(dbName));
  await mongo.db().dropDatabase();
  await mongo.close();
});

test('When a service starts without a port, then it binds one itself and the launcher reads it from the process', async () => {
  const service = auth();

  await service.start();

  expect(service.port).toBeGreaterThan(0);
  expect(service.env['PORT']).toBe(String(service.port));
  const ready = await fetch(`${service.url}/readyz`);
  expect(ready.status).toBe(200);
  // services buffer their log (LOG_FLUSH_INTERVAL_MS): the line comes within an interval
  await waitFor(() => service.lines().some((line) => line.includes(`"url":"${service.url}"`)), {
    timeoutMs: 5_000,
    description: 'the listening line',
  });
});

test('When the service logs only warnings, then its port is still learned from the process', async () => {
  const service = auth({ logLevel: 'warn' });

  await service.start();

  expect(service.port).toBeGreaterThan(0);
  expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
  expect(service.lines().some((line) => line.includes('listening'))).toBe(false);
});

test('When a restarted service finds its port taken, then it tries again until the port is free and comes back on it', async () => {
  const service = auth();
  await service.start();
  const { port, url } = service;
  await service.stop();
  const blocker = await hold(port);

  const restarted = service.restart();
  await service.waitForLine(/is taken; trying again/, { timeoutMs: 15_000 });
  await new Promise<void>((resolve) => blocker.close(() => resolve()));
  await restarted;

  expect(service.url).toBe(url);
  expect((await fetch(`${url}/readyz`)).status).toBe(200);
});

test("When the port stays taken past portRetryMs, then the restart fails with the service's EADDRINUSE", async () => {
  const service = auth({ portRetryMs: 500 });
  await service.start();
  await service.stop();
  const blocker = await hold(service.port);
  try {
    await expect(service.restart()).rejects.toThrow(/EADDRINUSE/);
    expect(service.running).toBe(false);
  } finally {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  }
});

test("When the web app starts without a port and is restarted with the services' URLs, then it keeps its port and serves them in config.json", async () => {
  const web = new ServiceProcess({ service: 'web', env: { HOST: '127.0.0.1' } });
  started.push(web);
  await web.start();
  const { url } = web;
  expect(web.env['WEB_PORT']).toBe(String(web.port));
  expect(await (await fetch(`${url}/config.json`)).json()).toEqual({});

  await web.restart({ env: { PARLEY_AUTH_URL: 'http://127.0.0.1:1' } });

  expect(web.url).toBe(url);
  expect(await (await fetch(`${url}/config.json`)).json()).toEqual({
    authUrl: 'http://127.0.0.1:1',
  });
  expect((await web.stop()).code).toBe(0);
});
