// RFC 4516 LDAP URLs as dynamic groups hold them (memberURL), and scope checks.
import t from 'tap';
import { parseDn } from '../../../src/ldap/dn.js';
import { inScope, parseLdapUrl } from '../../../src/ldap/ldap-url.js';

t.test('RFC 4516 §2 defaults: scope base, filter (objectClass=*), DN ""', async (t) => {
  t.same(parseLdapUrl('ldap://'), { ok: true, url: { dn: '', attributes: [], scope: 'base', filter: '(objectClass=*)', extensions: [] } });
  t.same(parseLdapUrl('ldap:///dc=example,dc=test'), { ok: true, url: { dn: 'dc=example,dc=test', attributes: [], scope: 'base', filter: '(objectClass=*)', extensions: [] } });
});

t.test('the parts of a memberURL', async (t) => {
  const r = parseLdapUrl('ldap:///ou=people,dc=example,dc=test?cn,mail?sub?(departmentNumber=42)');
  t.same(r, { ok: true, url: { dn: 'ou=people,dc=example,dc=test', attributes: ['cn', 'mail'], scope: 'sub', filter: '(departmentNumber=42)', extensions: [] } });
  // RFC 4516 §3 examples.
  t.match(parseLdapUrl('ldap://ldap1.example.net/o=University%20of%20Michigan,c=US?postalAddress'), { ok: true, url: { dn: 'o=University of Michigan,c=US', attributes: ['postalAddress'], scope: 'base' } });
  t.match(parseLdapUrl('ldap://ldap1.example.net:6666/o=University%20of%20Michigan,c=US??sub?(cn=Babs%20Jensen)'), { ok: true, url: { scope: 'sub', filter: '(cn=Babs Jensen)' } });
  t.match(parseLdapUrl('LDAP://ldap1.example.com/c=GB?objectClass?ONE'), { ok: true, url: { dn: 'c=GB', scope: 'one' } });
  t.match(parseLdapUrl('ldap://ldap2.example.com/o=Question%3f,c=US?mail'), { ok: true, url: { dn: 'o=Question?,c=US', attributes: ['mail'] } });
  t.match(parseLdapUrl('ldap://ldap3.example.com/o=Babsco,c=US???(four-octet=%5c00%5c00%5c00%5c04)'), { ok: true, url: { filter: '(four-octet=\\00\\00\\00\\04)' } });
  t.match(parseLdapUrl('ldap://ldap.example.com/o=An%20Example%5C2C%20Inc.,c=US'), { ok: true, url: { dn: 'o=An Example\\2C Inc.,c=US' } });
  t.match(parseLdapUrl('ldap:///??sub??!bindname=cn=Manager%2co=Foo'), { ok: true, url: { extensions: [{ critical: true, type: 'bindname', value: 'cn=Manager,o=Foo' }] } });
  t.match(parseLdapUrl('ldap://[2001:db8::7]/c=GB?objectClass?one'), { ok: true, url: { dn: 'c=GB', scope: 'one' } });
});

t.test('what does not parse', async (t) => {
  for (const bad of ['http:///dc=x', 'ldap:///dc=x?a?subtree', 'ldap:///not-a-dn', 'ldap:///dc=x%zz', 'ldap:///dc=x??sub?(a=b)?e?f', 'ldap:///dc=x??sub?%ff%fe']) {
    t.equal(parseLdapUrl(bad).ok, false, bad);
  }
});

t.test('scope', async (t) => {
  const base = parseDn('ou=people,dc=example,dc=test')!;
  const child = parseDn('uid=alice,OU=People,dc=example,dc=test')!;
  const grandchild = parseDn('cn=x,uid=alice,ou=people,dc=example,dc=test')!;
  t.ok(inScope(base, base, 'base'));
  t.notOk(inScope(child, base, 'base'));
  t.ok(inScope(child, base, 'one'));
  t.notOk(inScope(grandchild, base, 'one'));
  t.notOk(inScope(base, base, 'one'));
  t.ok(inScope(grandchild, base, 'sub'));
  t.ok(inScope(base, base, 'sub'));
  t.notOk(inScope(parseDn('uid=bob,ou=other,dc=example,dc=test')!, base, 'sub'));
});
