/**
 * Loads a config: YAML text -> environment interpolation -> schema validation (defaults applied) -> deep freeze.
 * A bad config never throws: every mistake becomes a ConfigProblem naming the YAML file:line:col and the key
 * path, and all of them are reported together. YAML errors stop before validation (the tree is unreliable
 * then); interpolation and schema problems are reported side by side, minus schema noise about a value whose
 * variable was missing. Interpolation runs on parsed scalar values, never on keys or raw text, so a variable's
 * value cannot inject YAML structure; an unquoted scalar that becomes a number or boolean is typed as one.
 */
import { readFile } from 'node:fs/promises';
import {
  isMap, isPair, isScalar, isSeq, isAlias, LineCounter, parseDocument, visit, Scalar,
  type Document, type Node, type Pair, type YAMLError,
} from 'yaml';
import { issueMessage, knownKeys, typeName, unknownKeyMessage, type Issue, type PathSegment } from './problem-messages.ts';
import { configSchema, referenceIssues, type Config } from './schema.ts';
import { compileRouter, RouteConflictError } from '../router/router.ts';

export interface ConfigProblem {
  file: string;
  line: number;
  col: number;
  /** Key path such as `routes[1].upstream`; empty for the whole file. */
  path: string;
  message: string;
}

export type LoadResult = { ok: true; config: Config } | { ok: false; problems: ConfigProblem[] };

/** `FILE:LINE:COL path.to.key: message`, or `FILE:LINE:COL message` for the whole file. */
export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.col} ${p.path ? `${p.path}: ` : ''}${p.message}`;
}

export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { ok: false, problems: [{ file, line: 1, col: 1, path: '', message: readErrorMessage(err) }] };
  }
  return loadConfigText(text, file, env);
}

export function loadConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problem = (offset: number, path: readonly PathSegment[], message: string): ConfigProblem => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, col, path: formatPath(path), message };
  };
  const fail = (problems: ConfigProblem[]): LoadResult => ({ ok: false, problems: sortProblems(problems) });

  const yamlProblems = [...doc.errors, ...doc.warnings].map((e) => yamlProblem(doc, text, e, problem));
  if (doc.errors.length > 0) return fail(yamlProblems);
  if (doc.contents === null) {
    return fail([...yamlProblems, problem(0, [], 'config is empty: expected a mapping with at least "upstreams" and "routes"')]);
  }
  if (!isMap(doc.contents)) {
    const got = isSeq(doc.contents) ? 'a list' : 'a single value';
    return fail([...yamlProblems, problem(0, [], `config must be a mapping of keys (listen, upstreams, routes, ...), got ${got}`)]);
  }

  const envProblems = interpolateDocument(doc, env, problem);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return fail([...yamlProblems, ...envProblems, problem(0, [], `cannot read YAML: ${(err as Error).message}`)]);
  }
  const parsed = configSchema.safeParse(data);
  const envPaths = new Set(envProblems.map((p) => p.path));
  const schemaProblems = parsed.success ? [] : parsed.error.issues
    .flatMap((issue) => issueProblems(issue, doc, data, problem))
    .filter((p) => !envPaths.has(p.path));
  const referenceProblems = parsed.success ? [] : referenceIssues(data)
    .map((issue) => problem(locate(doc, issue.path, 'value'), issue.path, issue.message))
    .filter((p) => !envPaths.has(p.path) && !schemaProblems.some((s) => s.path === p.path));
  const problems = [...yamlProblems, ...envProblems, ...schemaProblems, ...referenceProblems];
  if (problems.length > 0 || !parsed.success) return fail(problems);
  const conflict = routeConflict(parsed.data);
  if (conflict) return fail([problem(locate(doc, ['routes', conflict.index, 'match'], 'value'), ['routes', conflict.index, 'match'], conflict.message)]);
  return { ok: true, config: deepFreeze(parsed.data) };
}

/** Two routes that claim exactly the same requests are a config error, found by compiling the router once. */
function routeConflict(config: Config): RouteConflictError | undefined {
  try {
    compileRouter(config.routes);
    return undefined;
  } catch (error) {
    if (error instanceof RouteConflictError) return error;
    throw error;
  }
}

type MakeProblem = (offset: number, path: readonly PathSegment[], message: string) => ConfigProblem;

function readErrorMessage(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'cannot read config: no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'cannot read config: permission denied';
  if (code === 'EISDIR') return 'cannot read config: it is a directory, not a file';
  return `cannot read config: ${(err as Error).message}`;
}

function yamlProblem(doc: Document, text: string, e: YAMLError, problem: MakeProblem): ConfigProblem {
  if (e.code === 'DUPLICATE_KEY') {
    const found = pairWithKeyAt(doc, e.pos[0]);
    const key = found ? String(found.key) : text.slice(e.pos[0], e.pos[1]);
    return problem(e.pos[0], found?.path ?? [], `duplicate key "${key}" (a key may appear only once in a mapping)`);
  }
  return problem(e.pos[0], [], `YAML: ${e.message}`);
}

function pairWithKeyAt(doc: Document, offset: number): { key: unknown; path: PathSegment[] } | undefined {
  let found: { key: unknown; path: PathSegment[] } | undefined;
  visit(doc, {
    Pair(_, pair, ancestors) {
      if (!isScalar(pair.key) || pair.key.range?.[0] !== offset) return undefined;
      found = { key: pair.key.value, path: [...nodePath(ancestors, pair), String(pair.key.value)] };
      return visit.BREAK;
    },
  });
  return found;
}

/** The key path of `node`, given its ancestors from the Document down (as yaml's visit() passes them). */
function nodePath(ancestors: readonly unknown[], node: unknown): PathSegment[] {
  const chain = [...ancestors, node];
  const path: PathSegment[] = [];
  for (let i = 0; i < chain.length - 1; i++) {
    const parent = chain[i];
    if (isPair(parent) && isScalar(parent.key)) path.push(String(parent.key.value));
    else if (isSeq(parent)) path.push(parent.items.indexOf(chain[i + 1]));
  }
  return path;
}

const REFERENCE = /\$\$\{|\$\{([^}]*)(\})?/g;
const NAME_AND_DEFAULT = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;
const YAML_NUMBER = /^[-+]?(?:\.\d+|\d+(?:\.\d*)?)(?:[eE][-+]?\d+)?$/;
const YAML_BOOLEAN = /^(?:true|True|TRUE|false|False|FALSE)$/;

/** Replaces ${NAME}, ${NAME:-default} and $${ in every string value in place; returns the problems. */
function interpolateDocument(doc: Document, env: NodeJS.ProcessEnv, problem: MakeProblem): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  visit(doc, {
    Scalar(key, node, ancestors) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('$')) return;
      const { value, substituted, errors } = interpolate(node.value, env);
      const path = nodePath(ancestors, node);
      for (const message of errors) problems.push(problem(node.range?.[0] ?? 0, path, message));
      node.value = substituted && node.type === Scalar.PLAIN ? retype(value) : value;
    },
  });
  return problems;
}

/** Interpolates one string; `substituted` tells whether any variable (not only an escape) was replaced. */
function interpolate(text: string, env: NodeJS.ProcessEnv): { value: string; substituted: boolean; errors: string[] } {
  const errors: string[] = [];
  let substituted = false;
  const value = text.replace(REFERENCE, (match, inner: string | undefined, close: string | undefined) => {
    if (match === '$${') return '${';
    if (close === undefined) {
      errors.push('unterminated "${" (write "$${" for a literal "${")');
      return match;
    }
    const ref = NAME_AND_DEFAULT.exec(inner ?? '');
    if (!ref) {
      errors.push(`invalid variable reference "${match}": use \${NAME} or \${NAME:-default}`);
      return match;
    }
    const [, name, fallback] = ref as unknown as [string, string, string | undefined];
    const set = env[name];
    substituted = true;
    // Shell semantics: ":-" also replaces a variable that is set but empty.
    if (set !== undefined && (set !== '' || fallback === undefined)) return set;
    if (fallback !== undefined) return fallback;
    errors.push(`environment variable ${name} is not set (use \${${name}:-default} to give a default)`);
    return match;
  });
  return { value, substituted, errors };
}

/** An unquoted `port: ${PORT}` should type like `port: 8080` would have. */
function retype(value: string): string | number | boolean {
  if (YAML_NUMBER.test(value)) return Number(value);
  if (YAML_BOOLEAN.test(value)) return value.toLowerCase() === 'true';
  return value;
}

function issueProblems(issue: Issue, doc: Document, data: unknown, problem: MakeProblem): ConfigProblem[] {
  const path = issue.path.map((s): PathSegment => (typeof s === 'number' ? s : String(s)));
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(path, data);
    return issue.keys.map((key) => problem(locate(doc, [...path, key], 'key'), [...path, key], unknownKeyMessage(key, known)));
  }
  if (issue.code === 'invalid_key') {
    const reason = issue.issues.map((i) => i.message).join('; ') || issue.message;
    return [problem(locate(doc, path, 'key'), path, `invalid key "${String(path.at(-1))}": ${reason}`)];
  }
  if (issue.code === 'invalid_union') {
    // A value of the right kind for exactly one branch (a mapping for `false | {...}`) has that branch's problems.
    const inside = issue.errors.filter((branch) => branch.length > 0 && branch.every((i) => i.path.length > 0));
    if (inside.length === 1) return inside[0]!.flatMap((i) => issueProblems({ ...i, path: [...issue.path, ...i.path] } as Issue, doc, data, problem));
  }
  const value = valueAt(data, path);
  if (issue.code === 'invalid_type' && value === undefined && path.length > 0) {
    return [problem(locate(doc, path.slice(0, -1), 'value'), path, `missing required key (expected ${typeName(issue.expected)})`)];
  }
  return [problem(locate(doc, path, 'value'), path, issueMessage(issue, value))];
}

function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let value = data;
  for (const segment of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, segment)) return undefined;
    value = (value as Record<PathSegment, unknown>)[segment];
  }
  return value;
}

/**
 * Offset of the deepest YAML node along `path`. `want: 'key'` points at the last key itself (unknown keys,
 * bad record keys); an empty value points at its key, since the empty value's own position is after the colon.
 */
function locate(doc: Document, path: readonly PathSegment[], want: 'key' | 'value'): number {
  let node: unknown = doc.contents;
  for (const [i, segment] of path.entries()) {
    if (isAlias(node)) node = node.resolve(doc);
    let next: unknown;
    if (isMap(node)) {
      const pair = (node.items as Pair[]).find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      const isEmpty = pair.value === null || (isScalar(pair.value) && pair.value.value === null);
      next = (want === 'key' && i === path.length - 1) || isEmpty ? pair.key : pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
    }
    if (next === undefined || next === null) break;
    node = next;
  }
  return (node as Node | null)?.range?.[0] ?? 0;
}

function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return problems.sort((a, b) => a.line - b.line || a.col - b.col);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
