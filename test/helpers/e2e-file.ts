/**
 * The setup most e2e files that spawn gateways share: one echo upstream for the whole file, started before
 * its tests and closed after them, and the gateway the running test spawned, killed after each test whatever
 * the test did.
 */
import { after, afterEach, before } from 'node:test';
import { killIfRunning } from './e2e-process.ts';
import { echo, startUpstream, type FakeUpstream } from './fake-upstream.ts';
import type { SpawnedGateway } from './start-gateway.ts';

/** Registers the hooks; `gateway` reads the file's current gateway. Returns the upstream (started inside tests). */
export function echoUpstreamPerFile(gateway: () => SpawnedGateway | undefined, name = 'u'): () => FakeUpstream {
  let upstream: FakeUpstream | undefined;
  before(async () => {
    upstream = await startUpstream(echo(name));
  });
  afterEach(() => killIfRunning(gateway()?.proc));
  after(async () => {
    await upstream?.close();
  });
  return () => upstream!;
}
