import t from 'tap';
import { errorReject, followUpBase, MAX_PROMPT_OCTETS, promptAttributes, relayedChallenge, renderPassword, renderPrompt } from '../../../src/challenge/actions.js';
import { compileRuleSet } from '../../../src/challenge/compile.js';
import { findRule } from '../../../src/challenge/evaluate.js';
import { Attr } from '../../../src/radius/attribute-types.js';
import { loadDictionary } from '../../../src/radius/builtin-dictionary.js';
import { Code } from '../../../src/radius/codes.js';
import type { RawAttribute } from '../../../src/radius/packet.js';

const dict = loadDictionary([]);
const attr = (type: number, v: string): RawAttribute => ({ type, value: Buffer.from(v, 'utf8') });

t.test('prompts become Reply-Message attributes of at most 253 octets, in order', async (t) => {
  t.same(promptAttributes(Buffer.alloc(0)), []);
  const long = Buffer.from('x'.repeat(600));
  const parts = promptAttributes(long);
  t.same(parts.map((p) => p.value.length), [253, 253, 94]);
  t.ok(parts.every((p) => p.type === Attr.ReplyMessage));
  t.same(Buffer.concat(parts.map((p) => p.value)), long);
});

t.test('a relayed challenge keeps State and the rest, with the prompt instead of the Reply-Messages', async (t) => {
  const upstream = [attr(Attr.ReplyMessage, 'a'), attr(Attr.State, 's1'), attr(Attr.ReplyMessage, 'b'), attr(Attr.SessionTimeout, 'tt')];
  const out = relayedChallenge(upstream, Buffer.from('Enter the code'));
  t.same(out.map((a) => [a.type, a.value.toString()]), [[Attr.State, 's1'], [Attr.SessionTimeout, 'tt'], [Attr.ReplyMessage, 'Enter the code']]);
  t.same(errorReject(Buffer.from('Locked')).map((a) => [a.type, a.value.toString()]), [[Attr.ReplyMessage, 'Locked']]);
  t.same(errorReject(Buffer.alloc(0)), [], 'an empty error prompt sends no Reply-Message');
});

t.test('the automatic request drops what aaaproxy sets and what the extras replace', async (t) => {
  const nas = [
    attr(Attr.UserName, 'bob'),
    attr(Attr.UserPassword, 'hidden'),
    attr(Attr.State, 'old'),
    attr(Attr.ChapPassword, 'c'),
    attr(Attr.ChapChallenge, 'cc'),
    attr(Attr.NasPortType, 'x'),
    attr(Attr.CallingStationId, '02-00'),
  ];
  t.same(followUpBase(nas, new Set([Attr.NasPortType])).map((a) => a.type), [Attr.UserName, Attr.CallingStationId]);
});

t.test('templates render from the match', async (t) => {
  const set = compileRuleSet(
    [
      { name: 'p', on: 'access-challenge', match: [{ attribute: 'Reply-Message', regex: 'code (\\d+)' }], action: 'generic-login', prompt: 'Code <1> (<REPLY>)' },
      { name: 's', on: 'access-reject', match: [{ attribute: 'Reply-Message', regex: 'again (\\w+)' }], action: 'send-access-request', password: '<PASSWORD>:<1>' },
    ],
    dict,
    3,
  );
  const reply = [attr(Attr.ReplyMessage, 'your code 123')];
  t.equal(renderPrompt(findRule(set, Code.AccessChallenge, reply, true)!, reply).toString(), 'Code 123 (your code 123)');
  const rej = [attr(Attr.ReplyMessage, 'try again push')];
  t.equal(renderPassword(findRule(set, Code.AccessReject, rej, true)!, Buffer.from('pw')).toString(), 'pw:push');
});

t.test('a prompt longer than MAX_PROMPT_OCTETS is cut on a character boundary', async (t) => {
  const set = compileRuleSet([{ name: 'p', on: 'access-challenge', match: [{ attribute: 'State', present: true }], action: 'generic-login', prompt: '<REPLY>' }], dict, 3);
  const text = `a${'é'.repeat(MAX_PROMPT_OCTETS)}`; // 1 + 2 octets each: the limit falls inside a character
  const reply = [attr(Attr.State, 's'), attr(Attr.ReplyMessage, text)];
  const out = renderPrompt(findRule(set, Code.AccessChallenge, reply, true)!, reply);
  t.ok(out.length <= MAX_PROMPT_OCTETS);
  t.equal(out.toString('utf8'), text.slice(0, (out.length + 1) / 2), 'whole characters only');
});
