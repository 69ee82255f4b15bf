// Filters built from templates: RFC 4515 escapes decoded before BER, extensible matches included.
import t from 'tap';
import { buildFilter } from '../../../src/ldap/filter-build.js';
import { fillFilter } from '../../../src/ldap/filter-escape.js';
import { IN_CHAIN_RULE } from '../../../src/ldap/groups.js';

const ber = (f: unknown) => (f as { toBer(): { buffer: Buffer } }).toBer().buffer.toString('hex');
const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');

t.test("AD's in-chain extensible match (RFC 4511 §4.5.1.7.7), with the DN's escapes decoded", async (t) => {
  const filter = buildFilter(fillFilter(`(member:${IN_CHAIN_RULE}:={dn})`, { dn: 'cn=a\\,b,dc=x' }));
  const value = 'cn=a\\,b,dc=x';
  // [9] MatchingRuleAssertion: [1] matchingRule, [2] type, [3] matchValue.
  const body = `81${IN_CHAIN_RULE.length.toString(16).padStart(2, '0')}${hex(IN_CHAIN_RULE)}8206${hex('member')}83${value.length.toString(16).padStart(2, '0')}${hex(value)}`;
  t.equal(ber(filter), `a9${(body.length / 2).toString(16).padStart(2, '0')}${body}`);
});

t.test('an extensible match with dnAttributes and no type', async (t) => {
  const filter = buildFilter('(:dn:2.5.13.5:=Jensen\\2a)');
  const body = `8108${hex('2.5.13.5')}8307${hex('Jensen*')}8401ff`;
  t.equal(ber(filter), `a9${(body.length / 2).toString(16).padStart(2, '0')}${body}`);
});
