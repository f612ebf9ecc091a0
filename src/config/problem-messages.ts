/**
 * Turns zod issues into messages a user can act on: expected vs found, the allowed values of an enum with the
 * closest one suggested, the known keys next to an unknown one. Positions are load.ts's business.
 */
import { z } from 'zod';
import { policyEntryBase, policySettingsSchema } from './policies-schema.ts';
import { configSchema } from './schema.ts';

export type PathSegment = string | number;
export type Issue = z.core.$ZodIssue;

export function issueMessage(issue: Issue, value: unknown): string {
  const got = describeValue(value);
  switch (issue.code) {
    case 'invalid_type': {
      const hint = issue.expected === 'string' && (typeof value === 'number' || typeof value === 'boolean')
        ? ` (quote it: "${String(value)}")` : '';
      return `expected ${typeName(issue.expected)}, got ${got}${hint}`;
    }
    case 'invalid_value': {
      if (issue.values.length === 1) return `must be ${literal(issue.values[0])}, got ${got}`;
      const options = issue.values.map(literal).join(', ');
      const close = typeof value === 'string' ? closest(value, issue.values.map(String)) : undefined;
      return `must be one of ${options}, got ${got}${close ? ` (did you mean "${close}"?)` : ''}`;
    }
    case 'invalid_format':
      return `${issue.message.startsWith('Invalid') ? `invalid ${issue.format}` : issue.message}, got ${got}`;
    case 'too_small':
    case 'too_big':
      return boundMessage(issue, got);
    case 'invalid_union':
      return `expected ${unionAlternatives(issue.errors).join(' or ')}, got ${got}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}, got ${got}`;
    default:
      return issue.message;
  }
}

function boundMessage(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig, got: string): string {
  const small = issue.code === 'too_small';
  const limit = Number(small ? issue.minimum : issue.maximum);
  if (issue.origin === 'array') return `must have ${small ? 'at least' : 'at most'} ${limit} item${limit === 1 ? '' : 's'}`;
  if (issue.origin === 'string') {
    return small && limit === 1 ? 'must not be empty' : `must be ${small ? 'at least' : 'at most'} ${limit} characters long`;
  }
  const op = small ? (issue.inclusive === false ? '>' : '>=') : (issue.inclusive === false ? '<' : '<=');
  return `must be ${op} ${limit}, got ${got}`;
}

function unionAlternatives(branches: Issue[][]): string[] {
  const alternatives = branches.map((issues) => {
    const first = issues[0];
    if (!first) return 'a valid value';
    if (first.code === 'invalid_type') return typeName(first.expected);
    if (first.code === 'invalid_value') return first.values.map(literal).join(' or ');
    if (first.code === 'too_small' || first.code === 'too_big') return `a number ${boundMessage(first, '').replace(/^must be | ?, got $/g, '')}`;
    return first.message;
  });
  return [...new Set(alternatives)];
}

const TYPE_NAMES: Record<string, string> = {
  object: 'a mapping', array: 'a list', string: 'a string', number: 'a number', int: 'an integer',
  boolean: 'true or false', record: 'a mapping',
};

export function typeName(expected: string): string {
  return TYPE_NAMES[expected] ?? expected;
}

function literal(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function describeValue(value: unknown): string {
  if (value === null) return 'an empty value';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return String(value);
}

export function unknownKeyMessage(key: string, known: string[]): string {
  const suggestion = closest(key, known);
  if (suggestion) return `unknown key (did you mean "${suggestion}"?)`;
  return known.length > 0 ? `unknown key (allowed: ${known.join(', ')})` : 'unknown key';
}

/** The candidate within edit distance 2 of `word` (case-insensitive), if one is clearly closest. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The keys the schema accepts for the object at `path` in `data` (empty if it is not an object). */
export function knownKeys(path: readonly PathSegment[], data: unknown): string[] {
  let schema: z.ZodType | undefined = unwrap(configSchema);
  let value = data;
  let policyEntry = false;
  for (const segment of path) {
    value = (value as Record<PathSegment, unknown> | null | undefined)?.[segment];
    if (schema instanceof z.ZodObject) {
      schema = Object.hasOwn(schema.shape, segment) ? (schema.shape as Record<string, z.ZodType>)[segment] : undefined;
    } else if (schema instanceof z.ZodRecord) schema = schema.valueType as z.ZodType;
    else if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
    else return [];
    schema = schema && unwrap(schema);
    policyEntry = schema === policyEntryBase;
    // A policy entry's keys are its type's own: look its schema up by the entry's `type`.
    if (policyEntry) schema = unwrap(policySettingsSchema(value) ?? z.strictObject({}));
  }
  const keys = schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
  return policyEntry ? ['type', ...keys] : keys;
}

function unwrap(schema: z.ZodType): z.ZodType {
  for (let depth = 0; depth < 16; depth++) {
    if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault
      || schema instanceof z.ZodNullable || schema instanceof z.ZodReadonly) schema = schema.unwrap() as z.ZodType;
    else if (schema instanceof z.ZodPipe) schema = schema.in as z.ZodType;
    else break;
  }
  return schema;
}
