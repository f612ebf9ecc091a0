#!/usr/bin/env node
// A checkout runs the TypeScript sources directly (Node >= 24 strips types), so a stale dist/ from an
// earlier `npm pack` is never run by mistake; an installed package ships no src/ and runs the compiled dist/
// (Node does not strip types inside node_modules).
//
// Signals: whoever started this process (a shell, a supervisor, a container runtime, npm) signals THIS PID,
// so the gateway must run in it. It runs in-process; when Node must be started with flags it was not given,
// the process replaces itself (process.execve keeps the PID) instead of spawning a child that a SIGTERM
// to this PID would orphan.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Flags every Gatehouse process runs with (cluster workers inherit process.execArgv). They cannot go in the
 * shebang (Node 20 would refuse them before the message below) nor in NODE_OPTIONS (which refuses some).
 * --disable-sigusr1: SIGUSR1 would open Node's inspector on 127.0.0.1:9229 for any local process allowed to
 * signal the gateway.
 */
const nodeFlags = ['--disable-sigusr1'];

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`gatehouse: needs Node.js 24 or newer; this is Node.js ${process.versions.node} (${process.execPath}).\n`
    + '  Put a Node.js 24 first on PATH, or from a clone run it through npm (npm ci installs Node 24 for the npm scripts): npx gatehouse --help\n');
  process.exit(1);
}
const source = new URL('../src/main.ts', import.meta.url);
const entry = existsSync(source) ? source : new URL('../dist/main.js', import.meta.url);
const missing = nodeFlags.filter((flag) => !process.execArgv.includes(flag));
if (missing.length > 0) {
  const argv = [process.execPath, ...process.execArgv, ...missing, fileURLToPath(entry), ...process.argv.slice(2)];
  process.execve(process.execPath, argv, process.env);
}
await import(entry.href);
