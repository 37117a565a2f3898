// The variables of the scripts every service image carries (healthcheck.mjs, and
// generate-jwt-key.mjs for the compose `keygen` one-shot), as zod schemas: the scripts
// parse their environment with them, and docs/configuration.md is generated from them
// (`pnpm config:docs`). The image's node_modules provides zod (every service uses it).
import { z } from 'zod';

/** The key type generate-jwt-key.mjs writes for each signing algorithm auth accepts. */
export const KEY_TYPES = { RS256: 'rsa', ES256: 'ec' };

export const healthcheckEnvSchema = z.object({
  PORT: z.coerce
    .number()
    .int()
    .min(1)
    .max(65535)
    .describe("The service's port, called on loopback; the image sets it."),
  HEALTHCHECK_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1)
    .meta({ unit: 'ms' })
    .default(2500)
    .describe('How long the check waits for an answer before it counts as failed.'),
});

export const keygenEnvSchema = z.object({
  JWT_PRIVATE_KEY_FILE: z
    .string()
    .min(1)
    .describe(
      'Where the key is written (or found and kept); compose points it at the `jwt-keys` volume.',
    ),
  JWT_ALGORITHM: z
    .enum(Object.keys(KEY_TYPES))
    .default('RS256')
    .describe('Which key to generate: RSA 2048 for `RS256`, P-256 for `ES256`.'),
});

/** Parses `env` with `schema`, or returns the problems as one line per variable. */
export function parseScriptEnv(schema, env = process.env) {
  const result = schema.safeParse(env);
  return result.success
    ? { settings: result.data }
    : {
        problem: result.error.issues
          .map((issue) => {
            const variable = issue.path.join('.');
            return `${variable}: ${env[variable] === undefined ? 'is not set' : issue.message}`;
          })
          .join('; '),
      };
}
