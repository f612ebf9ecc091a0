#!/usr/bin/env node
// Installed packages run the compiled dist/ (Node does not strip types inside node_modules);
// a checkout without dist/ runs the TypeScript sources directly (Node >= 24 strips types).
import { existsSync } from 'node:fs';
const compiled = new URL('../dist/main.js', import.meta.url);
await import(existsSync(compiled) ? compiled.href : new URL('../src/main.ts', import.meta.url).href);
