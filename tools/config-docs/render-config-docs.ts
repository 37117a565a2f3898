// Turns zod config schemas into the tables of docs/configuration.md and into
// .env.example. A setting's type, default and description are read from the schema's
// JSON Schema (z.toJSONSchema, input side), so what the page says is what the loader
// does. Metadata the schemas may carry for this page only:
//   format      `url` (with `protocols`), `duration`, `size` or `origins` (see FORMATS)
//   unit        shown after an integer's type (`ms`, `bytes`, `s`)
//   defaultText the default in words, where the value is computed (random, derived)
//   group       a heading in .env.example
import { z } from 'zod';

export interface Setting {
  name: string;
  type: string;
  /** Markdown: the default value, its words, `unset` or **required**. */
  defaultText: string;
  /** The literal default, for .env.example; undefined when there is none. */
  defaultValue: string | undefined;
  description: string;
  group: string | undefined;
}

export interface ConfigSection {
  /** The heading; its GitHub anchor is what READMEs link to. */
  title: string;
  /** Markdown shown under the heading. */
  intro: string;
  settings: Setting[];
  /** `flag` names a setting `--name` instead of `NAME`. */
  kind?: 'env' | 'flag';
}

/** The legend of the `format` metadata, shown once at the top of the page. */
export const FORMATS: Record<string, string> = {
  ms: 'whole milliseconds (`2000`)',
  duration: '`900` (seconds), `900s`, `15m`, `12h` or `30d`',
  size: '`100kb`, `1mb`, or a number of bytes',
  origins: 'comma-separated origins (`https://a.example,https://b.example`), or `*` for any',
};

interface JsonField {
  type?: string;
  enum?: unknown[];
  default?: unknown;
  description?: string;
  format?: string;
  protocols?: string[];
  unit?: string;
  defaultText?: string;
  group?: string;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
}

const code = (value: unknown) => `\`${String(value)}\``;
const isBound = (n: number | undefined): n is number =>
  n !== undefined && Math.abs(n) < Number.MAX_SAFE_INTEGER;

function typeOf(field: JsonField): string {
  if (field.enum) return field.enum.map(code).join(', ');
  if (field.format === 'url') {
    const protocols = field.protocols ?? [];
    return protocols.length > 0
      ? `URL (${protocols.map((p) => code(`${p}//`)).join(', ')})`
      : 'URL';
  }
  if (field.format !== undefined) return field.format;
  if (field.type === 'integer' || field.type === 'number') {
    const base = field.unit ?? (field.type === 'integer' ? 'integer' : 'number');
    const { minimum: min, maximum: max } = field;
    if (isBound(max)) return `${base}, ${isBound(min) ? min : '…'}–${max}`;
    if (isBound(min) && min > 0) return `${base} ≥ ${min}`;
    return base;
  }
  if (field.type === 'string' && field.maxLength !== undefined) {
    return `string ≤ ${field.maxLength} chars`;
  }
  return field.type ?? 'string';
}

/** The settings of a z.object schema (or a pipe/refinement of one), in schema order. */
export function settingsOf(schema: z.ZodType): Setting[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, JsonField>;
    required?: string[];
  };
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties ?? {}).map(([name, field]) => {
    if (!field.description) throw new Error(`${name} has no description: give it a .describe()`);
    const literal = field.default === undefined ? undefined : String(field.default);
    let defaultText: string;
    if (field.defaultText !== undefined) defaultText = field.defaultText;
    else if (literal !== undefined) defaultText = literal === '' ? '(empty)' : code(literal);
    else defaultText = required.has(name) ? '**required**' : 'unset';
    return {
      name,
      type: typeOf(field),
      defaultText,
      defaultValue: field.defaultText === undefined ? literal : undefined,
      description: field.description,
      group: field.group,
    };
  });
}

const sameSetting = (a: Setting, b: Setting) =>
  a.type === b.type && a.defaultText === b.defaultText && a.description === b.description;

/**
 * Splits the services' settings into those every service has alike (documented once)
 * and each service's own.
 */
export function splitShared(services: Setting[][]): { shared: Setting[]; own: Setting[][] } {
  const [first = [], ...rest] = services;
  const shared = first.filter((setting) =>
    rest.every((other) => other.some((o) => o.name === setting.name && sameSetting(o, setting))),
  );
  const sharedNames = new Set(shared.map((s) => s.name));
  return { shared, own: services.map((list) => list.filter((s) => !sharedNames.has(s.name))) };
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

export function renderTable(settings: Setting[], kind: 'env' | 'flag' = 'env'): string {
  const head = `| ${kind === 'flag' ? 'flag' : 'variable'} | type | default | description |\n| --- | --- | --- | --- |`;
  const rows = settings.map((s) =>
    [kind === 'flag' ? code(`--${s.name}`) : code(s.name), s.type, s.defaultText, s.description]
      .map(cell)
      .join(' | '),
  );
  return [head, ...rows.map((row) => `| ${row} |`)].join('\n');
}

export interface ConfigPage {
  intro: string;
  sections: ConfigSection[];
  /** Kept as it is, between its markers, at the end of the page. */
  handWritten: string;
}

export const HAND_WRITTEN_START = '<!-- hand-written: start (pnpm config:docs keeps this part) -->';
export const HAND_WRITTEN_END = '<!-- hand-written: end -->';

/** The hand-written part of an existing page, markers included. */
export function handWrittenPart(page: string): string {
  const start = page.indexOf(HAND_WRITTEN_START);
  const end = page.indexOf(HAND_WRITTEN_END);
  if (start === -1 || end < start) {
    throw new Error(`the page has lost its ${HAND_WRITTEN_START} … ${HAND_WRITTEN_END} markers`);
  }
  return page.slice(start, end + HAND_WRITTEN_END.length);
}

export function renderConfigPage(page: ConfigPage): string {
  const sections = page.sections.map((section) =>
    [`## ${section.title}`, section.intro, renderTable(section.settings, section.kind)]
      .filter(Boolean)
      .join('\n\n'),
  );
  return `${[page.intro, ...sections, page.handWritten].join('\n\n')}\n`;
}

function wrapComment(text: string, width = 88): string[] {
  const lines: string[] = [];
  let line = '#';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line.length + 1 + word.length > width && line !== '#') {
      lines.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  if (line !== '#') lines.push(line);
  return lines;
}

/**
 * A dotenv file: the header, then per setting its description and `NAME=default`; a
 * required setting (no default, such as a password) is `NAME=` under a line saying so,
 * to be filled in.
 */
export function renderEnvFile(header: string, settings: Setting[]): string {
  const out = header.split('\n').flatMap((line) => (line === '' ? ['#'] : wrapComment(line)));
  for (const setting of settings) {
    const required = setting.defaultValue === undefined && setting.defaultText === '**required**';
    if (setting.defaultValue === undefined && !required) {
      throw new Error(`${setting.name} has no literal default to put in an env file`);
    }
    if (setting.group !== undefined)
      out.push('', `# --- ${setting.group} ${'-'.repeat(80 - setting.group.length)}`);
    out.push(
      '',
      ...wrapComment(
        required ? `${setting.description} Required: no default.` : setting.description,
      ),
      `${setting.name}=${setting.defaultValue ?? ''}`,
    );
  }
  return `${out.join('\n')}\n`;
}
