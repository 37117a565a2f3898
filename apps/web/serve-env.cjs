// The variables serve.mjs reads, as a zod schema: serve.mjs parses its environment
// with it, `pnpm start` (tools/start-env.mjs) and the compose schema
// (tools/docker/compose-env.ts) reuse its fields, and docs/configuration.md is
// generated from it (`pnpm config:docs`). CommonJS, so that the jest-loaded compose
// schema can require it as well as serve.mjs import it.
const { z } = require('zod');

const port = () => z.coerce.number().int().min(0).max(65535);

/** An http(s) URL, as the app's config.json takes it (it ignores anything else). */
function serviceUrl(service, defaultPort, note = '') {
  return z
    .string()
    .refine((value) => {
      try {
        return ['http:', 'https:'].includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, 'must be a URL starting with http:// or https://')
    .optional()
    .meta({
      format: 'url',
      protocols: ['http:', 'https:'],
      description: `Where the browser finds ${service}${note}, written into the app's \`config.json\`. Unset: the page's own host at port ${defaultPort}.`,
    });
}

const webEnvSchema = z.object({
  WEB_PORT: port()
    .optional()
    .meta({ description: 'Port it listens on.', defaultText: '`PORT`, else `8080`' }),
  PORT: port()
    .optional()
    .describe(
      'Read when `WEB_PORT` is unset: the image sets `PORT=8080`, which its health check calls too.',
    ),
  HOST: z
    .string()
    .min(1)
    .default('127.0.0.1')
    .describe('Address it listens on; the image sets `0.0.0.0`.'),
  PARLEY_AUTH_URL: serviceUrl('auth', 5001),
  PARLEY_CHAT_URL: serviceUrl('chat', 5002),
  PARLEY_WEBSOCKET_URL: serviceUrl('websocket', 5003, ' (the socket is its `/ws`)'),
});

/**
 * serve.mjs' settings, WEB_PORT resolved (WEB_PORT, PORT, 8080); an empty variable
 * counts as unset, as compose passes the URLs it was not given.
 */
function readWebEnv(env = process.env) {
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const result = webEnvSchema.safeParse(set);
  if (!result.success) throw new Error(`invalid environment:\n${z.prettifyError(result.error)}`);
  const { WEB_PORT, PORT, ...rest } = result.data;
  return { ...rest, WEB_PORT: WEB_PORT ?? PORT ?? 8080 };
}

module.exports = { webEnvSchema, readWebEnv };
