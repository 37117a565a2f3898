// Loggers for tests: one that says nothing, and one that keeps its lines so a test
// can assert what was (or was not) logged.
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@parley/server-kit';

export function createSilentLogger(name = 'test'): Logger {
  return createLogger({ name, level: 'silent' });
}

export interface CapturingLogger {
  logger: Logger;
  /** Every line written so far, parsed. */
  lines(): Record<string, unknown>[];
}

export function createCapturingLogger(name = 'test'): CapturingLogger {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const logger = createLogger({ name, level: 'trace', destination });
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
