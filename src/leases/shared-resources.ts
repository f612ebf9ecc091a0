/**
 * Resources that policies share by identity across routes and reloads (see shared-registry.ts): a reload
 * that keeps a JWKS URL keeps its cached keys. A resource is closed when its last lease is released.
 */
import { SharedRegistry } from './shared-registry.ts';

export interface Closable {
  close(): void;
}

export class SharedResources extends SharedRegistry<Closable> {
  constructor() {
    super((resource) => resource.close());
  }
}
