// Typing and URL-building for a call through the contracts' route catalogue: the
// options a route takes (params / query / body) and what it answers are read off
// its schemas, so nothing here restates a shape.
import type { ROUTES, RouteName, z } from '@parley/contracts';

type Routes = typeof ROUTES;

/** Query strings carry text; a number is as good as its decimal string. */
type Queryable<T> = { [K in keyof T]: T[K] extends string | undefined ? T[K] | number : T[K] };

type SchemaAt<N extends RouteName, K extends 'params' | 'query' | 'body'> = Routes[N] extends {
  [P in K]: infer S extends z.ZodType;
}
  ? S
  : never;

/** An options slot: required when the input has a required field, optional when none, absent when the route takes none. */
type Slot<K extends string, T> = [T] extends [never]
  ? { [P in K]?: never }
  : object extends T
    ? { [P in K]?: T }
    : { [P in K]: T };

/** The input of one part of a route's request (`params`, `query` or `body`). */
export type RouteInput<N extends RouteName, K extends 'params' | 'query' | 'body'> = [
  SchemaAt<N, K>,
] extends [never]
  ? never
  : K extends 'query'
    ? Queryable<z.input<SchemaAt<N, K>>>
    : z.input<SchemaAt<N, K>>;

export type CallOptions<N extends RouteName> = Slot<'params', RouteInput<N, 'params'>> &
  Slot<'query', RouteInput<N, 'query'>> &
  Slot<'body', RouteInput<N, 'body'>> & {
    /** Aborts the request. */
    signal?: AbortSignal;
  };

/** What a call resolves with: the parsed success body, or nothing for a 204. */
export type CallResult<N extends RouteName> = Routes[N]['success'] extends {
  schema: infer S extends z.ZodType;
}
  ? z.output<S>
  : void;

/** The call's argument list: options may be left out when nothing in them is required. */
export type CallArgs<N extends RouteName> =
  object extends CallOptions<N> ? [options?: CallOptions<N>] : [options: CallOptions<N>];

/** `/chat/rooms/:id` + `{id: 'a b'}` → `/chat/rooms/a%20b`. */
export function fillPath(path: string, params: Readonly<Record<string, unknown>> = {}): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (_match, name: string) => {
    const value = params[name];
    if (value === undefined || value === null || value === '') {
      throw new TypeError(`missing path parameter :${name} for ${path}`);
    }
    return encodeURIComponent(String(value));
  });
}

/** `{after: 5, with: undefined}` → `?after=5`; arrays are joined with commas; '' when empty. */
export function buildQuery(query: Readonly<Record<string, unknown>> = {}): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    search.append(key, Array.isArray(value) ? value.map(String).join(',') : String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

/** Seconds from a `Retry-After` header (delta-seconds or an HTTP date). */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}
