/**
 * GET /dashboard: the live dashboard, one page with no build step. Its own files are plain HTML, CSS and ES
 * modules under web/dashboard/ (outside src/: they run in the browser, not in Node), and uPlot comes from the
 * installed `uplot` package, all served by this listener: no CDN, so it works offline and leaks nothing.
 * Static files, so no token: the page asks for it and trades it for the session cookie (POST /session) that
 * GET /events accepts. Only the listed files are served, never a path from the URL.
 * A strict Content-Security-Policy: everything from this origin, no inline script or style, no frames.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorReply, type AdminReply } from '../admin-http.ts';
import type { Resource } from '../resource.ts';

/** The page's own files: web/dashboard/ at the package root (the same depth from src/ and from dist/). */
export const dashboardDir = fileURLToPath(new URL('../../../web/dashboard/', import.meta.url));
const uplotDir = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');

export const DASHBOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
  + "font-src 'self'; manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** Every file the page loads, by its name under /dashboard/: where it is read from, and its type. */
export const DASHBOARD_FILES: Readonly<Record<string, { readonly from: string; readonly type: string }>> = {
  'index.html': { from: join(dashboardDir, 'index.html'), type: 'text/html; charset=utf-8' },
  'dashboard.css': { from: join(dashboardDir, 'dashboard.css'), type: CSS },
  'app.js': { from: join(dashboardDir, 'app.js'), type: JS },
  'session.js': { from: join(dashboardDir, 'session.js'), type: JS },
  'history.js': { from: join(dashboardDir, 'history.js'), type: JS },
  'charts.js': { from: join(dashboardDir, 'charts.js'), type: JS },
  'view.js': { from: join(dashboardDir, 'view.js'), type: JS },
  'format.js': { from: join(dashboardDir, 'format.js'), type: JS },
  'icon.svg': { from: join(dashboardDir, 'icon.svg'), type: 'image/svg+xml' },
  'uPlot.esm.js': { from: join(uplotDir, 'uPlot.esm.js'), type: JS },
  'uPlot.min.css': { from: join(uplotDir, 'uPlot.min.css'), type: CSS },
};

const cache = new Map<string, Buffer>();

async function file(name: string): Promise<AdminReply | undefined> {
  const spec = Object.hasOwn(DASHBOARD_FILES, name) ? DASHBOARD_FILES[name] : undefined;
  if (spec === undefined) return undefined;
  let body = cache.get(name);
  // Read once, then kept: the files change only with the package's version (a restart).
  if (body === undefined) cache.set(name, body = await readFile(spec.from));
  const headers: Record<string, string> = { 'content-type': spec.type, 'cache-control': 'no-cache' };
  if (spec.type.startsWith('text/html')) Object.assign(headers, { 'content-security-policy': DASHBOARD_CSP, 'referrer-policy': 'no-referrer' });
  return { status: 200, body, headers };
}

export const dashboardResources: readonly Resource[] = [
  {
    method: 'GET', path: '/dashboard', access: 'public', summary: 'The live dashboard (served locally; it asks for the token).',
    description: 'Traffic, latency percentiles, errors, targets and alerts, updated every second from GET /events.',
    responses: { 200: { description: 'The page.', contentType: 'text/html' } },
    handle: async (req) => (await file('index.html')) ?? errorReply('route_not_found', req.requestId),
  },
  {
    method: 'GET', path: '/dashboard/*', access: 'public', summary: 'The dashboard\'s files.', hidden: true,
    responses: { 200: { description: 'A file.' } },
    handle: async (req) => (await file(req.path === '/dashboard/' ? 'index.html' : req.path.slice('/dashboard/'.length))) ?? errorReply('route_not_found', req.requestId),
  },
];
