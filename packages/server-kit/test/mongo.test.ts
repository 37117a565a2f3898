// Component tests against a real MongoDB-compatible server (MONGO_URL from the jest
// global setup), plus one FerretDB process of our own that is stopped and started
// again to prove the connection recovers by itself.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  connectMongo,
  createMongoReadinessCheck,
  DependencyUnavailableError,
  isDependencyFailure,
  type MongoConnection,
} from '@parley/server-kit';
import {
  createSilentLogger,
  freePort,
  startFerretDbProcess,
  startToxiproxy,
  uniqueDbName,
  upstreamOf,
  viaProxy,
  waitFor,
  type ToolProcess,
} from '@parley/testing';

const mongoBaseUrl = process.env['MONGO_URL'] ?? 'mongodb://127.0.0.1:27017';
const logger = createSilentLogger();

function withDb(base: string, db: string): string {
  const url = new URL(base);
  url.pathname = `/${db}`;
  return url.toString();
}

describe('connectMongo', () => {
  const opened: MongoConnection[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((m) => m.close()));
  });

  it('When MongoDB is up, then the db from the URL is used and documents round-trip', async () => {
    const dbName = uniqueDbName('kit');
    const mongo = await connectMongo({ url: withDb(mongoBaseUrl, dbName), logger });
    opened.push(mongo);

    await mongo.db.collection('things').insertOne({ _id: 'a' as never, n: 1 });
    const found = await mongo.db.collection('things').findOne({ _id: 'a' as never });

    expect(mongo.db.databaseName).toBe(dbName);
    expect(found).toEqual({ _id: 'a', n: 1 });
    await expect(mongo.ping()).resolves.toBeUndefined();
    await expect(
      createMongoReadinessCheck(mongo).check(new AbortController().signal),
    ).resolves.toBeUndefined();
  });

  it('When dbName is given, then it wins over the URL, and close is idempotent', async () => {
    const dbName = uniqueDbName('kit');
    const mongo = await connectMongo({ url: withDb(mongoBaseUrl, 'ignored'), dbName, logger });

    expect(mongo.db.databaseName).toBe(dbName);
    await Promise.all([mongo.close(), mongo.close()]);
    await expect(mongo.close()).resolves.toBeUndefined();
  });

  it('When nothing listens at the URL, then connecting fails fast with DependencyUnavailableError', async () => {
    const port = await freePort();
    const started = Date.now();

    const attempt = connectMongo({
      url: `mongodb://127.0.0.1:${port}/x`,
      logger,
      serverSelectionTimeoutMS: 1000,
    });

    await expect(attempt).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('When started with requireAtStart false and MongoDB down, then operations fail within 2 s as dependency failures', async () => {
    const port = await freePort();
    const mongo = await connectMongo({
      url: `mongodb://127.0.0.1:${port}/x`,
      logger,
      requireAtStart: false,
    });
    opened.push(mongo);
    const started = Date.now();

    const error = await mongo.db
      .collection('c')
      .findOne({})
      .catch((err: unknown) => err);

    expect(Date.now() - started).toBeLessThan(2600);
    expect(isDependencyFailure(error)).toBe(true);
  });

  it('When every pooled connection stays busy past waitQueueTimeoutMS, then the next operation fails at once as a dependency failure', async () => {
    const toxiproxy = await startToxiproxy();
    try {
      const link = await toxiproxy.client.createProxy({
        name: uniqueDbName('pool'),
        upstream: upstreamOf(mongoBaseUrl),
      });
      const mongo = await connectMongo({
        url: withDb(viaProxy(mongoBaseUrl, link), uniqueDbName('pool')),
        logger,
        maxPoolSize: 1,
        waitQueueTimeoutMS: 200,
      });
      opened.push(mongo);
      await mongo.ping();
      await link.latency(1_500);
      const holding = mongo.db.command({ ping: 1 }); // takes the only connection for 1.5 s
      const started = Date.now();

      const error = await mongo.db
        .collection('c')
        .findOne({})
        .catch((err: unknown) => err);

      expect(isDependencyFailure(error)).toBe(true);
      expect(Date.now() - started).toBeLessThan(1_000);
      await link.clearToxics();
      await expect(holding).resolves.toMatchObject({ ok: 1 });
    } finally {
      await toxiproxy.stop();
    }
  });
});

describe('connectMongo when the server goes away and comes back', () => {
  let dataDir = '';
  let ferret: ToolProcess | undefined;

  beforeAll(() => {
    // a no-op when the binary is current; builds it (needs Go) otherwise
    execFileSync(
      process.execPath,
      [path.resolve(__dirname, '../../../tools/ferretdb/ferretdb.mjs'), 'build'],
      {
        stdio: 'ignore',
      },
    );
    dataDir = mkdtempSync(path.join(tmpdir(), 'kit-ferret-'));
  }, 300_000);

  afterAll(async () => {
    await ferret?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function startFerret(listen: string): Promise<string> {
    // the port it had may be taken meanwhile: try again for a while
    ferret = await startFerretDbProcess({ dataDir, listen, portRetryMs: 10_000 });
    return ferret.url;
  }

  async function stopFerret(): Promise<void> {
    await ferret?.stop();
  }

  it('When MongoDB restarts, then requests fail fast meanwhile and the same connection recovers without restart', async () => {
    const readyUrl = await startFerret('127.0.0.1:0');
    const port = new URL(readyUrl).port;
    const mongo = await connectMongo({
      url: `mongodb://127.0.0.1:${port}/${uniqueDbName('recover')}`,
      logger,
    });
    await mongo.db.collection('c').insertOne({ before: true });

    await stopFerret();
    const started = Date.now();
    const duringOutage = await mongo.db
      .collection('c')
      .findOne({})
      .catch((err: unknown) => err);
    expect(isDependencyFailure(duringOutage)).toBe(true);
    expect(Date.now() - started).toBeLessThan(2600);

    await startFerret(`127.0.0.1:${port}`);
    await waitFor(() => mongo.ping().then(() => true), {
      timeoutMs: 20_000,
      description: 'MongoDB ping after restart',
    });
    await mongo.db.collection('c').insertOne({ after: true });

    expect(await mongo.db.collection('c').countDocuments()).toBe(2);
    await mongo.close();
  }, 60_000);
});
