// The variable of the browser tests (e2e/test/web-client.test.ts, the screenshots),
// parsed like a service's config; the description is what docs/configuration.md shows
// (`pnpm config:docs`).
import { loadConfig } from '@parley/server-kit';
import { z } from 'zod';

export const webKnobsSchema = z.object({
  CHROMIUM_PATH: z
    .string()
    .min(1)
    .default('/usr/bin/chromium')
    .describe(
      "The Chromium playwright-core drives (it cannot download one here: Debian's `chromium` package). Missing, the browser tests are skipped with a note.",
    ),
});

export type WebKnobs = z.output<typeof webKnobsSchema>;

export function loadWebKnobs(): WebKnobs {
  return loadConfig(webKnobsSchema);
}
