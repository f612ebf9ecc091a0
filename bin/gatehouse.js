#!/usr/bin/env node
// A checkout runs the TypeScript sources directly (Node >= 24 strips types), so a stale dist/ from an
// earlier `npm pack` is never run by mistake; an installed package ships no src/ and runs the compiled dist/
// (Node does not strip types inside node_modules).
import { existsSync } from 'node:fs';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`gatehouse: needs Node.js 24 or newer; this is Node.js ${process.versions.node}.\n`
    + '  Install Node.js 24, or run it through npm\'s Node package: npx -p node@24 -p gatehouse-gateway gatehouse --help\n');
  process.exit(1);
}
// SIGUSR1 would open Node's inspector on 127.0.0.1:9229 for any local process allowed to signal the gateway.
// --disable-sigusr1 is refused in NODE_OPTIONS and by Node 20 (so not in the shebang, which would hide the
// message above), so node is run again with it, in place: the same pid, so signals still reach the gateway.
if (!process.execArgv.includes('--disable-sigusr1') && typeof process.execve === 'function') {
  process.execve(process.execPath, [process.execPath, '--disable-sigusr1', ...process.execArgv, ...process.argv.slice(1)]);
}
const source = new URL('../src/main.ts', import.meta.url);
await import(existsSync(source) ? source.href : new URL('../dist/main.js', import.meta.url).href);
