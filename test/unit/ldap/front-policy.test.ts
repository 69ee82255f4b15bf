import t from 'tap';
import { parseDn } from '../../../src/ldap/dn.js';
import { checkPasswordChange, checkSubtree, classifySimpleBind, effectiveLimit, isObjectClassPresent } from '../../../src/ldap/front-policy.js';

t.test('RFC 4513 §5.1 kinds of simple bind', async (t) => {
  t.equal(classifySimpleBind('', Buffer.alloc(0)), 'anonymous');
  t.equal(classifySimpleBind('uid=a,dc=x', Buffer.alloc(0)), 'unauthenticated', 'a DN and an empty password never authenticate');
  t.equal(classifySimpleBind('', Buffer.from('pw')), 'no_name');
  t.equal(classifySimpleBind('uid=a,dc=x', Buffer.from('pw')), 'name_password');
});

t.test('limits: the smaller of the client\'s and the listener\'s; 0 from the client means none asked', async (t) => {
  t.equal(effectiveLimit(0, 1000), 1000);
  t.equal(effectiveLimit(10, 1000), 10);
  t.equal(effectiveLimit(5000, 1000), 1000);
});

t.test('subtree check', async (t) => {
  const allowed = ['ou=people,dc=example,dc=test', 'ou=groups,dc=example,dc=test'].map((text) => ({ text, dn: parseDn(text)! }));
  t.match(checkSubtree('uid=a,ou=People,dc=example,dc=test', allowed), { ok: true });
  t.match(checkSubtree('cn=g,ou=groups,dc=example,dc=test', allowed), { ok: true });
  t.same(checkSubtree('dc=example,dc=test', allowed), { ok: false, reason: 'outside' });
  t.same(checkSubtree('', allowed), { ok: false, reason: 'outside' }, 'the root, beyond the root DSE itself');
  t.same(checkSubtree('garbage', allowed), { ok: false, reason: 'invalid_dn' });
});

t.test('the root DSE filter', async (t) => {
  t.ok(isObjectClassPresent(Buffer.concat([Buffer.from([0x87, 11]), Buffer.from('objectclass')])));
  t.ok(isObjectClassPresent(Buffer.concat([Buffer.from([0x87, 11]), Buffer.from('objectClass')])));
  t.notOk(isObjectClassPresent(Buffer.concat([Buffer.from([0x87, 2]), Buffer.from('cn')])));
});

t.test('password change: replace of one\'s own userPassword only', async (t) => {
  const me = parseDn('uid=carol,ou=people,dc=x')!;
  const replace = (type = 'userPassword', values = [Buffer.from('new')]) => [{ operation: 'replace' as const, type, values }];
  t.same(checkPasswordChange('UID=Carol,ou=people,dc=x', replace(), me), { ok: true, value: Buffer.from('new') });
  t.match(checkPasswordChange('uid=carol,ou=people,dc=x', replace(), undefined), { ok: false, message: /bound/ });
  t.match(checkPasswordChange('uid=bob,ou=people,dc=x', replace(), me), { ok: false, message: /own entry/ });
  t.match(checkPasswordChange('uid=carol,ou=people,dc=x', replace('mail'), me), { ok: false });
  t.match(checkPasswordChange('uid=carol,ou=people,dc=x', replace('userPassword', []), me), { ok: false });
  t.match(checkPasswordChange('uid=carol,ou=people,dc=x', replace('userPassword', [Buffer.from('a'), Buffer.from('b')]), me), { ok: false });
  t.match(checkPasswordChange('uid=carol,ou=people,dc=x', [...replace(), ...replace()], me), { ok: false }, 'one change only');
  t.match(checkPasswordChange('uid=carol,ou=people,dc=x', [{ operation: 'add', type: 'userPassword', values: [Buffer.from('x')] }], me), { ok: false });
});
