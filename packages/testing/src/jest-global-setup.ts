// Jest global setup (jest.config.js runs the compiled copy in dist/, outside the test
// sandbox): MONGO_URL (no database; each test file picks its own) and AMQP_URL for the
// workers, found or started by infrastructure.ts, and toxiproxy-dev built for the
// fault tests. What was started is kept for jest-global-teardown.ts.
import { ensureToxiproxyBuilt, provideTestInfrastructure, type Log } from './infrastructure';
import { holdInfrastructure } from './jest-global-teardown';

const log: Log = (line) => process.stderr.write(`[testing] ${line}\n`);

export default async function globalSetup(): Promise<void> {
  const infrastructure = await provideTestInfrastructure({ log });
  holdInfrastructure(infrastructure);
  process.env['MONGO_URL'] = infrastructure.mongoUrl;
  process.env['AMQP_URL'] = infrastructure.amqpUrl;
  // The fault tests (e2e/faults) drive Toxiproxy. Build it here, once and cached, so a
  // cold Go module cache costs the setup a minute instead of timing out a beforeAll.
  await ensureToxiproxyBuilt(log);
}
