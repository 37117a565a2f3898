import { buildQuery, fillPath } from '../src/route-request';
import { parseRetryAfter } from '../src/route-request';

describe('fillPath', () => {
  it('When a path has parameters, then each is filled and URL-encoded', () => {
    expect(fillPath('/chat/rooms/:id/join', { id: 'a b/c' })).toBe('/chat/rooms/a%20b%2Fc/join');
    expect(fillPath('/chat/messages/:id/reactions/:emoji', { id: 'm1', emoji: '👍' })).toBe(
      '/chat/messages/m1/reactions/%F0%9F%91%8D',
    );
  });

  it('When a path has no parameters, then it is unchanged', () => {
    expect(fillPath('/.well-known/jwks.json')).toBe('/.well-known/jwks.json');
  });

  it('When a parameter is missing or empty, then it throws instead of calling a wrong URL', () => {
    expect(() => fillPath('/chat/rooms/:id', {})).toThrow(/missing path parameter :id/);
    expect(() => fillPath('/chat/rooms/:id', { id: '' })).toThrow(/:id/);
  });
});

describe('buildQuery', () => {
  it('When values are numbers, arrays or undefined, then they are stringified, joined or left out', () => {
    expect(buildQuery({ conversationId: 'c 1', after: 5, before: undefined, limit: 100 })).toBe(
      '?conversationId=c+1&after=5&limit=100',
    );
    expect(buildQuery({ ids: ['a', 'b'] })).toBe('?ids=a%2Cb');
  });

  it('When nothing is given, then the query is empty', () => {
    expect(buildQuery({})).toBe('');
    expect(buildQuery()).toBe('');
  });
});

describe('parseRetryAfter', () => {
  it('When Retry-After is seconds or an HTTP date, then seconds are returned', () => {
    const now = Date.UTC(2025, 0, 1, 0, 0, 0);
    expect(parseRetryAfter('7', now)).toBe(7);
    expect(parseRetryAfter(new Date(now + 3000).toUTCString(), now)).toBe(3);
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});
