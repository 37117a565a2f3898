// One way to log: pino JSON lines, with credentials redacted wherever they appear in
// the first levels of a log object (headers, bodies, error contexts). Every line is
// counted (parley_log_lines_total) and, with a flush interval, buffered: a synchronous
// write per line is a system call per line, paid by every request that logs.
import pino, { type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from './config';
import type { Metrics } from './metrics';

export type Logger = PinoLogger;

export interface LoggerOptions {
  /** The service or component name, the `name` field of every line. */
  name: string;
  level?: LogLevel;
  /** Where lines go; stdout by default. Tests pass a stream to read them back. */
  destination?: DestinationStream;
  /** Extra fields on every line, e.g. `{ instanceId }`. */
  base?: Record<string, unknown>;
  /** When given, every line written is counted on `parley_log_lines_total{level}`. */
  metrics?: Pick<Metrics, 'cost'>;
  /**
   * Without a `destination`: stdout through a buffer flushed every this many ms (and
   * whenever 4 KiB have gathered), flushed synchronously when the process exits;
   * 0 or unset writes every line at once (createLogDestination).
   */
  flushIntervalMs?: number;
}

/** Lines gathered before a write even inside the flush interval. */
const BUFFER_BYTES = 4_096;

export interface LogDestination {
  readonly stream: DestinationStream;
  /** Writes whatever is buffered now, synchronously. */
  flushSync(): void;
}

/**
 * stdout (or `fd`) for pino. With `flushIntervalMs` > 0 lines are buffered and
 * written every interval or once 4 KiB have gathered; a clean shutdown ends in
 * process.exit, whose 'exit' hook writes the rest synchronously, so nothing logged
 * before it is lost (a SIGKILL loses at most one interval's lines).
 */
export function createLogDestination(
  options: { flushIntervalMs?: number; fd?: number } = {},
): LogDestination {
  const fd = options.fd ?? 1;
  const interval = options.flushIntervalMs ?? 0;
  if (interval <= 0) {
    const stream = pino.destination({ dest: fd, sync: true });
    return { stream, flushSync: () => undefined };
  }
  const stream = pino.destination({
    dest: fd,
    sync: false,
    minLength: BUFFER_BYTES,
    periodicFlush: interval,
  });
  const flushSync = () => {
    try {
      stream.flushSync();
    } catch {
      // nothing to write, or the descriptor is gone: nothing more can be done at exit
    }
  };
  // the timer is unref'd: it never keeps a process alive, and exit writes the rest
  process.on('exit', flushSync);
  return { stream, flushSync };
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
  const lines = options.metrics?.cost.logLines;
  if (lines) {
    // called only for enabled levels, once per line, by children too
    pinoOptions.hooks = {
      logMethod(args, method, level) {
        lines.inc({ level: this.levels.labels[level] ?? String(level) });
        method.apply(this, args);
      },
    };
  }
  const destination =
    options.destination ??
    (options.flushIntervalMs
      ? createLogDestination({ flushIntervalMs: options.flushIntervalMs }).stream
      : undefined);
  return destination ? pino(pinoOptions, destination) : pino(pinoOptions);
}
