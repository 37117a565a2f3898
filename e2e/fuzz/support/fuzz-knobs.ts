// The variables that widen or replay the fuzz run, parsed like a service's config; the
// descriptions are what docs/configuration.md shows (`pnpm config:docs`).
import { envVars, loadConfig } from '@parley/server-kit';
import { z } from 'zod';

export const fuzzKnobsSchema = z.object({
  FUZZ_RUNS: envVars.int(12, { min: 1 }).describe('Generated hostile requests per REST route.'),
  FUZZ_WS_RUNS: envVars
    .int(40, { min: 1 })
    .describe('Generated hostile WebSocket frame sequences.'),
  FUZZ_SEED: z.coerce
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .optional()
    .meta({
      description:
        "fast-check's seed of the REST property, to replay a failed run (fast-check prints the seed it used).",
      defaultText: 'a new one per run',
    }),
});

export type FuzzKnobs = z.output<typeof fuzzKnobsSchema>;

export function loadFuzzKnobs(): FuzzKnobs {
  return loadConfig(fuzzKnobsSchema);
}
