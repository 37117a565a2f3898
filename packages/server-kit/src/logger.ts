// One way to log: pino JSON lines, with credentials redacted wherever they appear in
// the first levels of a log object (headers, bodies, error contexts).
import pino, { type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from './config';

export type Logger = PinoLogger;

export interface LoggerOptions {
  /** The service or component name, the `name` field of every line. */
  name: string;
  level?: LogLevel;
  /** Where lines go; stdout by default. Tests pass a stream to read them back. */
  destination?: DestinationStream;
  /** Extra fields on every line, e.g. `{ instanceId }`. */
  base?: Record<string, unknown>;
}

const SECRET_FIELDS = [
  'password',
  'token',
  'accessToken',
  'refreshToken',
  'authorization',
  'cookie',
];

/** Paths pino redacts: the secret fields at the top level and two levels down, plus headers. */
export const REDACTED_PATHS: readonly string[] = [
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]),
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
];

/** Query parameters that carry credentials (`/ws?token=` is how browsers authenticate a socket). */
const SECRET_QUERY_PARAM =
  /^(token|access_?token|refresh_?token|id_?token|password|secret|api_?key|code)$/i;

/**
 * The URL with the value of every credential-bearing query parameter replaced.
 * Fix (found by e2e/fuzz/test/log-redaction.test.ts): pino-http
 * logged `req.url` verbatim, so `GET /ws?token=<JWT>` put a live access token in the
 * request log; field-path redaction cannot reach inside a string.
 */
export function redactUrl(url: string): string {
  const queryAt = url.indexOf('?');
  if (queryAt < 0) return url;
  const [path, rest] = [url.slice(0, queryAt), url.slice(queryAt + 1)];
  const hashAt = rest.indexOf('#');
  const query = hashAt < 0 ? rest : rest.slice(0, hashAt);
  const redacted = query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq < 0 ? pair : pair.slice(0, eq);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        // a malformed escape: judge the raw name
      }
      return SECRET_QUERY_PARAM.test(name.trim()) ? `${rawName}=[redacted]` : pair;
    })
    .join('&');
  return `${path}?${redacted}`;
}

/** A copy of a query object without the values of credential-bearing parameters. */
export function redactQuery(query: unknown): unknown {
  if (query === null || typeof query !== 'object') return query;
  return Object.fromEntries(
    Object.entries(query as Record<string, unknown>).map(([key, value]) => [
      key,
      SECRET_QUERY_PARAM.test(key) ? '[redacted]' : value,
    ]),
  );
}

export function createLogger(options: LoggerOptions): Logger {
  const pinoOptions: pino.LoggerOptions = {
    name: options.name,
    level: options.level ?? 'info',
    base: { pid: process.pid, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err },
  };
  return options.destination ? pino(pinoOptions, options.destination) : pino(pinoOptions);
}
