import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { adminServerPerFile, fakeAdmin, TOKEN } from '../../../test/helpers/admin-state.ts';
import { DASHBOARD_FILES, dashboardDir } from './dashboard.ts';

let base: string;
adminServerPerFile(fakeAdmin().state, { token: TOKEN }, (url) => { base = url; });

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml',
};

/** The local URLs a file asks the browser to load: src/href attributes, ES module imports, CSS url(). */
function references(name: string, text: string): string[] {
  if (name.endsWith('.html')) return [...text.matchAll(/\s(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  if (name.endsWith('.js')) return [...text.matchAll(/^\s*import\s[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
  if (name.endsWith('.css')) return [...text.matchAll(/url\(\s*['"]?([^'")]+)/g)].map((m) => m[1]!).filter((u) => !u.startsWith('data:'));
  return [];
}

/** Remote URLs anywhere in a file: an SVG namespace is a name, not a request. */
function remoteUrls(text: string): string[] {
  return [...text.matchAll(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s'"`)]*/gi)].map((m) => m[0]).filter((u) => !/\/\/www\.w3\.org\//.test(u));
}

describe('GET /dashboard', () => {
  it('serves the page without a token, with a strict Content-Security-Policy', async () => {
    for (const path of ['/dashboard', '/dashboard/']) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('content-type'), TYPES.html);
      const csp = res.headers.get('content-security-policy')!;
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self';/, 'no inline script, no remote script');
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
      assert.match(await res.text(), /<title>Gatehouse dashboard<\/title>/);
    }
  });

  it('serves every file the page loads with its content type, following the references from the page', async () => {
    const seen = new Set<string>();
    const queue = ['/dashboard'];
    for (let i = 0; i < queue.length && i < 50; i++) {
      const path = queue[i]!;
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 200, path);
      const name = path === '/dashboard' ? 'index.html' : path.slice('/dashboard/'.length);
      const ext = name.split('.').pop()!;
      assert.equal(res.headers.get('content-type'), TYPES[ext], `${path} is served as ${TYPES[ext]}`);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      const text = await res.text();
      assert.ok(text.length > 0, path);
      seen.add(name);
      for (const ref of references(name, text)) {
        assert.match(ref, /^\/dashboard\/[\w.-]+$/, `${path} references ${ref}: a local absolute path`);
        if (!queue.includes(ref)) queue.push(ref);
      }
    }
    for (const name of ['app.js', 'charts.js', 'uPlot.esm.js', 'uPlot.min.css', 'dashboard.css']) assert.ok(seen.has(name), `${name} is loaded`);
    assert.deepEqual([...seen].sort(), Object.keys(DASHBOARD_FILES).sort(), 'every listed file is used, and every used file is listed');
  });

  it('lists every file of web/dashboard/, and none of them names a remote URL', async () => {
    const own = readdirSync(dashboardDir).sort();
    assert.deepEqual(own, Object.keys(DASHBOARD_FILES).filter((n) => !n.startsWith('uPlot')).sort());
    for (const name of Object.keys(DASHBOARD_FILES)) {
      const text = await (await fetch(`${base}/dashboard/${name}`)).text();
      if (name.startsWith('uPlot')) {
        assert.deepEqual(references(name, text).filter((u) => /^(https?:)?\/\//.test(u)), [], `${name} loads nothing remote`);
      } else {
        assert.deepEqual(remoteUrls(text), [], `${name} names no remote URL`);
      }
    }
  });

  it('serves only the listed files', async () => {
    for (const path of ['/dashboard/package.json', '/dashboard/..%2fpackage.json', '/dashboard/constructor', '/dashboard/sub/app.js']) {
      assert.equal((await fetch(`${base}${path}`)).status, 404, path);
    }
  });
});
