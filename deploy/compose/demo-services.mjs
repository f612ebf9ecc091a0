// The demo's services (src/cli/demo-services.ts) on every interface of their container, for compose.yaml:
// the Gatehouse containers reach them as demo:7101 ... demo:7106. Runs from the image's compiled dist/.
// SIGTERM (docker compose stop) closes them and exits 0.
import process from 'node:process';
import { demoServices, startDemoServices } from '/app/dist/cli/demo-services.js';

const stop = await startDemoServices('0.0.0.0');
process.stdout.write(`demo services on ${demoServices.map((s) => `${s.name}:${s.port}`).join(', ')}\n`);
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => void stop().then(() => process.exit(0)));
