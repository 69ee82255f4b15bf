// Role mapping rules: order, first match, continue, conditions; Windows domain stripping.
import t from 'tap';
import { stripWindowsDomain } from '../../../src/auth/ldap-backend.js';
import { compileRoles, evaluateRoles } from '../../../src/auth/roles.js';
import { resolveAttribute } from '../../../src/radius/attributes.js';
import { loadDictionary } from '../../../src/radius/builtin-dictionary.js';

const dict = loadDictionary([]);
const reply = (name: string, value: string | number) => [resolveAttribute(dict, name, value)];
const ADMINS = 'cn=admins,ou=groups,dc=example,dc=test';
const STAFF = 'cn=staff,ou=groups,dc=example,dc=test';

const rules = compileRoles([
  { name: 'admins', groups: [ADMINS], reply: reply('Filter-Id', 'admins'), continue: false },
  { name: 'it-staff', groups: [STAFF], attributes: { departmentNumber: ['IT', 'ops'] }, reply: reply('Filter-Id', 'it'), continue: false },
  { name: 'staff', groups: [STAFF], reply: reply('Filter-Id', 'staff'), continue: true },
  { name: 'everyone', reply: reply('Session-Timeout', 3600), continue: false },
  { name: 'never', reply: reply('Reply-Message', 'x'), continue: false },
]);
const names = (groups: string[], attributes: Record<string, string[]> = {}) => evaluateRoles(rules, { groups, attributes }).roles;

t.test('in order; the first match ends it unless continue', async (t) => {
  t.same(names([ADMINS, STAFF]), ['admins'], 'first match wins');
  t.same(names([STAFF]), ['staff', 'everyone'], 'continue goes on to the next rules');
  t.same(names([]), ['everyone'], 'a rule without conditions always matches');
  const r = evaluateRoles(rules, { groups: [STAFF], attributes: {} });
  t.same(r.reply.map((a) => a.def.name), ['Filter-Id', 'Session-Timeout'], 'replies of every matched rule, in order');
});

t.test('group DNs compare as DNs (case, spaces, escapes)', async (t) => {
  t.same(names(['CN=Admins, OU=groups,DC=example,DC=test']), ['admins']);
  t.same(names(['cn=admins,ou=groups,dc=example,dc=other']), ['everyone']);
});

t.test('attribute conditions: any listed value, names and values without case, all attributes ANDed', async (t) => {
  t.same(names([STAFF], { DepartmentNumber: ['Ops'] }), ['it-staff']);
  t.same(names([STAFF], { departmentNumber: [' it '] }), ['it-staff']);
  t.same(names([STAFF], { departmentNumber: ['sales'] }), ['staff', 'everyone']);
  t.same(names([], { departmentNumber: ['IT'] }), ['everyone'], 'groups and attributes both must hold');
  const two = compileRoles([{ name: 'x', attributes: { a: '1', b: ['2'] }, reply: [], continue: false }]);
  t.same(evaluateRoles(two, { groups: [], attributes: { a: ['1'] } }).roles, []);
  t.same(evaluateRoles(two, { groups: [], attributes: { a: ['1'], b: ['2', '3'] } }).roles, ['x']);
});

t.test('no rules: no roles, no reply', async (t) => {
  t.same(evaluateRoles([], { groups: [ADMINS], attributes: {} }), { roles: [], reply: [] });
});

t.test('Windows domain stripping', async (t) => {
  t.equal(stripWindowsDomain('CORP\\alice'), 'alice');
  t.equal(stripWindowsDomain('alice@corp.example.com'), 'alice');
  t.equal(stripWindowsDomain('a@b@corp'), 'a@b');
  t.equal(stripWindowsDomain('alice'), 'alice');
  t.equal(stripWindowsDomain('CORP\\'), '');
});
