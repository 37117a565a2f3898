// Pure logic: environment parsing and the RFC 7638 key id.
import { authSettingsFrom, loadAuthConfig } from '../src/config';
import { jwkThumbprint } from '../src/signing-keys';
import { preHash } from '../src/password-hasher';
import { slowdownDelayMs } from '../src/login-limiter';

describe('auth config', () => {
  it('When nothing is set, then the documented defaults apply', () => {
    const env = loadAuthConfig({});
    expect(env).toMatchObject({
      PORT: 5001,
      JWT_ALGORITHM: 'RS256',
      JWT_ISSUER: 'parley-auth',
      JWT_AUDIENCE: 'parley',
      ACCESS_TOKEN_TTL: 900,
      REFRESH_TOKEN_TTL: 30 * 86_400,
      BCRYPT_COST: 12,
      TRUST_PROXY: false,
      METRICS_PORT: 9101,
      METRICS_HOST: '127.0.0.1',
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
      EVENTS_EXCHANGE: 'chat.events',
      REFRESH_FAMILY_MAX_AGE: 90 * 86_400,
      LOGIN_MAX_FAILURES_PER_USERNAME_PER_IP: 10,
      LOGIN_MAX_FAILURES_PER_IP: 100,
      LOGIN_FAILURE_WINDOW: 900,
      LOGIN_SLOWDOWN_AFTER: 5,
      LOGIN_SLOWDOWN_BASE_MS: 250,
      LOGIN_SLOWDOWN_MAX_MS: 1_000,
      REGISTRATIONS_PER_IP: 100,
      REGISTRATION_WINDOW: 3600,
    });
    expect(authSettingsFrom(env).loginFailuresPerUsernameAndIp).toEqual({
      points: 10,
      windowSeconds: 900,
    });
    expect(authSettingsFrom(env).loginSlowdown).toEqual({
      after: 5,
      baseMs: 250,
      maxMs: 1_000,
      windowSeconds: 900,
    });
  });

  it('When the longest login slowdown leaves bcrypt no room within the request deadline, then config fails naming it', () => {
    expect(() =>
      loadAuthConfig({ LOGIN_SLOWDOWN_MAX_MS: '1400', REQUEST_DEADLINE_MS: '1500' }),
    ).toThrow(/LOGIN_SLOWDOWN_MAX_MS/);
    expect(
      loadAuthConfig({ LOGIN_SLOWDOWN_MAX_MS: '1400', REQUEST_DEADLINE_MS: '0' })
        .LOGIN_SLOWDOWN_MAX_MS,
    ).toBe(1400);
  });

  it.each([
    ['900', 900],
    ['90s', 90],
    ['15m', 900],
    ['2h', 7200],
    ['30d', 2_592_000],
    ['5M', 300],
  ])('When ACCESS_TOKEN_TTL is %p, then it is %p seconds', (value, seconds) => {
    expect(loadAuthConfig({ ACCESS_TOKEN_TTL: value }).ACCESS_TOKEN_TTL).toBe(seconds);
  });

  it.each(['15 minutes', '-5', '1.5h', '0'])(
    'When ACCESS_TOKEN_TTL is %p, then config fails naming it',
    (value) => {
      expect(() => loadAuthConfig({ ACCESS_TOKEN_TTL: value })).toThrow(/ACCESS_TOKEN_TTL/);
    },
  );

  it.each([
    ['false', false],
    ['true', true],
    ['1', 1],
    ['loopback, 10.0.0.0/8', 'loopback, 10.0.0.0/8'],
  ])('When TRUST_PROXY is %p, then express gets %p', (value, expected) => {
    expect(loadAuthConfig({ TRUST_PROXY: value }).TRUST_PROXY).toEqual(expected);
  });

  it('When BCRYPT_COST is out of range or JWT_ALGORITHM unknown, then config fails naming the variable', () => {
    expect(() => loadAuthConfig({ BCRYPT_COST: '3' })).toThrow(/BCRYPT_COST/);
    expect(() => loadAuthConfig({ JWT_ALGORITHM: 'HS256' })).toThrow(/JWT_ALGORITHM/);
  });

  it('When both JWT_PRIVATE_KEY and JWT_PRIVATE_KEY_FILE are set, then config fails', () => {
    expect(() => loadAuthConfig({ JWT_PRIVATE_KEY: 'x', JWT_PRIVATE_KEY_FILE: '/k.pem' })).toThrow(
      /not both/,
    );
  });

  it('When config fails on a secret, then the message never contains its value', () => {
    expect(() =>
      loadAuthConfig({
        NODE_ENV: 'production',
        JWT_PRIVATE_KEY: 'super-secret-pem',
        JWT_PRIVATE_KEY_FILE: '/k',
      }),
    ).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('super-secret-pem') }),
    );
  });
});

describe('jwkThumbprint', () => {
  it('When given the RFC 7638 §3.1 example key, then it yields the RFC thumbprint', () => {
    const jwk = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    };
    expect(jwkThumbprint(jwk)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });
});

describe('preHash', () => {
  it('When two long passwords differ only after byte 72, then their pre-hashes differ and fit bcrypt (44 ASCII bytes, no NUL)', () => {
    const a = preHash(`${'x'.repeat(100)}a`);
    const b = preHash(`${'x'.repeat(100)}b`);
    expect(a).not.toBe(b);
    expect(Buffer.byteLength(a)).toBe(44);
    expect(a).not.toContain('\0');
  });
});

describe('login slowdown', () => {
  const slowdown = { after: 3, baseMs: 250, maxMs: 1_000 };

  it.each([
    [0, 0],
    [2, 0],
    [3, 250],
    [4, 500],
    [5, 1_000],
    [40, 1_000],
  ])('When a username had %p earlier attempts, then the wait is %p ms', (earlier, ms) => {
    expect(slowdownDelayMs(earlier, slowdown)).toBe(ms);
  });
});
