import { z } from 'zod';
import { MongoNetworkError, MongoServerSelectionError } from 'mongodb';
import {
  ConflictError,
  DependencyUnavailableError,
  ForbiddenError,
  HttpError,
  NotFoundError,
  RateLimitedError,
  ValidationError,
  isDependencyFailure,
  toHttpError,
  problemFromHttpError,
} from '@parley/server-kit';

describe('typed errors', () => {
  it('When an error is built with a contract code, then its status comes from the contract table', () => {
    expect(new NotFoundError('No such user', { code: 'user_not_found' })).toMatchObject({
      code: 'user_not_found',
      status: 404,
      detail: 'No such user',
    });
    expect(new ForbiddenError('Not in this conversation', { code: 'not_a_member' }).status).toBe(
      403,
    );
    expect(new ConflictError('Taken').code).toBe('username_taken');
    expect(new ConflictError('Taken').status).toBe(409);
  });

  it('When a RateLimitedError is built, then it carries a whole-second Retry-After', () => {
    const err = new RateLimitedError(2.2);

    expect(err.status).toBe(429);
    expect(err.headers['Retry-After']).toBe('3');
  });

  it('When a ZodError is converted, then issues become dotted paths and unknown keys are named', () => {
    const schema = z.strictObject({
      user: z.strictObject({ name: z.string().min(3) }),
      tags: z.array(z.string()),
    });
    const result = schema.safeParse({ user: { name: 'x' }, tags: ['ok', 5], extra: true });
    if (result.success) throw new Error('expected a failure');

    const err = ValidationError.fromZod(result.error, 'body');

    expect(err.code).toBe('validation_failed');
    expect(err.detail).toBe('The request body is not valid');
    expect(err.errors).toEqual(
      expect.arrayContaining([
        { path: 'user.name', message: expect.any(String) },
        { path: 'tags.1', message: expect.any(String) },
        { path: 'extra', message: 'Unknown field' },
      ]),
    );
  });
});

describe('isDependencyFailure', () => {
  it('When MongoDB cannot be reached, then its errors count as a dependency failure', () => {
    expect(isDependencyFailure(new MongoNetworkError('connect ECONNREFUSED'))).toBe(true);
    expect(
      isDependencyFailure(
        new MongoServerSelectionError('Server selection timed out', {
          type: 'Unknown',
          servers: new Map(),
          stale: false,
          compatible: true,
          heartbeatFrequencyMS: 10000,
          localThresholdMS: 15,
          setName: null,
          maxElectionId: null,
          maxSetVersion: null,
          commonWireVersion: 0,
          logicalSessionTimeoutMinutes: null,
        } as never),
      ),
    ).toBe(true);
  });

  it('When an amqplib channel is closed or the failure is wrapped, then it is still recognised', () => {
    const closed = Object.assign(new Error('Channel closed'), { name: 'IllegalOperationError' });

    expect(isDependencyFailure(closed)).toBe(true);
    expect(isDependencyFailure(new Error('outbox flush failed', { cause: closed }))).toBe(true);
  });

  it('When the driver surfaces a raw socket error (a link cut under it), then it is a dependency failure', () => {
    const epipe = Object.assign(new Error('This socket has been ended by the other party'), {
      code: 'EPIPE',
    });

    expect(isDependencyFailure(epipe)).toBe(true);
    expect(toHttpError(epipe).code).toBe('dependency_unavailable');
    expect(
      isDependencyFailure(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })),
    ).toBe(true);
    // a file-system error is a bug here, not a dependency going away
    expect(isDependencyFailure(Object.assign(new Error('no such file'), { code: 'ENOENT' }))).toBe(
      false,
    );
  });

  it('When the error is a plain bug, then it is not a dependency failure', () => {
    expect(isDependencyFailure(new TypeError('x is undefined'))).toBe(false);
    expect(isDependencyFailure('a string')).toBe(false);
  });
});

describe('toHttpError and problem rendering', () => {
  it('When an unknown error is classified, then it becomes internal with a generic detail', () => {
    const err = toHttpError(new Error('secret table users_v2 is corrupt'));

    expect(err.code).toBe('internal');
    expect(err.detail).not.toMatch(/users_v2/);
  });

  it('When a dependency failure is classified, then it becomes a 503 dependency_unavailable', () => {
    expect(toHttpError(new MongoNetworkError('boom'))).toBeInstanceOf(DependencyUnavailableError);
  });

  it('When a typed error is rendered, then the body has the problem fields and the headers travel along', () => {
    const problem = problemFromHttpError(new RateLimitedError(5, 'Slow down'));

    expect(problem).toEqual({
      status: 429,
      headers: { 'Retry-After': '5' },
      body: {
        type: 'https://parley.dev/problems/rate-limited',
        title: 'Too many requests',
        status: 429,
        detail: 'Slow down',
        code: 'rate_limited',
      },
    });
    expect(new HttpError('internal', 'x')).toBeInstanceOf(Error);
  });
});
