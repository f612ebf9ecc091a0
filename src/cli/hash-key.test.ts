import assert from 'node:assert/strict';
import { it } from 'node:test';
import { newKey } from './hash-key.ts';

it('generates 32-character base64url keys that never start with "-" (it would read as a flag)', () => {
  // Without the rule about 1 key in 64 starts with "-": 2000 keys all but surely include one.
  for (let i = 0; i < 2000; i++) assert.match(newKey(), /^[A-Za-z0-9_][A-Za-z0-9_-]{31}$/);
});
