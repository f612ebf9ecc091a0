import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileRouter, RouteConflictError } from './router.ts';
import { HTTP_METHODS } from '../fields/http-fields.ts';
import type { RouteConfig } from '../config/schema.ts';

type Match = Partial<RouteConfig['match']>;
const route = (name: string, match: Match) => ({ name, match: { path: '/', exact: false, ...match } as RouteConfig['match'] });

function lookup(routes: ReturnType<typeof route>[], method: string, path: string, host = 'any.test', headers: Record<string, string> = {}) {
  const r = compileRouter(routes).lookup(method, path, host, headers);
  return r.kind === 'found' ? `${r.match.route.name} ${r.match.rest}` : r.kind === 'method_not_allowed' ? `405 ${r.allow}` : '404';
}

describe('router', () => {
  const table = [
    route('users', { path: '/api/users', methods: ['GET', 'POST'] }),
    route('users-v2', { path: '/api/users', headers: { 'X-API-Version': '2' } }),
    route('user', { path: '/api/users/:id', exact: true }),
    route('health', { path: '/health', exact: true }),
    route('tenant', { path: '/api', host: '*.example.com' }),
    route('admin', { path: '/admin', host: 'Admin.Example.com' }),
    route('root', { path: '/', methods: ['GET'] }),
  ];

  it('matches a prefix at segment boundaries only', () => {
    assert.equal(lookup(table, 'GET', '/api/users'), 'users /');
    assert.equal(lookup(table, 'GET', '/api/users/'), 'users /');
    assert.equal(lookup(table, 'GET', '/api/users/42/orders'), 'users /42/orders');
    assert.equal(lookup(table, 'GET', '/api/usersx'), 'root /api/usersx');
  });

  it('prefers a more specific parameter route and keeps exact routes exact', () => {
    assert.equal(lookup(table, 'GET', '/api/users/42'), 'user /');
    assert.equal(lookup(table, 'GET', '/health'), 'health /');
    assert.equal(lookup(table, 'GET', '/health/'), 'health /');
    assert.equal(lookup(table, 'GET', '/health/deep'), 'root /health/deep');
  });

  it('answers 405 with the allowed methods when only the method differs', () => {
    assert.equal(lookup(table, 'DELETE', '/api/users'), '405 GET, POST');
    assert.equal(lookup(table, 'POST', '/elsewhere'), '405 GET');
  });

  it('takes every method a route may list when the route lists none', () => {
    const any = [route('any', { path: '/x' })];
    for (const method of HTTP_METHODS) assert.equal(lookup(any, method, '/x'), 'any /', method);
  });

  it('routes by header value and falls back when the header does not match', () => {
    assert.equal(lookup(table, 'DELETE', '/api/users', 'x', { 'x-api-version': '2' }), 'users-v2 /');
    assert.equal(lookup(table, 'GET', '/api/users', 'x', { 'x-api-version': '3' }), 'users /');
  });

  it('matches hosts case-insensitively, ignoring the port, with wildcard subdomains', () => {
    assert.equal(lookup(table, 'GET', '/admin/x', 'admin.example.com:8443'), 'admin /x');
    assert.equal(lookup(table, 'GET', '/admin/x', 'other.test'), 'root /admin/x');
    assert.equal(lookup(table, 'GET', '/api/z', 'a.example.com'), 'tenant /z');
    assert.equal(lookup(table, 'GET', '/api/z', 'a.b.example.com'), 'tenant /z');
    assert.equal(lookup(table, 'GET', '/api/z', 'example.com'), 'root /api/z');
  });

  it('treats path case as significant', () => {
    assert.equal(lookup(table, 'GET', '/API/users'), 'root /API/users');
  });

  it('returns not found when nothing matches', () => {
    assert.equal(lookup([route('a', { path: '/a' })], 'GET', '/b'), '404');
  });

  it('refuses two routes with the same match, naming both', () => {
    assert.throws(() => compileRouter([route('a', { path: '/x' }), route('b', { path: '/x/' })]),
      (e: unknown) => e instanceof RouteConflictError && e.index === 1 && /"b".*"a"/.test(e.message));
  });
});
