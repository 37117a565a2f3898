import { Writable } from 'node:stream';
import { createLogger } from '@parley/server-kit';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { lines, destination };
}

describe('createLogger', () => {
  it('When credentials are logged, then they are redacted at any of the first levels', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ name: 'auth', level: 'info', destination });

    logger.info(
      {
        password: 'p4ssw0rd!',
        body: { refreshToken: 'rt-secret', username: 'alice' },
        tokens: { accessToken: 'at-secret', nested: { token: 't-secret' } },
        req: { headers: { authorization: 'Bearer abc.def', cookie: 'sid=1', host: 'x' } },
      },
      'login',
    );

    const text = JSON.stringify(lines);
    for (const secret of [
      'p4ssw0rd!',
      'rt-secret',
      'at-secret',
      't-secret',
      'Bearer abc.def',
      'sid=1',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(lines[0]).toMatchObject({
      level: 'info',
      name: 'auth',
      msg: 'login',
      body: { username: 'alice', refreshToken: '[redacted]' },
      req: { headers: { host: 'x', authorization: '[redacted]' } },
    });
  });

  it('When a child logger is made, then its bindings appear on its lines and levels filter', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ name: 'chat', level: 'warn', destination });

    logger.child({ component: 'outbox' }).warn('retrying');
    logger.info('not shown');

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      component: 'outbox',
      name: 'chat',
      msg: 'retrying',
      level: 'warn',
    });
    expect(typeof lines[0]?.['time']).toBe('string');
  });
});
