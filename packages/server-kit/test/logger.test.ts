import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@parley/server-kit';
import { waitFor } from '@parley/testing';

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

describe('createLogDestination', () => {
  it('When a buffered process logs a line and gets SIGTERM, then the line is written before it exits', async () => {
    const marker = randomUUID();
    const child = spawn(
      process.execPath,
      [path.join(__dirname, 'fixtures', 'buffered-log-process.mjs'), marker],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, 'exit');
    await waitFor(() => stderr.includes('ready'), { timeoutMs: 10_000, description: 'fixture up' });
    expect(stdout).toBe(''); // buffered: nothing written while the process runs
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
    const lines = stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { msg: string; marker?: string });
    expect(lines[0]).toMatchObject({ msg: 'logged just before SIGTERM', marker });
    expect(lines.map((l) => l.msg)).toContain('shutdown complete');
  });
});
