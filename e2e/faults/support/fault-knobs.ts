// The variables that scale the fault tests, parsed like a service's config; the
// descriptions are what docs/configuration.md shows (`pnpm config:docs`).
import { envVars, loadConfig } from '@parley/server-kit';
import { z } from 'zod';

export const faultKnobsSchema = z.object({
  FAULT_CUT_MS: envVars
    .durationMs(10_000)
    .describe("How long rabbitmq-cut.test.ts cuts every service's link to RabbitMQ."),
  SOAK_SECONDS: envVars
    .int(40, { min: 1, unit: 's' })
    .describe('Chatting time of soak.test.ts; the full run in e2e/faults/README.md uses 300.'),
  SOAK_USERS: envVars.int(200, { min: 10 }).describe('Users in soak.test.ts, in rooms of 10.'),
});

export type FaultKnobs = z.output<typeof faultKnobsSchema>;

export function loadFaultKnobs(): FaultKnobs {
  return loadConfig(faultKnobsSchema);
}
