import { z } from 'zod';
import {
  ConfigError,
  commonEnv,
  envVars,
  jwtVerifierEnv,
  loadConfig,
  metricsEnv,
  resolveCorsOrigins,
  splitUrlList,
} from '@parley/server-kit';

const schema = z.object({
  ...commonEnv(),
  ...jwtVerifierEnv(),
  PORT: envVars.port(5002),
  MONGO_URL: envVars.mongoUrl(),
  AMQP_URL: envVars.amqpUrl(),
});

describe('loadConfig', () => {
  it('When no variable is set, then every common variable gets its documented default', () => {
    const config = loadConfig(schema, {});

    expect(config).toEqual({
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      HOST: '0.0.0.0',
      CORS_ORIGINS: undefined,
      SHUTDOWN_TIMEOUT_MS: 10_000,
      BODY_LIMIT: '100kb',
      REQUEST_DEADLINE_MS: 1_500,
      HTTP_HEADERS_TIMEOUT_MS: 10_000,
      HTTP_REQUEST_TIMEOUT_MS: 30_000,
      HTTP_KEEP_ALIVE_TIMEOUT_MS: 5_000,
      JWKS_URL: 'http://127.0.0.1:5001/.well-known/jwks.json',
      JWT_ISSUER: 'parley-auth',
      JWT_AUDIENCE: 'parley',
      PORT: 5002,
      MONGO_URL: 'mongodb://127.0.0.1:27017/parley',
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
    });
  });

  it('When variables are set, then they are coerced to their types and empty strings count as unset', () => {
    const config = loadConfig(schema, {
      PORT: '8080',
      NODE_ENV: 'production',
      CORS_ORIGINS: 'https://a.example, https://b.example',
      LOG_LEVEL: '',
    });

    expect(config.PORT).toBe(8080);
    expect(config.NODE_ENV).toBe('production');
    expect(config.CORS_ORIGINS).toEqual(['https://a.example', 'https://b.example']);
    expect(config.LOG_LEVEL).toBe('info');
  });

  it("When AMQP_URL names a cluster's nodes, then each is checked and splitUrlList gives them in order", () => {
    const nodes = ' amqp://u:p@rabbit-1:5672, amqp://u:p@rabbit-2:5672 ,amqps://u:p@rabbit-3:5671';

    expect(loadConfig(schema, { AMQP_URL: nodes }).AMQP_URL).toBe(nodes);
    expect(splitUrlList(nodes)).toEqual([
      'amqp://u:p@rabbit-1:5672',
      'amqp://u:p@rabbit-2:5672',
      'amqps://u:p@rabbit-3:5671',
    ]);
    for (const bad of ['amqp://rabbit-1,http://rabbit-2', ' , ', 'amqp://rabbit-1,not a url'])
      expect(() => loadConfig(schema, { AMQP_URL: bad })).toThrow(/AMQP_URL/);
  });

  it('When several variables are bad, then the ConfigError names each of them', () => {
    const act = () =>
      loadConfig(schema, { PORT: 'eighty', NODE_ENV: 'staging', MONGO_URL: 'http://x' });

    expect(act).toThrow(ConfigError);
    try {
      act();
    } catch (err) {
      const variables = (err as ConfigError).issues.map((i) => i.variable).sort();
      expect(variables).toEqual(['MONGO_URL', 'NODE_ENV', 'PORT']);
      expect((err as ConfigError).message).toMatch(
        /NODE_ENV: must be one of "development", "test", "production"/,
      );
    }
  });

  it('When a required secret is missing or invalid, then the error names it but never prints its value', () => {
    const secretSchema = z.object({ SIGNING_KEY: envVars.secret(), AMQP_URL: envVars.amqpUrl() });

    expect(() => loadConfig(secretSchema, {})).toThrow(/SIGNING_KEY: is required but not set/);
    let message = '';
    try {
      loadConfig(secretSchema, { SIGNING_KEY: 'k', AMQP_URL: 'mqtt://guest:hunter2-secret@host' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/AMQP_URL/);
    expect(message).not.toContain('hunter2-secret');
  });

  it('When booleans and sizes are given, then they parse the documented spellings', () => {
    const s = z.object({ FLAG: envVars.boolean(false), BODY_LIMIT: envVars.bodyLimit() });

    expect(loadConfig(s, { FLAG: 'yes', BODY_LIMIT: '1mb' })).toEqual({
      FLAG: true,
      BODY_LIMIT: '1mb',
    });
    expect(() => loadConfig(s, { BODY_LIMIT: 'lots' })).toThrow(/BODY_LIMIT/);
  });
});

describe('resolveCorsOrigins', () => {
  it('When CORS_ORIGINS is unset, then development allows every origin and production none', () => {
    expect(resolveCorsOrigins(undefined, 'development')).toBe('*');
    expect(resolveCorsOrigins(undefined, 'production')).toEqual([]);
    expect(resolveCorsOrigins(['https://a.example'], 'development')).toEqual(['https://a.example']);
  });
});

describe('metricsEnv', () => {
  const metricsSchema = z.object(metricsEnv(9102));

  it('When nothing is set, then /metrics listens on the service default port, on loopback only', () => {
    expect(loadConfig(metricsSchema, {})).toEqual({
      METRICS_PORT: 9102,
      METRICS_HOST: '127.0.0.1',
    });
  });

  it('When METRICS_PORT is not a port, then the ConfigError names it', () => {
    expect(() => loadConfig(metricsSchema, { METRICS_PORT: '70000' })).toThrow(/METRICS_PORT/);
  });
});
