// Login and /auth/me throughput against a running auth instance (default bcrypt cost
// unless the instance was started otherwise). Node builtins only.
//
//   node services/auth/bench/throughput.mjs [baseUrl=http://127.0.0.1:5001] [seconds=10] [concurrency=8]
//
// Creates one user (registrations count against the per-IP limit: 1 per run) and
// logs in with the right password, so the failed-login limiter never trips.
const [baseUrl = 'http://127.0.0.1:5001', secondsArg = '10', concurrencyArg = '8'] =
  process.argv.slice(2);
const seconds = Number(secondsArg);
const concurrency = Number(concurrencyArg);
const username = `bench_${Date.now().toString(36)}`;
const password = 'benchmark password 123';

async function post(path, body) {
  const res = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

async function run(name, once) {
  const latencies = [];
  let errors = 0;
  const deadline = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        const started = performance.now();
        const ok = await once().catch(() => false);
        latencies.push(performance.now() - started);
        if (!ok) errors++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const pct = (p) =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]?.toFixed(1);
  process.stdout.write(
    `${name}: ${(latencies.length / seconds).toFixed(1)} req/s over ${seconds}s, concurrency ${concurrency}, ` +
      `p50 ${pct(0.5)} ms, p95 ${pct(0.95)} ms, p99 ${pct(0.99)} ms, errors ${errors}\n`,
  );
}

const registered = await post('/auth/register', { username, password });
if (registered.status !== 201)
  throw new Error(`register failed: ${registered.status} ${JSON.stringify(registered.body)}`);
const { accessToken } = (await post('/auth/login', { username, password })).body;

await run(
  'POST /auth/login',
  async () => (await post('/auth/login', { username, password })).status === 200,
);
await run('GET /auth/me', async () => {
  const res = await fetch(`${baseUrl}/auth/me`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  await res.arrayBuffer();
  return res.status === 200;
});
