/**
 * GET /docs: Swagger UI for GET /openapi.json, served from the swagger-ui-dist package's files on this
 * listener (no CDN, so it works offline and leaks nothing). Static files, so no token: "Authorize" in the
 * page takes the bearer token for "Try it out". Only the listed files are served, never a path from the URL.
 * A strict Content-Security-Policy: scripts and styles from this origin only (Swagger UI needs inline styles).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { errorReply, type AdminReply } from '../admin-http.ts';
import type { Resource } from '../resource.ts';

const distDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Gatehouse admin API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, withCredentials: true });\n`;

/** The files served under /docs/, with their types: the package's (read once, then kept) and the page's own. */
const FILES: Readonly<Record<string, { type: string; text?: string }>> = {
  'swagger-ui.css': { type: 'text/css; charset=utf-8' },
  'swagger-ui-bundle.js': { type: 'text/javascript; charset=utf-8' },
  'favicon-32x32.png': { type: 'image/png' },
  'favicon-16x16.png': { type: 'image/png' },
  'init.js': { type: 'text/javascript; charset=utf-8', text: INIT },
};

const cache = new Map<string, Buffer>();

async function file(name: string): Promise<AdminReply | undefined> {
  const spec = FILES[name];
  if (spec === undefined) return undefined;
  let body = cache.get(name);
  if (body === undefined) cache.set(name, body = spec.text === undefined ? await readFile(join(distDir, name)) : Buffer.from(spec.text));
  // The package's files change only with its version: a day in the browser's cache is safe.
  return { status: 200, body, headers: { 'content-type': spec.type, 'cache-control': 'public, max-age=86400' } };
}

const page: AdminReply = { status: 200, body: PAGE, headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': CSP } };

export const docsResources: readonly Resource[] = [
  {
    method: 'GET', path: '/docs', access: 'public', summary: 'Swagger UI for this API (served locally).',
    responses: { 200: { description: 'The page.', contentType: 'text/html' } },
    handle: () => page,
  },
  {
    method: 'GET', path: '/docs/*', access: 'public', summary: 'The docs page\'s files.', hidden: true,
    responses: { 200: { description: 'A file.' } },
    handle: async (req) => (req.path === '/docs/' ? page : await file(req.path.slice('/docs/'.length))) ?? errorReply('route_not_found', req.requestId),
  },
];

