// Which schema documents which part of docs/configuration.md, in page order. A tool
// that starts reading a variable gets a schema beside it and a line here.
import { authEnvSchema } from '../../services/auth/src/config.js';
import { chatEnvSchema } from '../../services/chat/src/config.js';
import { websocketEnvSchema } from '../../services/websocket/src/config.js';
import { webhookWorkerEnvSchema } from '../../services/chat/src/webhooks/worker-config.js';
import { webEnvSchema } from '../../apps/web/serve-env.cjs';
import { benchOptionsSchema } from '../../bench/options.mjs';
import { faultKnobsSchema } from '../../e2e/faults/support/fault-knobs.js';
import { fuzzKnobsSchema } from '../../e2e/fuzz/support/fuzz-knobs.js';
import { webKnobsSchema } from '../../e2e/web/web-knobs.js';
import { infraEnvSchema } from '../../packages/testing/src/infra-env.js';
import { composeEnvSchema } from '../docker/compose-env.js';
import { healthcheckEnvSchema, keygenEnvSchema } from '../docker/script-env.mjs';
import { startEnvSchema } from '../start-env.mjs';
import { settingsOf, splitShared, type ConfigSection } from './render-config-docs.js';

export { composeEnvSchema };

const services = [
  { name: 'auth', schema: authEnvSchema },
  { name: 'chat', schema: chatEnvSchema },
  { name: 'websocket', schema: websocketEnvSchema },
];

const source = (path: string) => `Read by [\`${path}\`](../${path}).`;

export function configSections(): ConfigSection[] {
  const { shared, own } = splitShared(services.map(({ schema }) => settingsOf(schema)));
  return [
    {
      title: 'Shared by the three services',
      intro:
        'From `commonEnv()` and `jwtVerifierEnv()` in [`packages/server-kit/src/config.ts`](../packages/server-kit/src/config.ts): every service reads these alike.',
      settings: shared,
    },
    ...services.map(({ name }, i) => ({
      title: `${name} (\`services/${name}/src/config.ts\`)`,
      intro: 'Plus the [shared ones](#shared-by-the-three-services).',
      settings: own[i] ?? [],
    })),
    {
      title: 'webhook worker (`services/chat/src/webhooks/worker-config.ts`)',
      intro:
        "The delivery worker, a process of its own started from chat's package (`node dist/webhooks/worker-main.js`); it reads the [shared ones](#shared-by-the-three-services) too.",
      settings: settingsOf(webhookWorkerEnvSchema).filter(
        (setting) => !shared.some((s) => s.name === setting.name),
      ),
    },
    {
      title: '`pnpm start` (`tools/start.mjs`)',
      intro: `${source('tools/start-env.mjs')} \`pnpm start\` passes its whole environment on to the services, so every variable above can be given to it; these are the ones it reads or sets itself.`,
      settings: settingsOf(startEnvSchema),
    },
    {
      title: 'Web client (`apps/web/serve.mjs`)',
      intro: `${source('apps/web/serve-env.cjs')} \`node serve.mjs\` in \`apps/web\` and the \`web\` image; \`pnpm start\` sets these from its own variables above.`,
      settings: settingsOf(webEnvSchema),
    },
    {
      title: 'Docker Compose',
      intro:
        '`docker compose up --build` reads these from the shell or from a `.env` file beside `docker-compose.yml` (`cp .env.example .env`); described in [`tools/docker/compose-env.ts`](../tools/docker/compose-env.ts), from which `.env.example` is generated too. The services run there with `NODE_ENV=production` and the signing key from the `keygen` one-shot; see [docker.md](docker.md).',
      settings: settingsOf(composeEnvSchema),
    },
    {
      title: 'Image scripts (`tools/docker`)',
      intro: `${source('tools/docker/script-env.mjs')} The health check every image runs (\`healthcheck.mjs\`):`,
      settings: settingsOf(healthcheckEnvSchema),
    },
    {
      title: 'Key provisioning (`keygen`)',
      intro:
        'The compose `keygen` one-shot, `tools/docker/generate-jwt-key.mjs` (same schema module):',
      settings: settingsOf(keygenEnvSchema),
    },
    {
      title: 'Tests: infrastructure',
      intro: `${source('packages/testing/src/infra-env.ts')} The jest global setup and teardown (see [testing.md](testing.md#how-tests-find-their-infrastructure)).`,
      settings: settingsOf(infraEnvSchema),
    },
    {
      title: 'Tests: fault and soak runs',
      intro: source('e2e/faults/support/fault-knobs.ts'),
      settings: settingsOf(faultKnobsSchema),
    },
    {
      title: 'Tests: fuzzing',
      intro: source('e2e/fuzz/support/fuzz-knobs.ts'),
      settings: settingsOf(fuzzKnobsSchema),
    },
    {
      title: 'Tests: the browser',
      intro: source('e2e/web/web-knobs.ts'),
      settings: settingsOf(webKnobsSchema),
    },
    {
      title: 'Benchmarks (`pnpm bench`)',
      intro: `${source('bench/options.mjs')} Flags, not variables: \`pnpm bench -- --quick\`; the bench takes \`AMQP_URL\` like the tests. See [bench/README.md](../bench/README.md) for the method.`,
      settings: settingsOf(benchOptionsSchema),
      kind: 'flag',
    },
  ];
}
