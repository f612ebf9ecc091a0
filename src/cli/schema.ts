/** `gatehouse schema`: prints the config's JSON Schema (draft-07) for editors; see docs/operations.md. */
import { configJsonSchema } from '../config/json-schema.ts';
import { parseCommand, type CommandSpec } from './args.ts';

export const schemaSpec = {
  name: 'schema',
  summary: 'Print the config\'s JSON Schema (draft-07), for editors.',
  usage: `gatehouse schema
  Prints the config's JSON Schema (draft-07), for editors: see gatehouse.schema.json and docs/operations.md.`,
  options: {},
} as const satisfies CommandSpec;

export function schemaCommand(argv: string[]): number {
  parseCommand(schemaSpec, argv);
  process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  return 0;
}
