/**
 * A reader that stops early (`gatehouse schema | head -c 200`) closes the pipe under the CLI: that ends it
 * quietly, with no EPIPE stack trace on stderr.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { mainScript } from '../helpers/start-gateway.ts';

describe('the CLI writing to a pipe that closes early', () => {
  it('exits without a stack trace when the reader goes away', async () => {
    const child = spawn(process.execPath, [mainScript, 'schema'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    // Close our end before the CLI writes: its output hits a closed pipe.
    child.stdout.destroy();
    const [code] = await once(child, 'exit') as [number | null];
    assert.equal(stderr, '', 'nothing on stderr');
    assert.equal(code, 0);
  });
});
