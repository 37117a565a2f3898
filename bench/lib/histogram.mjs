// A latency histogram with 1 % wide buckets (log scale from 10 µs), small enough to
// pass between processes and merge by adding counts, precise enough for percentiles.
const FLOOR_MS = 0.01;
const GROWTH = Math.log(1.01);

export function createHistogram() {
  return { counts: {}, n: 0, max: 0, sum: 0 };
}

export function record(hist, ms) {
  const value = Math.max(ms, 0);
  const index = value <= FLOOR_MS ? 0 : Math.ceil(Math.log(value / FLOOR_MS) / GROWTH);
  hist.counts[index] = (hist.counts[index] ?? 0) + 1;
  hist.n += 1;
  hist.sum += value;
  if (value > hist.max) hist.max = value;
}

export function merge(into, from) {
  for (const [index, count] of Object.entries(from.counts)) {
    into.counts[index] = (into.counts[index] ?? 0) + count;
  }
  into.n += from.n;
  into.sum += from.sum;
  into.max = Math.max(into.max, from.max);
  return into;
}

/** The value below which a fraction `q` of the samples lie (bucket upper bound, capped at max). */
export function quantile(hist, q) {
  if (hist.n === 0) return null;
  const target = Math.max(1, Math.ceil(hist.n * q));
  const indexes = Object.keys(hist.counts)
    .map(Number)
    .sort((a, b) => a - b);
  let seen = 0;
  for (const index of indexes) {
    seen += hist.counts[index];
    if (seen >= target) return Math.min(FLOOR_MS * Math.exp(index * GROWTH), hist.max);
  }
  return hist.max;
}

export function summary(hist) {
  const round = (v) => (v === null ? null : Math.round(v * 100) / 100);
  return {
    n: hist.n,
    p50: round(quantile(hist, 0.5)),
    p90: round(quantile(hist, 0.9)),
    p99: round(quantile(hist, 0.99)),
    max: round(hist.n ? hist.max : null),
    mean: round(hist.n ? hist.sum / hist.n : null),
  };
}
