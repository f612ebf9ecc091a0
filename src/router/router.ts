/**
 * The compiled route table: find-my-way (a radix tree) for paths, with host and header conditions as
 * find-my-way constraints so a failed condition backtracks to the next most specific path, never to a 404.
 *
 * Path rules: a route path is a prefix at segment boundaries (`/api` takes `/api`, `/api/`, `/api/x`, never
 * `/apix`); `exact: true` takes the path with or without a trailing slash; `:name` segments are parameters.
 * Hosts compare case-insensitively without the port; `*.example.com` takes one or more labels before it.
 * A router is built per config snapshot and swapped whole on reload.
 */
import FindMyWay from 'find-my-way';
import { HTTP_METHODS } from '../fields/http-fields.ts';

export interface RouteMatch<R> {
  readonly route: R;
  /** The path after the matched prefix, always starting with "/" (what stripPrefix forwards). */
  readonly rest: string;
}

export type LookupResult<R> =
  | { readonly kind: 'found'; readonly match: RouteMatch<R> }
  | { readonly kind: 'method_not_allowed'; readonly allow: string }
  | { readonly kind: 'not_found' };

export interface Router<R> {
  lookup(method: string, path: string, host: string | undefined, headers: Record<string, string | string[] | undefined>): LookupResult<R>;
}

interface Store<R> { route: R; exactRoot: boolean }

// find-my-way compiles constraint names into code, so header constraints are named h0, h1, ... by index.
function headerConstraint(key: string): FindMyWay.ConstraintStrategy<FindMyWay.HTTPVersion.V1, string> {
  return {
    name: key,
    mustMatchWhenDerived: false,
    storage() {
      const handlers = new Map<string, FindMyWay.Handler<FindMyWay.HTTPVersion.V1>>();
      return {
        get: (value) => handlers.get(value) ?? null,
        set: (value, store) => { handlers.set(value, store); },
      };
    },
    // Values are always passed to find() explicitly; nothing is derived from a request object.
    deriveConstraint: () => undefined as unknown as string,
    validate(value: unknown) {
      if (typeof value !== 'string') throw new TypeError('header constraint values are strings');
    },
  };
}

function hostConstraint(host: string): string | RegExp {
  const lower = host.toLowerCase();
  if (!lower.startsWith('*.')) return lower;
  const suffix = lower.slice(1).replaceAll('.', '\\.');
  return new RegExp(`^[^/]+${suffix}$`);
}

/** Problems found while compiling, by route index (e.g. two routes claiming the same match). */
export class RouteConflictError extends Error {
  readonly index: number;
  constructor(index: number, message: string) {
    super(message);
    this.index = index;
  }
}

/** What the router reads of a route: its name and its match conditions (config routes[].match). */
export interface Routable {
  readonly name: string;
  readonly match: {
    readonly host?: string | undefined;
    readonly path: string;
    readonly exact: boolean;
    readonly methods?: readonly string[] | undefined;
    readonly headers?: Readonly<Record<string, string>> | undefined;
  };
}

export function compileRouter<R extends Routable>(routes: readonly R[]): Router<R> {
  const headerNames = [...new Set(routes.flatMap((r) => Object.keys(r.match.headers ?? {}).map((h) => h.toLowerCase())))];
  const headerKeys = headerNames.map((_h, i) => `h${i}`);
  const keyOf = (header: string) => headerKeys[headerNames.indexOf(header.toLowerCase())]!;
  const fmw = FindMyWay({
    caseSensitive: true,
    ignoreTrailingSlash: false,
    ignoreDuplicateSlashes: false,
    maxParamLength: 500,
    constraints: Object.fromEntries(headerKeys.map((key) => [key, headerConstraint(key)])),
  });
  const methodsInUse = new Set<string>();
  const owner = new Map<string, number>();
  routes.forEach((route, index) => {
    const { path, exact, host, headers, methods } = route.match;
    const constraints: Record<string, string | RegExp> = {};
    if (host) constraints.host = hostConstraint(host);
    for (const [name, value] of Object.entries(headers ?? {})) constraints[keyOf(name)] = value;
    const base = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    const patterns = exact ? (base === '/' ? ['/'] : [base, `${base}/`]) : (base === '/' ? ['/*'] : [base, `${base}/`, `${base}/*`]);
    for (const method of methods ?? HTTP_METHODS) {
      methodsInUse.add(method);
      for (const pattern of patterns) {
        const key = `${method} ${pattern} ${JSON.stringify(constraints, (_k, v: unknown) => (v instanceof RegExp ? v.source : v))}`;
        const first = owner.get(key);
        if (first !== undefined) {
          throw new RouteConflictError(index, `route "${route.name}" matches exactly what route "${routes[first]!.name}" matches (${method} ${path})`);
        }
        owner.set(key, index);
        // A static "/x/" pattern beats a sibling ":param" route that would otherwise take it with an empty param.
        const store: Store<R> = { route, exactRoot: !pattern.endsWith('*') };
        fmw.on(method as FindMyWay.HTTPMethod, pattern, { constraints }, noop, store);
      }
    }
  });
  const hasHeaders = headerNames.length > 0;
  // Without a host-matching route the Host header is not looked at (no port stripped, no lower-casing per request).
  const hasHosts = routes.some((route) => route.match.host);

  function find(method: string, path: string, host: string | undefined, headers: Record<string, string | string[] | undefined>) {
    const constraints: Record<string, string | undefined> = { host };
    if (hasHeaders) for (let i = 0; i < headerNames.length; i++) {
      const v = headers[headerNames[i]!];
      constraints[headerKeys[i]!] = typeof v === 'string' ? v : undefined;
    }
    return fmw.find(method as FindMyWay.HTTPMethod, path, constraints);
  }

  return {
    lookup(method, path, rawHost, headers) {
      const host = rawHost === undefined || !hasHosts ? undefined : stripPort(rawHost).toLowerCase();
      const found = find(method, path, host, headers);
      if (found) {
        const store = found.store as Store<R>;
        const wildcard = (found.params as Record<string, string | undefined>)['*'];
        return { kind: 'found', match: { route: store.route, rest: store.exactRoot || wildcard === undefined ? '/' : `/${wildcard}` } };
      }
      const allow = [...methodsInUse].filter((m) => m !== method && find(m, path, host, headers));
      return allow.length ? { kind: 'method_not_allowed', allow: allow.join(', ') } : { kind: 'not_found' };
    },
  };
}

function noop(): void {}

function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}
