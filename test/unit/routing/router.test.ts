import t from 'tap';
import { LOCAL_TARGET, Router, splitRealm, type RouteRequest, type RouteSpec } from '../../../src/routing/router.js';

function route(name: string, spec: Partial<RouteSpec> = {}): RouteSpec {
  return { name, stripRealm: false, auth: `${name}-auth`, accounting: `${name}-acct`, ...spec };
}

function req(userName: string | undefined, more: Partial<RouteRequest> = {}): RouteRequest {
  return { userName, client: 'nas1', clientGroup: undefined, listener: undefined, ...more };
}

t.test('splitRealm', async (t) => {
  t.same(splitRealm('alice@example.org'), { user: 'alice', realm: 'example.org' });
  t.same(splitRealm('a@b@c'), { user: 'a@b', realm: 'c' }, 'the last @ separates the realm');
  t.same(splitRealm('@realm'), { user: '', realm: 'realm' });
  t.same(splitRealm('user@'), { user: 'user', realm: '' });
  t.same(splitRealm('CORP\\bob'), { user: 'bob', realm: 'CORP' });
  t.same(splitRealm('CORP\\bob\\x'), { user: 'bob\\x', realm: 'CORP' }, 'the first backslash separates the domain');
  t.same(splitRealm('CORP\\bob@example.org'), { user: 'CORP\\bob', realm: 'example.org' }, '@ wins over a backslash');
  t.equal(splitRealm('plain'), undefined);
  t.equal(splitRealm(''), undefined);
});

t.test('no routes, or no match: local, route default', async (t) => {
  t.same(new Router([]).auth(req('alice@example.org')), { route: 'default', target: LOCAL_TARGET });
  t.equal(LOCAL_TARGET, 'local');
  const r = new Router([route('corp', { realm: 'corp.example' })]);
  t.same(r.auth(req('alice@other.example')), { route: 'default', target: 'local' });
  t.same(r.accounting(req('alice@other.example')), { route: 'default', target: 'local' });
});

t.test('first match wins', async (t) => {
  const r = new Router([route('one', { realm: 'example.org' }), route('two', { realm: 'example.org' }), route('any', { realm: '*' }), route('all')]);
  t.equal(r.auth(req('a@example.org')).route, 'one');
  t.equal(r.auth(req('a@example.net')).route, 'any');
  t.equal(r.auth(req('a')).route, 'all', 'a route without conditions takes everything left');
  t.equal(r.auth(req(undefined)).route, 'all');
});

t.test('realm: exact and case-insensitive; * any realm; no realm never matches a realm route', async (t) => {
  const r = new Router([route('exact', { realm: 'Example.ORG' }), route('any', { realm: '*' })]);
  t.equal(r.auth(req('a@example.org')).route, 'exact');
  t.equal(r.auth(req('a@EXAMPLE.org')).route, 'exact');
  t.equal(r.auth(req('EXAMPLE.ORG\\a')).route, 'exact', 'DOMAIN\\user form');
  t.equal(r.auth(req('a@sub.example.org')).route, 'any', 'exact, not suffix');
  t.equal(r.auth(req('a@example.org.evil')).route, 'any');
  t.equal(r.auth(req('a')).route, 'default');
  t.equal(r.auth(req(undefined)).route, 'default', 'no User-Name at all');
  t.equal(r.auth(req('a@b@example.org')).route, 'exact', 'the last @ decides');
});

t.test('strip_realm gives the stripped User-Name', async (t) => {
  const r = new Router([
    route('strip', { realm: 'corp', stripRealm: true }),
    route('keep', { realm: 'keep' }),
    route('strip-any', { stripRealm: true }),
  ]);
  t.same(r.auth(req('alice@CORP')), { route: 'strip', target: 'strip-auth', strippedUserName: 'alice' });
  t.same(r.auth(req('CORP\\alice')), { route: 'strip', target: 'strip-auth', strippedUserName: 'alice' });
  t.same(r.auth(req('a@b@corp')), { route: 'strip', target: 'strip-auth', strippedUserName: 'a@b' });
  t.same(r.auth(req('bob@keep')), { route: 'keep', target: 'keep-auth' }, 'no strippedUserName without strip_realm');
  t.same(r.auth(req('carol@elsewhere')), { route: 'strip-any', target: 'strip-any-auth', strippedUserName: 'carol' });
  t.same(r.auth(req('dave')), { route: 'strip-any', target: 'strip-any-auth' }, 'nothing to strip');
  t.same(r.auth(req('@corp')), { route: 'strip', target: 'strip-auth' }, 'an empty User-Name is never sent (RFC 2865 §5.1)');
  t.same(r.accounting(req('alice@corp')), { route: 'strip', target: 'strip-acct', strippedUserName: 'alice' });
});

t.test('client, client_group and listener conditions (all must hold)', async (t) => {
  const r = new Router([
    route('by-client', { client: 'nas2' }),
    route('by-group', { clientGroup: 'wifi' }),
    route('by-listener', { listener: 'vpn' }),
    route('both', { realm: 'corp', client: 'nas3', listener: 'inside' }),
  ]);
  t.equal(r.auth(req('a', { client: 'nas2' })).route, 'by-client');
  t.equal(r.auth(req('a', { client: 'nas1', clientGroup: 'wifi' })).route, 'by-group');
  t.equal(r.auth(req('a', { clientGroup: 'wired' })).route, 'default');
  t.equal(r.auth(req('a', { listener: 'vpn' })).route, 'by-listener');
  t.equal(r.auth(req('a', { listener: 'other' })).route, 'default');
  t.equal(r.auth(req('a@corp', { client: 'nas3', listener: 'inside' })).route, 'both');
  t.equal(r.auth(req('a@corp', { client: 'nas3', listener: 'outside' })).route, 'default', 'listener differs');
  t.equal(r.auth(req('a', { client: 'nas3', listener: 'inside' })).route, 'default', 'realm missing');
  t.equal(r.auth(req('a@corp', { client: 'nas1', listener: 'inside' })).route, 'default', 'client differs');
  t.equal(r.auth(req('a', { client: 'NAS2' })).route, 'default', 'client names are exact');
});

t.test('accounting target is separate from auth', async (t) => {
  const r = new Router([
    { name: 'split', realm: 'corp', stripRealm: false, auth: 'radius-auth', accounting: 'local' },
    { name: 'other', stripRealm: false, auth: 'local', accounting: 'acct-pool' },
  ]);
  t.same(r.auth(req('a@corp')), { route: 'split', target: 'radius-auth' });
  t.same(r.accounting(req('a@corp')), { route: 'split', target: 'local' });
  t.same(r.auth(req('b')), { route: 'other', target: 'local' });
  t.same(r.accounting(req('b')), { route: 'other', target: 'acct-pool' });
});

t.test('the router does not keep state between requests', async (t) => {
  const r = new Router([route('corp', { realm: 'corp', stripRealm: true }), route('rest', { stripRealm: true })]);
  t.same(r.auth(req('a@corp')).strippedUserName, 'a');
  t.same(r.auth(req('b@else')), { route: 'rest', target: 'rest-auth', strippedUserName: 'b' });
  t.same(r.auth(req('c')), { route: 'rest', target: 'rest-auth' });
  t.same(r.auth(req('d@corp')).strippedUserName, 'd');
});
