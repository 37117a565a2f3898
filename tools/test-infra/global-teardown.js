// Jest global teardown: stops what global-setup.js started (and only that) and
// removes the FerretDB temp data dir. Safe to call twice.
const { spawnSync } = require('node:child_process');
const { rm } = require('node:fs/promises');
const { readInfraEnv } = require('./infra-env.js');

function log(line) {
  process.stderr.write(`[test-infra] ${line}\n`);
}

module.exports = async function globalTeardown() {
  const started = globalThis.__PARLEY_TEST_INFRA__;
  if (!started) return;
  globalThis.__PARLEY_TEST_INFRA__ = undefined;

  const failures = [];
  const attempt = async (what, action) => {
    try {
      await action();
    } catch (err) {
      failures.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  if (started.ferret) await attempt('stop FerretDB', () => started.ferret.stop());
  if (started.ferretDataDir) {
    await attempt('remove FerretDB data', () =>
      rm(started.ferretDataDir, { recursive: true, force: true }),
    );
  }
  for (const container of started.containers)
    await attempt('stop container', () => container.stop());
  if (started.rabbitmqServer && readInfraEnv().PARLEY_KEEP_RABBITMQ !== '1') {
    log('stopping the RabbitMQ started by the test setup (PARLEY_KEEP_RABBITMQ=1 keeps it)');
    await attempt('stop RabbitMQ', () => {
      const result = spawnSync('rabbitmqctl', ['shutdown'], { encoding: 'utf8', timeout: 60_000 });
      if (result.error || result.status !== 0)
        throw new Error(result.error?.message ?? result.stderr);
    });
  }
  if (failures.length > 0) log(`teardown incomplete:\n  ${failures.join('\n  ')}`);
};
