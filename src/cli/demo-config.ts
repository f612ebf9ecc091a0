/** Where the demo's config lives (examples/demo.yaml), for `gatehouse demo` and `gatehouse token`. */
import { fileURLToPath } from 'node:url';

export const demoConfigFile = fileURLToPath(new URL('../../examples/demo.yaml', import.meta.url));
