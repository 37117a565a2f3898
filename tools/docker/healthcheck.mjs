// The Docker HEALTHCHECK of every Parley service image: the slim Node images carry no
// curl or wget, so Node itself asks the service's readiness endpoint on loopback.
//
//   node healthcheck.mjs [path]      path defaults to /readyz; the port is $PORT
// (its variables: script-env.mjs)
//
// Exit 0 when the endpoint answers 2xx within the timeout, 1 otherwise (Docker's
// "unhealthy"). /readyz is 503 while a dependency (MongoDB, RabbitMQ) does not answer,
// which is what `depends_on: condition: service_healthy` should wait for.
import { healthcheckEnvSchema, parseScriptEnv } from './script-env.mjs';

const path = process.argv[2] ?? '/readyz';
const { settings, problem } = parseScriptEnv(healthcheckEnvSchema);
if (!settings) {
  process.stderr.write(`healthcheck: ${problem}\n`);
  process.exit(1);
}

try {
  const res = await fetch(`http://127.0.0.1:${settings.PORT}${path}`, {
    signal: AbortSignal.timeout(settings.HEALTHCHECK_TIMEOUT_MS),
  });
  process.stdout.write(`${path} ${res.status}\n`);
  process.exit(res.ok ? 0 : 1);
} catch (err) {
  process.stderr.write(
    `${path} unreachable: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
}
