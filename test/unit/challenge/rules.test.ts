// The rule compiler and evaluator: pure functions over specs, a dictionary and reply attributes.
import t from 'tap';
import { compileRules, compileRuleSet } from '../../../src/challenge/compile.js';
import { findRule, replyMessage } from '../../../src/challenge/evaluate.js';
import type { ChallengeRuleSet, RuleSpec } from '../../../src/challenge/types.js';
import { Attr } from '../../../src/radius/attribute-types.js';
import { loadDictionary } from '../../../src/radius/builtin-dictionary.js';
import { Code } from '../../../src/radius/codes.js';
import type { RawAttribute } from '../../../src/radius/packet.js';
import { buildVendorSpecific } from '../../../src/radius/values.js';

const dict = loadDictionary([]);

const a = (type: number, value: string | Buffer | number): RawAttribute => {
  if (typeof value === 'number') {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(value);
    return { type, value: b };
  }
  return { type, value: typeof value === 'string' ? Buffer.from(value, 'utf8') : value };
};
const reply = (text: string, ...more: RawAttribute[]) => [a(Attr.ReplyMessage, text), ...more];

function set(specs: RuleSpec[], maxRounds = 3): ChallengeRuleSet {
  return compileRuleSet(specs, dict, maxRounds);
}

const rule = (name: string, match: RuleSpec['match'], extra: Partial<RuleSpec> = {}): RuleSpec => ({
  name,
  on: 'access-challenge',
  match,
  action: 'generic-login',
  prompt: '<REPLY>',
  ...extra,
});

t.test('first matching rule wins, per reply code; no match is undefined', async (t) => {
  const rules = set([
    rule('reject-locked', [{ attribute: 'Reply-Message', contains: 'locked' }], { on: 'access-reject', action: 'error', prompt: 'Locked' }),
    rule('token', [{ attribute: 'Reply-Message', regex: 'token', ignore_case: true }], { action: 'next-token' }),
    rule('any', [{ attribute: 'State', present: true }]),
  ]);
  t.equal(findRule(rules, Code.AccessChallenge, reply('Next TOKEN please', a(Attr.State, 'x')), true)?.rule.name, 'token');
  t.equal(findRule(rules, Code.AccessChallenge, reply('hello', a(Attr.State, 'x')), true)?.rule.name, 'any');
  t.equal(findRule(rules, Code.AccessChallenge, reply('hello'), true), undefined, 'no State: nothing matches');
  t.equal(findRule(rules, Code.AccessReject, reply('account locked'), true)?.rule.name, 'reject-locked');
  t.equal(findRule(rules, Code.AccessReject, reply('Next token'), true), undefined, 'challenge rules do not see rejects');
});

t.test('expressions are ANDed', async (t) => {
  const rules = set([rule('both', [{ attribute: 'Reply-Message', contains: 'PIN' }, { attribute: 'State', absent: true }])]);
  t.ok(findRule(rules, Code.AccessChallenge, reply('new PIN'), true));
  t.notOk(findRule(rules, Code.AccessChallenge, reply('new PIN', a(Attr.State, 's')), true));
  t.notOk(findRule(rules, Code.AccessChallenge, reply('new pin'), true), 'contains is case-sensitive unless ignore_case');
});

t.test('Reply-Message: several attributes are one message (RFC 2865 §5.18)', async (t) => {
  const split = [a(Attr.ReplyMessage, 'Wait for token to ch'), a(Attr.State, 's'), a(Attr.ReplyMessage, 'ange, then enter the new tokencode')];
  t.equal(replyMessage(split), 'Wait for token to change, then enter the new tokencode');
  const rules = set([rule('rsa', [{ attribute: 'Reply-Message', regex: '^Wait for token to change, then (enter) the new tokencode$' }], { prompt: '<1>!' })]);
  const m = findRule(rules, Code.AccessChallenge, split, true);
  t.equal(m?.rule.name, 'rsa');
  t.equal(m?.captures?.[1], 'enter');
  t.equal(replyMessage([a(Attr.State, 's')]), '');
});

t.test('captures come from the first regex expression', async (t) => {
  const rules = set([
    rule('casque', [
      { attribute: 'State', present: true },
      { attribute: 'Reply-Message', regex: ':([0-9a-zA-Z/+=]+):' },
      { attribute: 'Reply-Message', regex: '(CASQUE)' },
    ], { prompt: 'challenge <1>' }),
  ]);
  const m = findRule(rules, Code.AccessChallenge, reply('CASQUE :Ab9+/=Zz: respond', a(Attr.State, 's')), true)!;
  t.equal(m.captures?.[1], 'Ab9+/=Zz');
});

t.test('equals: text for string attributes, encoded value for the others', async (t) => {
  const rules = set([
    rule('framed', [{ attribute: 'Service-Type', equals: 'Framed-User' }]),
    rule('timeout-60', [{ attribute: 'Session-Timeout', equals: 60 }]),
    rule('exact', [{ attribute: 'Reply-Message', equals: 'Enter PIN', ignore_case: true }]),
  ]);
  t.equal(findRule(rules, Code.AccessChallenge, [a(Attr.ServiceType, 2)], true)?.rule.name, 'framed');
  t.equal(findRule(rules, Code.AccessChallenge, [a(Attr.ServiceType, 1), a(Attr.SessionTimeout, 60)], true)?.rule.name, 'timeout-60');
  t.equal(findRule(rules, Code.AccessChallenge, reply('enter pin'), true)?.rule.name, 'exact');
  t.equal(findRule(rules, Code.AccessChallenge, reply('enter pin now'), true), undefined, 'equals is the whole text');
});

t.test('numeric compare, on any of several instances', async (t) => {
  const mk = (op: '<' | '<=' | '>' | '>=' | '==', value: number) =>
    set([rule('cmp', [{ attribute: 'Session-Timeout', compare: { op, value } }])]);
  const st = (n: number) => [a(Attr.SessionTimeout, n)];
  t.ok(findRule(mk('<', 60), Code.AccessChallenge, st(59), true));
  t.notOk(findRule(mk('<', 60), Code.AccessChallenge, st(60), true));
  t.ok(findRule(mk('<=', 60), Code.AccessChallenge, st(60), true));
  t.ok(findRule(mk('>', 60), Code.AccessChallenge, st(61), true));
  t.notOk(findRule(mk('>=', 60), Code.AccessChallenge, st(59), true));
  t.ok(findRule(mk('==', 60), Code.AccessChallenge, [a(Attr.SessionTimeout, 5), a(Attr.SessionTimeout, 60)], true));
  t.notOk(findRule(mk('==', 60), Code.AccessChallenge, [{ type: Attr.SessionTimeout, value: Buffer.from([0, 60]) }], true), 'a malformed length is no number');
});

t.test('regex and contains on non-string attributes read the logged form', async (t) => {
  const rules = set([
    rule('ip', [{ attribute: 'Framed-IP-Address', regex: '^10\\.1\\.' }]),
    rule('svc', [{ attribute: 'Service-Type', contains: 'Login' }]),
  ]);
  t.equal(findRule(rules, Code.AccessChallenge, [{ type: Attr.FramedIpAddress, value: Buffer.from([10, 1, 2, 3]) }], true)?.rule.name, 'ip');
  t.equal(findRule(rules, Code.AccessChallenge, [a(Attr.ServiceType, 1)], true)?.rule.name, 'svc');
});

t.test('vendor attributes are found inside Vendor-Specific', async (t) => {
  const cisco = dict.vendorById(9)!;
  const rules = set([rule('avpair', [{ attribute: 'Cisco-AVPair', regex: '^otp=(\\w+)$' }], { prompt: '<1>' })]);
  const vsa = { type: Attr.VendorSpecific, value: buildVendorSpecific(cisco, 1, Buffer.from('otp=sms')) };
  const m = findRule(rules, Code.AccessChallenge, [a(Attr.ReplyMessage, 'x'), vsa], true);
  t.equal(m?.captures?.[1], 'sms');
  const other = { type: Attr.VendorSpecific, value: buildVendorSpecific(dict.vendorById(311)!, 1, Buffer.from('otp=sms')) };
  t.equal(findRule(rules, Code.AccessChallenge, [other], true), undefined, 'another vendor does not count');
});

t.test('tagged attributes are tested without their tag', async (t) => {
  const rules = set([rule('vlan', [{ attribute: 'Tunnel-Private-Group-Id', equals: '42' }])]);
  t.ok(findRule(rules, Code.AccessChallenge, [{ type: 81, value: Buffer.from([1, 0x34, 0x32]) }], true));
  t.ok(findRule(rules, Code.AccessChallenge, [{ type: 81, value: Buffer.from('42') }], true));
});

t.test('rules needing <PASSWORD> are skipped when the NAS sent no User-Password', async (t) => {
  const rules = set([
    rule('auto', [{ attribute: 'State', present: true }], { action: 'send-access-request', prompt: undefined }),
    rule('fixed', [{ attribute: 'State', present: true }], { action: 'send-access-request', prompt: undefined, password: 'push' }),
  ]);
  t.equal(findRule(rules, Code.AccessChallenge, [a(Attr.State, 's')], true)?.rule.name, 'auto');
  t.equal(findRule(rules, Code.AccessChallenge, [a(Attr.State, 's')], false)?.rule.name, 'fixed');
});

t.test('extras of send-access-request are encoded once and name what they replace', async (t) => {
  const rules = set([
    rule('auto', [{ attribute: 'State', present: true }], {
      action: 'send-access-request',
      prompt: undefined,
      attributes: { 'Connect-Info': 'auto', 'Cisco-AVPair': 'push=1', 'NAS-Port-Type': 'Virtual' },
    }),
  ]);
  const r = rules.rules[0]!;
  t.same([...r.replaces].sort((x, y) => x - y), [61, 77], 'standard types replace; vendor ones add');
  t.equal(r.extra.length, 3);
  t.equal(r.password?.usesPassword, true, 'the default password template is <PASSWORD>');
});

t.test('compile errors carry the path of the offending key', async (t) => {
  const issues = (specs: RuleSpec[]) => {
    const r = compileRules(specs, dict);
    return r.ok ? [] : r.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  t.match(issues([rule('x', [{ attribute: 'No-Such-Attr', present: true }])]), ['0.match.0.attribute: unknown attribute No-Such-Attr (not in the dictionaries)']);
  t.match(issues([rule('x', [{ attribute: 'Reply-Message', compare: { op: '<', value: 3 } }])]), [/^0\.match\.0\.compare: a numeric compare needs a numeric attribute; Reply-Message is string/]);
  t.match(issues([rule('x', [{ attribute: 'Service-Type', equals: 'No-Such-Value' }])]), [/^0\.match\.0\.equals: Service-Type: No-Such-Value is not a number or a known value name/]);
  t.match(issues([rule('x', [{ attribute: 'Tunnel-Password', regex: 'x' }])]), [/^0\.match\.0\.attribute: Tunnel-Password is encrypted on the wire: only present and absent/]);
  t.same(issues([rule('x', [{ attribute: 'Tunnel-Password', present: true }])]), [], 'presence of an encrypted attribute is fine');
  t.match(issues([rule('x', [{ attribute: 'Reply-Message', regex: '(' }])]), [/^0\.match\.0\.regex: not a valid regular expression/]);
  t.match(issues([rule('x', [{ attribute: 'Reply-Message', regex: 'a(b)' }], { prompt: '<2>' })]), [/^0\.prompt: <2>: the rule's first regex has 1 capture group/]);
  t.match(issues([rule('x', [{ attribute: 'State', present: true }], { prompt: undefined })]), [/^0\.prompt: generic-login needs a prompt/]);
  t.match(issues([rule('x', [{ attribute: 'State', present: true }], { on: 'access-reject' })]), [/^0\.on: generic-login relays an Access-Challenge/]);
  t.match(
    issues([rule('x', [{ attribute: 'State', present: true }], { action: 'send-access-request', prompt: undefined, attributes: { State: 'x', 'Bogus-Attr': 1 } })]),
    [/^0\.attributes\.State: State is set by aaaproxy itself/, /^0\.attributes\.Bogus-Attr: unknown attribute Bogus-Attr/],
  );
  t.match(issues([rule('x', [{ attribute: 'State', present: true }], { action: 'send-access-request', prompt: undefined, password: 'x'.repeat(129) })]), [/^0\.password: longer than the 128 octets/]);
  t.match(issues([rule('ok', [{ attribute: 'State', present: true }]), rule('x', [{ attribute: 'Nope', present: true }])]), [/^1\.match\.0\.attribute/], 'indexes are the spec list\'s');
  t.match(
    issues([rule('x', [{ attribute: 'Nope', regex: 'a' }, { attribute: 'Reply-Message', regex: '(b)' }], { prompt: '<1>' })]),
    [/^0\.match\.0\.attribute: unknown attribute Nope/],
    'a bad expression before the capturing regex is reported alone',
  );
  t.throws(() => compileRuleSet([rule('x', [{ attribute: 'Nope', present: true }])], dict, 3), { code: 'AAA_ERR_CHALLENGE_RULE_INVALID' });
});
