/** `gatehouse schema`: prints the config's JSON Schema (draft-07) for editors; see docs/operations.md. */
import { configJsonSchema } from '../config/json-schema.ts';
import { parse } from './args.ts';

export const schemaUsage = `gatehouse schema
  Prints the config's JSON Schema (draft-07), for editors: see gatehouse.schema.json and docs/operations.md.`;

export function schemaCommand(argv: string[]): number {
  parse(argv, {});
  process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  return 0;
}
