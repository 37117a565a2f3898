import { backoffDelay } from '../src/backoff';

describe('backoffDelay (full jitter)', () => {
  const opts = { baseMs: 100, maxMs: 2000 };

  it('When random is at its extremes, then the delay spans 0 up to (not past) the ceiling', () => {
    expect(backoffDelay(0, { ...opts, random: () => 0 })).toBe(0);
    expect(backoffDelay(0, { ...opts, random: () => 0.999999 })).toBe(99);
    expect(backoffDelay(3, { ...opts, random: () => 0.999999 })).toBe(799);
  });

  it('When attempts grow, then the ceiling doubles until it is capped at maxMs', () => {
    const top = (attempt: number) => backoffDelay(attempt, { ...opts, random: () => 1 });
    expect([0, 1, 2, 3, 4, 5, 6, 50].map(top)).toEqual([
      100, 200, 400, 800, 1600, 2000, 2000, 2000,
    ]);
  });

  it('When random values are drawn, then every delay lies within [0, ceiling]', () => {
    let state = 42;
    const random = () => ((state = (state * 16807) % 2147483647) - 1) / 2147483646;
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(2000, 100 * 2 ** attempt);
      for (let i = 0; i < 50; i++) {
        const delay = backoffDelay(attempt, { ...opts, random });
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
    }
  });
});
