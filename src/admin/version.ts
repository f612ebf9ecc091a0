/** The package version, as GET /status and GET /openapi.json report it. */
import { readFileSync } from 'node:fs';

export const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
