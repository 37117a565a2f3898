// Keys shared across instances and restarts: a token from one auth instance is
// accepted by a second one on the same database, by the server kit's JWKS verifier
// over HTTP, and after a restart; key generation is race-safe; the JWKS is
// rotation-ready; configured keys (RS256/ES256) work and production requires one.
import {
  createJwksVerifier,
  startHttpServer,
  type MongoConnection,
  type RunningHttpServer,
} from '@parley/server-kit';
import jwt from 'jsonwebtoken';
import { generateKeyPairSync } from 'node:crypto';
import { loadAuthConfig } from '../src/config';
import {
  SIGNING_KEYS_COLLECTION,
  generateSigningKey,
  jwkThumbprint,
  loadConfiguredSigningKey,
  loadStoredSigningKeys,
  type SigningKeyRecord,
} from '../src/signing-keys';
import {
  Recorder,
  closeTestApps,
  connectTestDb,
  createTestApp,
  expectNoPasswordHashes,
  registerAndLogin,
} from './support/auth-harness';

const recorder = new Recorder();
const dbs: MongoConnection[] = [];
const servers: RunningHttpServer[] = [];

async function freshDb(): Promise<MongoConnection> {
  const mongo = await connectTestDb('auth_keys');
  dbs.push(mongo);
  return mongo;
}

afterAll(async () => {
  expectNoPasswordHashes(recorder);
  await closeTestApps();
  for (const server of servers) await server.close();
  for (const mongo of dbs) {
    await mongo.db.dropDatabase();
    await mongo.close();
  }
});

describe('tokens across instances', () => {
  it('When instance A issues a token, then instance B on the same database accepts it', async () => {
    const mongo = await freshDb();
    const a = await createTestApp(mongo, recorder);
    const b = await createTestApp(mongo, recorder);
    const user = await registerAndLogin(a.http);
    const res = await b.http.get('/auth/me').set('Authorization', `Bearer ${user.accessToken}`);
    expect(res.status).toBe(200);
    expect(b.signingKeys.active.kid).toBe(a.signingKeys.active.kid);
  });

  it("When auth serves its JWKS over HTTP, then the server kit's verifier accepts auth's token", async () => {
    const mongo = await freshDb();
    const auth = await createTestApp(mongo, recorder);
    const server = await startHttpServer(auth.listener, { port: 0, host: '127.0.0.1' });
    servers.push(server);
    const user = await registerAndLogin(auth.http);

    const verifier = createJwksVerifier({
      jwksUri: `${server.url}/.well-known/jwks.json`,
      issuer: 'parley-auth',
      audience: 'parley',
    });
    const principal = await verifier.verify(user.accessToken);

    expect(principal).toMatchObject({ userId: user.userId, username: user.username });
    const wrongAudience = createJwksVerifier({
      jwksUri: `${server.url}/.well-known/jwks.json`,
      issuer: 'parley-auth',
      audience: 'other',
    });
    await expect(wrongAudience.verify(user.accessToken)).rejects.toMatchObject({
      code: 'unauthorized',
    });
  });

  it('When auth restarts on the same database, then it keeps its key and old tokens stay valid', async () => {
    const mongo = await freshDb();
    const before = await createTestApp(mongo, recorder);
    const user = await registerAndLogin(before.http);
    const after = await createTestApp(mongo, recorder); // loads keys from MongoDB again
    expect(after.signingKeys.active.kid).toBe(before.signingKeys.active.kid);
    await after.http.get('/auth/me').set('Authorization', `Bearer ${user.accessToken}`).expect(200);
    await after.http.post('/auth/refresh').send({ refreshToken: user.refreshToken }).expect(200);
  });

  it('When several instances start at once on an empty database, then they all end up with one key', async () => {
    const mongo = await freshDb();
    const loaded = await Promise.all(
      Array.from({ length: 4 }, () => loadStoredSigningKeys(mongo.db, { alg: 'RS256' })),
    );
    expect(new Set(loaded.map((k) => k.active.kid)).size).toBe(1);
    expect(await mongo.db.collection(SIGNING_KEYS_COLLECTION).countDocuments()).toBe(1);
  });
});

describe('GET /.well-known/jwks.json', () => {
  it('When fetched, then it lists the active public key with kid = RFC 7638 thumbprint, no private parts, cacheable for 5 minutes', async () => {
    const mongo = await freshDb();
    const auth = await createTestApp(mongo, recorder);
    const res = await auth.http.get('/.well-known/jwks.json');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    const { keys } = res.body as { keys: Record<string, string>[] };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({
      kty: 'RSA',
      use: 'sig',
      alg: 'RS256',
      kid: auth.signingKeys.active.kid,
    });
    expect(keys[0]?.['kid']).toBe(jwkThumbprint(keys[0] ?? {}));
    for (const privatePart of ['d', 'p', 'q', 'dp', 'dq', 'qi'])
      expect(keys[0]).not.toHaveProperty(privatePart);
  });

  it('When a retired key is still within its verification window, then it stays in the JWKS; once past it, it is gone', async () => {
    const mongo = await freshDb();
    const current = await loadStoredSigningKeys(mongo.db, { alg: 'RS256' });
    const [stillValid, expired] = await Promise.all([
      generateSigningKey('RS256'),
      generateSigningKey('ES256'),
    ]);
    const retired = (key: typeof stillValid, verifyUntil: Date): SigningKeyRecord => ({
      _id: key.kid,
      kid: key.kid,
      alg: key.alg,
      publicJwk: key.publicJwk,
      createdAt: new Date(Date.now() - 86_400_000),
      retiredAt: new Date(Date.now() - 60_000),
      verifyUntil,
    });
    await mongo.db
      .collection<SigningKeyRecord>(SIGNING_KEYS_COLLECTION)
      .insertMany([
        retired(stillValid, new Date(Date.now() + 600_000)),
        retired(expired, new Date(Date.now() - 1_000)),
      ]);
    const auth = await createTestApp(mongo, recorder, {
      signingKeys: await loadStoredSigningKeys(mongo.db, { alg: 'RS256' }),
    });

    const kids = (
      (await auth.http.get('/.well-known/jwks.json').expect(200)).body as {
        keys: { kid: string }[];
      }
    ).keys.map((k) => k.kid);

    expect(kids.sort()).toEqual([current.active.kid, stillValid.kid].sort());
    // and a token signed by the retired key is still accepted
    const user = await registerAndLogin(auth.http);
    const now = Math.floor(Date.now() / 1000);
    const old = jwt.sign(
      {
        sub: user.userId,
        username: user.username,
        iss: 'parley-auth',
        aud: 'parley',
        iat: now,
        exp: now + 60,
        jti: 'old-token',
      },
      stillValid.privateKey,
      { algorithm: 'RS256', keyid: stillValid.kid },
    );
    await auth.http.get('/auth/me').set('Authorization', `Bearer ${old}`).expect(200);
  });
});

describe('configured keys', () => {
  it('When JWT_ALGORITHM=ES256 with a configured P-256 key, then tokens are ES256 and the kit verifier accepts them', async () => {
    const mongo = await freshDb();
    const pem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    const signingKeys = loadConfiguredSigningKey(pem, 'ES256');
    const auth = await createTestApp(mongo, recorder, {
      env: { JWT_ALGORITHM: 'ES256' },
      signingKeys,
    });
    const server = await startHttpServer(auth.listener, { port: 0, host: '127.0.0.1' });
    servers.push(server);
    const user = await registerAndLogin(auth.http);
    expect(jwt.decode(user.accessToken, { complete: true })?.header).toMatchObject({
      alg: 'ES256',
      kid: signingKeys.active.kid,
    });
    const verifier = createJwksVerifier({
      jwksUri: `${server.url}/.well-known/jwks.json`,
      issuer: 'parley-auth',
      audience: 'parley',
    });
    await expect(verifier.verify(user.accessToken)).resolves.toMatchObject({ userId: user.userId });
    expect(await mongo.db.collection(SIGNING_KEYS_COLLECTION).countDocuments()).toBe(0);
  });

  it('When the configured PEM uses literal \\n sequences (env-file style), then it loads to the same kid', () => {
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    expect(loadConfiguredSigningKey(pem.replaceAll('\n', '\\n'), 'RS256').active.kid).toBe(
      loadConfiguredSigningKey(pem, 'RS256').active.kid,
    );
  });

  it.each([
    ['not a PEM', () => 'hello', 'RS256' as const, /not a readable PEM/],
    [
      'an EC key for RS256',
      () =>
        generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
          .privateKey.export({ format: 'pem', type: 'pkcs8' })
          .toString(),
      'RS256' as const,
      /needs an RSA key/,
    ],
    [
      'an RSA key for ES256',
      () =>
        generateKeyPairSync('rsa', { modulusLength: 2048 })
          .privateKey.export({ format: 'pem', type: 'pkcs8' })
          .toString(),
      'ES256' as const,
      /P-256/,
    ],
    [
      'a 1024-bit RSA key',
      () =>
        generateKeyPairSync('rsa', { modulusLength: 1024 })
          .privateKey.export({ format: 'pem', type: 'pkcs8' })
          .toString(),
      'RS256' as const,
      /2048/,
    ],
  ])(
    'When the configured key is %s, then startup fails with a clear error',
    (_case, pem, alg, message) => {
      expect(() => loadConfiguredSigningKey(pem(), alg)).toThrow(message);
    },
  );

  it('When NODE_ENV=production and no key is configured, then config loading fails naming JWT_PRIVATE_KEY', () => {
    expect(() => loadAuthConfig({ NODE_ENV: 'production' })).toThrow(
      /JWT_PRIVATE_KEY.*required when NODE_ENV=production/,
    );
    expect(() =>
      loadAuthConfig({ NODE_ENV: 'production', JWT_PRIVATE_KEY_FILE: '/run/secrets/jwt.pem' }),
    ).not.toThrow();
  });
});
