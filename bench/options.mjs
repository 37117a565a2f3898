// `pnpm bench`'s flags as one zod schema: run.mjs derives its argument parser and
// `--help` from it, and docs/configuration.md is generated from it (`pnpm config:docs`).
// The flags whose default depends on --quick have none here; run.mjs picks it.
import { parseArgs } from 'node:util';
import { z } from 'zod';

const count = (min = 1) => z.coerce.number().int().min(min);
const quickDefault = (full, quick) => `${full} (\`--quick\`: ${quick})`;

export const benchOptionsSchema = z.object({
  quick: z
    .boolean()
    .default(false)
    .describe(
      'Smoke run of about 2 minutes: 1 repeat, 2 s steps, ladder factor 2, 200 users, 1,000 sockets.',
    ),
  scenarios: z
    .string()
    .default('chat,fanout,connections,auth,profile')
    .describe(
      'Comma list of the scenarios to run, of `chat`, `fanout`, `connections`, `auth`, `profile` (and `peer`, which `--peer` adds).',
    ),
  peer: z.enum(['centrifugo']).optional().meta({
    description:
      'Also run room fan-out to 200 websocket clients on one instance against this peer, side by side: `centrifugo` (v6.9.1, built with `go install` into ~/.cache/parley-bench when Go is present; skipped with a note when not).',
    defaultText: 'no peer',
  }),
  repeats: count()
    .optional()
    .meta({
      description: 'Repeats per scenario; the report takes medians.',
      defaultText: quickDefault(3, 1),
    }),
  'step-seconds': count()
    .meta({ unit: 's' })
    .optional()
    .meta({ description: 'Length of one paced step.', defaultText: quickDefault(4, 2) }),
  users: count(2)
    .optional()
    .meta({
      description: 'Connected users for chat (in pairs) and fanout; a multiple of 2 × `--workers`.',
      defaultText: quickDefault(1000, 200),
    }),
  connections: count()
    .optional()
    .meta({
      description: 'Idle sockets of the connections scenario.',
      defaultText: quickDefault(10000, 1000),
    }),
  workers: count().default(2).describe('Load-generator processes.'),
  'bcrypt-cost': count(4)
    .max(15)
    .default(12)
    .describe("auth's `BCRYPT_COST` in the login scenario (the production default)."),
  'setup-bcrypt-cost': count(4)
    .max(15)
    .default(4)
    .describe("auth's `BCRYPT_COST` while the bench users are registered (setup, not measured)."),
  'log-level': z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe("The services' `LOG_LEVEL` (as in production; their logs go to files)."),
  address: z
    .enum(['conversation', 'username'])
    .default('conversation')
    .describe(
      '1:1 sends name the peer by `conversationId`, as an open chat does, or by `to: username` (a user lookup per send when the cache has expired).',
    ),
  'mongo-url': z.string().min(1).optional().meta({
    description:
      'A MongoDB server (no database in the URL) for both Parley and raw, instead of starting the FerretDB dev server.',
    defaultText: 'the FerretDB dev server',
  }),
  out: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'Where the results go.', defaultText: '`bench/results`' }),
  'keep-profiles': z
    .boolean()
    .default(false)
    .describe('Also copy the `.cpuprofile` files next to the results.'),
  instances: z
    .string()
    .regex(/^\d+(,\d+)*$/)
    .optional()
    .meta({
      description:
        'Run only the websocket-instances scenario (bench/instances.mjs): `3` runs 1, 2 and 3 instances, `1,4` those counts. CPU per event with no local recipient, per delivery, per idle socket, presence bytes/s, delivered rate.',
      defaultText: 'not run',
    }),
  help: z.boolean().default(false).describe('Print the flags and exit.'),
});

const fields = z.toJSONSchema(benchOptionsSchema, { io: 'input' }).properties ?? {};

/** The flags of `argv`, checked and typed; throws with one line per bad flag. */
export function parseBenchArgs(argv = process.argv.slice(2)) {
  const options = Object.fromEntries(
    Object.entries(fields).map(([name, field]) => [
      name,
      { type: field.type === 'boolean' ? 'boolean' : 'string' },
    ]),
  );
  const { values } = parseArgs({ args: argv, options });
  const result = benchOptionsSchema.safeParse(values);
  if (result.success) return result.data;
  throw new Error(
    result.error.issues.map((issue) => `--${issue.path.join('.')}: ${issue.message}`).join('\n'),
  );
}

/** `--help`: every flag with its description and default. */
export function benchHelp() {
  const lines = Object.entries(fields).map(([name, field]) => {
    const flag = `--${name}${field.type === 'boolean' ? '' : ' VALUE'}`;
    const fallback = field.defaultText ?? (field.default === false ? undefined : field.default);
    const text = `${field.description}${fallback === undefined ? '' : ` Default: ${fallback}.`}`;
    return `  ${flag.padEnd(25)} ${text.replaceAll('`', '')}`;
  });
  return ['usage: node bench/run.mjs [options]   (pnpm bench -- [options])', '', ...lines].join(
    '\n',
  );
}
