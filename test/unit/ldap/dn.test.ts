import t from 'tap';
import { dnKey, isWithin, parseDn } from '../../../src/ldap/dn.js';

const key = (s: string) => {
  const dn = parseDn(s);
  return dn === undefined ? undefined : dnKey(dn);
};

t.test('normalised for comparison (caseIgnoreMatch, escapes decoded, spaces)', async (t) => {
  t.equal(key('uid=Alice,ou=People,dc=Example,dc=Test'), 'uid=alice,ou=people,dc=example,dc=test');
  t.equal(key('UID = alice , OU=people,  dc=example,dc=test'), key('uid=alice,ou=people,dc=example,dc=test'));
  t.equal(key('cn=a\\2cb,dc=x'), key('cn=a\\,b,dc=x'), 'hex and character escapes');
  t.equal(key('cn=Smith  John,dc=x'), key('cn=smith john,dc=x'), 'runs of spaces count as one');
  t.equal(key('cn=a+sn=b,dc=x'), key('sn=B+cn=A,dc=x'), 'a multi-valued RDN is a set');
  t.equal(key('cn=Müller,dc=x'), key('cn=m\\c3\\bcller,dc=x'), 'UTF-8 escapes');
  t.equal(key('cn=\\ lead,dc=x'), key('cn=lead,dc=x'), 'leading and trailing spaces are insignificant (RFC 4518 §2.6.1), escaped or not');
  t.equal(key('cn=a=b,dc=x'), 'cn=a=b,dc=x', '= needs no escape in a value (RFC 4514)');
  t.equal(key('2.5.4.3=x,dc=y'), '2.5.4.3=x,dc=y', 'numeric OID types');
  t.equal(key('cn=#04024869,dc=x'), 'cn=#04024869,dc=x', 'hex string values');
  t.same(parseDn(''), [], 'the root DSE');
});

t.test('invalid DNs', async (t) => {
  for (const bad of ['not a dn', 'cn', '=x', 'cn=a,', 'cn=a\\', 'cn=a\\zz', 'cn=a"b', 'cn=#0', '1cn=x', 'cn=a,,dc=x']) t.equal(parseDn(bad), undefined, bad);
});

t.test('isWithin: the base itself or below it', async (t) => {
  const base = parseDn('ou=people,dc=example,dc=test')!;
  t.ok(isWithin(parseDn('ou=people,dc=example,dc=test')!, base));
  t.ok(isWithin(parseDn('uid=x,OU=People,dc=example,dc=test')!, base));
  t.notOk(isWithin(parseDn('dc=example,dc=test')!, base), 'a parent is outside');
  t.notOk(isWithin(parseDn('ou=secret,dc=example,dc=test')!, base), 'a sibling');
  t.notOk(isWithin(parseDn('uid=x,ou=people,dc=example,dc=other')!, base));
  t.notOk(isWithin(parseDn('uid=x,ou=people2,dc=example,dc=test')!, base), 'not a string suffix match');
  t.notOk(isWithin(parseDn('ou=people\\,dc\\=example,dc=test')!, base), 'escaped separators are values, not structure');
});
