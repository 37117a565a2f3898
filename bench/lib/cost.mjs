// What one message costs, from the counters each process exports on /metrics: MongoDB
// commands (driver command monitoring), AMQP publishes, confirms, deliveries and acks,
// read before and after a step and divided by what the step did. The names are the
// ones every Parley service exports (parley_mongo_commands_total, parley_amqp_*_total);
// the raw pipeline exports the same names, so both sides are counted alike. A counter
// a process does not export is `null` (shown as n/a), never 0.

export const COST_COUNTERS = {
  mongo: 'parley_mongo_commands_total',
  publishes: 'parley_amqp_publishes_total',
  confirms: 'parley_amqp_confirms_total',
  deliveries: 'parley_amqp_deliveries_total',
  acks: 'parley_amqp_acks_total',
};

/** Prometheus text → name → [{labels, value}] (comments and histograms' buckets kept as series). */
export function parseMetrics(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const [, name, labelText = '', valueText] = match;
    const labels = {};
    for (const [, key, value] of labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[key] = value;
    if (!out.has(name)) out.set(name, []);
    out.get(name).push({ labels, value: Number(valueText) });
  }
  return out;
}

/** Every process's /metrics at once; a process that does not answer maps to null. */
export async function scrapeAll(urlsByName) {
  const entries = await Promise.all(
    Object.entries(urlsByName).map(async ([name, url]) => {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
        return [name, res.ok ? parseMetrics(await res.text()) : null];
      } catch {
        return [name, null];
      }
    }),
  );
  return Object.fromEntries(entries);
}

/** The change of one counter between two scrapes, summed over label sets matching `where`. */
function delta(before, after, name, where = () => true) {
  const series = after?.get(name);
  if (!series) return null;
  const key = (labels) => JSON.stringify(labels);
  const start = new Map((before?.get(name) ?? []).map((s) => [key(s.labels), s.value]));
  return series
    .filter((s) => where(s.labels))
    .reduce((sum, s) => sum + s.value - (start.get(key(s.labels)) ?? 0), 0);
}

/** Mongo commands by `command collection`, for the report's breakdown (largest first). */
function mongoBreakdown(before, after, per) {
  const series = after?.get(COST_COUNTERS.mongo) ?? [];
  const rows = [];
  for (const s of series) {
    const d = delta(
      before,
      after,
      COST_COUNTERS.mongo,
      (labels) => labels.command === s.labels.command && labels.collection === s.labels.collection,
    );
    if (d > 0)
      rows.push({ command: s.labels.command, collection: s.labels.collection, per: d / per });
  }
  return rows.sort((a, b) => b.per - a.per).map((r) => ({ ...r, per: round(r.per, 3) }));
}

const round = (value, digits = 2) =>
  value === null || !Number.isFinite(value)
    ? null
    : Math.round(value * 10 ** digits) / 10 ** digits;
const div = (a, b) => (a === null || a === undefined || !b ? null : a / b);
const sumOrNull = (...values) =>
  values.every((v) => v === null) ? null : values.reduce((s, v) => s + (v ?? 0), 0);

/**
 * One step's cost. `sides` names the process playing each role on this side:
 * { store: 'chat' | 'raw-http', push: 'websocket' | 'raw-ws' }. `messages` is the
 * accepted sends (each one event on the bus), `deliveries` the frames that reached a
 * socket; `processes` the step's CPU samples.
 */
export function stepCost({ before, after, sides, messages, deliveries, processes }) {
  const store = sides.store;
  const push = sides.push;
  const d = (proc, counter) => delta(before[proc], after[proc], COST_COUNTERS[counter]);
  const mongo = d(store, 'mongo');
  const publishes = d(store, 'publishes');
  const confirms = d(store, 'confirms');
  const deliveriesIn = d(push, 'deliveries');
  const acks = d(push, 'acks');
  const frames = sumOrNull(publishes, confirms, deliveriesIn, acks);
  return {
    messages,
    deliveries,
    mongoCommandsPerSend: round(div(mongo, messages), 3),
    mongoByCommand:
      mongo === null || !messages ? [] : mongoBreakdown(before[store], after[store], messages),
    amqpPublishesPerEvent: round(div(publishes, messages), 3),
    amqpConfirmsPerEvent: round(div(confirms, messages), 3),
    amqpDeliveriesPerEvent: round(div(deliveriesIn, messages), 3),
    amqpAcksPerEvent: round(div(acks, messages), 3),
    // a publish, its confirm, the delivery to each consuming instance and its ack: the
    // round trips one event costs on the broker connection (null: not exported)
    amqpFramesPerEvent:
      publishes === null || acks === null ? null : round(div(frames, messages), 3),
    storeCpuUsPerSend: round(div(processes[store]?.cpuMs * 1000, messages), 0),
    pushCpuUsPerDelivery: round(div(processes[push]?.cpuMs * 1000, deliveries), 1),
  };
}
