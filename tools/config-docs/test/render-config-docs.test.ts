// The generator of docs/configuration.md and .env.example: what a schema becomes on
// the page, and that the schemas it reads can be loaded without touching the env.
import { z } from 'zod';
import type * as AuthConfig from '../../../services/auth/src/config';
import type * as ChatConfig from '../../../services/chat/src/config';
import type * as WebsocketConfig from '../../../services/websocket/src/config';
import type * as FaultKnobs from '../../../e2e/faults/support/fault-knobs';
import type * as FuzzKnobs from '../../../e2e/fuzz/support/fuzz-knobs';
import type * as WebKnobs from '../../../e2e/web/web-knobs';
import type * as ComposeEnv from '../../docker/compose-env';
import {
  HAND_WRITTEN_END,
  HAND_WRITTEN_START,
  handWrittenPart,
  renderEnvFile,
  renderTable,
  settingsOf,
  splitShared,
} from '../render-config-docs';

describe('settingsOf', () => {
  it('When a variable is described, then its row carries its type, range, unit, default and description', () => {
    const schema = z.object({
      TIMEOUT_MS: z.coerce
        .number()
        .int()
        .min(0)
        .meta({ unit: 'ms' })
        .default(500)
        .describe('Wait.'),
      COST: z.coerce.number().int().min(4).max(15).default(12).describe('Work factor.'),
      MODE: z.enum(['a', 'b']).default('a').describe('Mode.'),
    });

    const [timeout, cost, mode] = settingsOf(schema);

    expect(timeout).toMatchObject({ type: 'ms', defaultText: '`500`', description: 'Wait.' });
    expect(cost).toMatchObject({ type: 'integer, 4–15', defaultText: '`12`', defaultValue: '12' });
    expect(mode).toMatchObject({ type: '`a`, `b`', defaultText: '`a`' });
  });

  it('When a default is computed or absent, then the page says so in words instead of a value', () => {
    const schema = z
      .object({
        ID: z
          .string()
          .default(() => `id-${Math.random()}`)
          .meta({ description: 'Name.', defaultText: 'random per start' }),
        KEY: z.string().describe('Key.'),
        HOOK: z.string().optional().describe('Hook.'),
      })
      .transform((env) => env);

    const [id, key, hook] = settingsOf(schema);

    expect(id).toMatchObject({ defaultText: 'random per start', defaultValue: undefined });
    expect(key?.defaultText).toBe('**required**');
    expect(hook?.defaultText).toBe('unset');
  });

  it('When a variable has no description, then the schema is refused with its name', () => {
    const schema = z.object({ SILENT: z.string().default('x') });

    expect(() => settingsOf(schema)).toThrow(/SILENT has no description/);
  });
});

describe('splitShared', () => {
  it('When every service has a variable alike, then it is shared; a different default keeps it per service', () => {
    const common = { HOST: z.string().default('0.0.0.0').describe('Address.') };
    const a = settingsOf(
      z.object({ ...common, PORT: z.coerce.number().default(1).describe('Port.') }),
    );
    const b = settingsOf(
      z.object({ ...common, PORT: z.coerce.number().default(2).describe('Port.') }),
    );

    const { shared, own } = splitShared([a, b]);

    expect(shared.map((s) => s.name)).toEqual(['HOST']);
    expect(own.map((list) => list.map((s) => s.name))).toEqual([['PORT'], ['PORT']]);
  });
});

describe('renderTable', () => {
  it('When a description holds a pipe, then it is escaped so the table keeps its columns', () => {
    const settings = settingsOf(z.object({ X: z.string().default('1').describe('a | b') }));

    expect(renderTable(settings)).toContain('| `X` | string | `1` | a \\| b |');
  });
});

describe('renderEnvFile', () => {
  it('When settings have groups, then the file has a heading per group and NAME=default lines', () => {
    const settings = settingsOf(
      z.object({
        A: z.string().default('x').meta({ group: 'First', description: 'The a.' }),
        B: z.coerce.number().default(2).describe('The b.'),
      }),
    );

    const text = renderEnvFile('Header.', settings);

    expect(text).toMatch(/^# Header\.\n\n# --- First -+\n\n# The a\.\nA=x\n\n# The b\.\nB=2\n$/);
  });

  it('When a setting is required (a password), then its line is left empty and says it is required', () => {
    const settings = settingsOf(z.object({ SECRET: z.string().min(1).describe('The secret.') }));

    expect(renderEnvFile('Header.', settings)).toBe(
      '# Header.\n\n# The secret. Required: no default.\nSECRET=\n',
    );
  });

  it('When a setting has no literal default, then no env file is written for it', () => {
    const settings = settingsOf(z.object({ A: z.string().optional().describe('The a.') }));

    expect(() => renderEnvFile('Header.', settings)).toThrow(/A has no literal default/);
  });
});

describe('handWrittenPart', () => {
  it('When the page has the markers, then the part between them is kept, markers included', () => {
    const part = `${HAND_WRITTEN_START}\n\nkept text\n\n${HAND_WRITTEN_END}`;

    expect(handWrittenPart(`generated\n\n${part}\n`)).toBe(part);
  });

  it('When the markers are gone, then the generator stops instead of dropping the part', () => {
    expect(() => handWrittenPart('# Configuration\n')).toThrow(/lost its/);
  });
});

describe('the documented schemas', () => {
  it('When the config modules are imported, then none of the variables they document is read', () => {
    const original = process.env;
    const read = new Set<string>();
    process.env = new Proxy(
      { ...original },
      {
        get(target, key) {
          if (typeof key === 'string') read.add(key);
          return Reflect.get(target, key);
        },
      },
    );
    const schemas: z.ZodType[] = [];
    const load = <T extends object>(path: string): T => jest.requireActual<T>(path);
    try {
      jest.isolateModules(() => {
        schemas.push(
          load<typeof AuthConfig>('../../../services/auth/src/config').authEnvSchema,
          load<typeof ChatConfig>('../../../services/chat/src/config').chatEnvSchema,
          load<typeof WebsocketConfig>('../../../services/websocket/src/config').websocketEnvSchema,
          load<typeof FaultKnobs>('../../../e2e/faults/support/fault-knobs').faultKnobsSchema,
          load<typeof FuzzKnobs>('../../../e2e/fuzz/support/fuzz-knobs').fuzzKnobsSchema,
          load<typeof WebKnobs>('../../../e2e/web/web-knobs').webKnobsSchema,
          load<typeof ComposeEnv>('../../docker/compose-env').composeEnvSchema,
        );
      });
    } finally {
      process.env = original;
    }

    const documented = schemas.flatMap((schema) => settingsOf(schema).map((s) => s.name));
    expect(documented.length).toBeGreaterThan(60);
    expect(documented.filter((name) => read.has(name))).toEqual([]);
  });
});
