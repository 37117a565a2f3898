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
