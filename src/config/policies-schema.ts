/**
 * A policy entry in the config: `{ type: <policy type>, ...settings }`. The type picks the policy's own
 * strict schema from the registry; its problems are reported at their full path (routes[2].policies[0].maxBytes)
 * like any other config problem.
 */
import { z } from 'zod';
import { policyDefinition, policyTypes } from '../policies/policy-registry.ts';

export interface PolicyEntry {
  readonly type: string;
  readonly [setting: string]: unknown;
}

/** The part every entry shares; the rest is checked against the type's own schema. */
export const policyEntryBase = z.looseObject({
  type: z.enum(policyTypes as [string, ...string[]]).describe('The policy type; see docs/policies.md.'),
});

/** The settings schema of a (raw) policy entry, by its type; for messages about unknown keys. */
export function policySettingsSchema(entry: unknown): z.ZodType | undefined {
  const type = (entry as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? policyDefinition(type)?.schema : undefined;
}

export const policyEntrySchema = policyEntryBase.transform((entry, ctx): PolicyEntry => {
  const { type, ...settings } = entry;
  const parsed = policyDefinition(type)!.schema.safeParse(settings);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue(issue as Parameters<typeof ctx.addIssue>[0]);
    return z.NEVER;
  }
  return { type, ...(parsed.data as object) };
});

export const policyListSchema = z.array(policyEntrySchema).superRefine((entries, ctx) => {
  const seen = new Map<string, number>();
  entries.forEach((entry, i) => {
    const first = seen.get(entry.type);
    if (first !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'type'], message: `a second "${entry.type}" policy in the same list (first at [${first}]); merge them into one` });
    else seen.set(entry.type, i);
  });
});
