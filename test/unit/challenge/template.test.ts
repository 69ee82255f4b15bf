import t from 'tap';
import { literalLength, parseTemplate, regexGroups, renderTemplate, type TemplateScope } from '../../../src/challenge/template.js';
import type { Template } from '../../../src/challenge/types.js';

const PROMPT: TemplateScope = { password: false, reply: true, groups: 2, names: new Set(['code']) };
const PASSWORD: TemplateScope = { password: true, reply: false, groups: -1, names: new Set() };

function parse(text: string, scope: TemplateScope): Template {
  const r = parseTemplate(text, scope);
  if (!r.ok) throw new Error(r.message);
  return r.template;
}

const render = (tpl: Template, captures: RegExpExecArray | null, password?: string, reply = 'upstream says hi') =>
  renderTemplate(tpl, { captures, reply: () => reply, password: password === undefined ? undefined : Buffer.from(password, 'utf8') }).toString('utf8');

t.test('literal text, <<, placeholders', async (t) => {
  const re = /challenge (?<code>\d+) for (\w+)/;
  const m = re.exec('challenge 4711 for bob')!;
  t.equal(render(parse('Enter <<PIN> for <1>', PROMPT), m), 'Enter <PIN> for 4711');
  t.equal(render(parse('<0>|<2>|<code>', PROMPT), m), 'challenge 4711 for bob|bob|4711');
  t.equal(render(parse('Server: <REPLY>', PROMPT), null), 'Server: upstream says hi');
  t.equal(render(parse('a < b and <c', PROMPT), null), 'a < b and <c', 'a < not followed by a word and > stays literal');
  t.equal(render(parse('<1>', PROMPT), null), '', 'no match: captures are empty');
  t.equal(render(parse('', PROMPT), null), '');
});

t.test('password templates: <PASSWORD> and literal text, octet for octet', async (t) => {
  const tpl = parse('<PASSWORD>,push', PASSWORD);
  t.ok(tpl.usesPassword);
  t.equal(render(tpl, null, 'pässword'), 'pässword,push');
  t.equal(literalLength(tpl), 5);
  const fixed = parse('literal', PASSWORD);
  t.notOk(fixed.usesPassword);
  t.equal(render(fixed, null, 'ignored'), 'literal');
  const raw = renderTemplate(parse('<PASSWORD>', PASSWORD), { captures: null, reply: () => '', password: Buffer.from([0xff, 0x00, 0x80]) });
  t.same([...raw], [0xff, 0x00, 0x80], 'the password is not re-encoded');
});

t.test('refused: where a placeholder may not go, unknown words, missing groups', async (t) => {
  const bad = (text: string, scope: TemplateScope, pattern: RegExp) => {
    const r = parseTemplate(text, scope);
    t.equal(r.ok, false, text);
    if (!r.ok) t.match(r.message, pattern, text);
  };
  bad('your password was <PASSWORD>', PROMPT, /only allowed in the password template/);
  bad('<REPLY>', PASSWORD, /only allowed in prompts/);
  bad('Enter <PIN>', PROMPT, /unknown placeholder <PIN>.*<< for a literal/);
  bad('<3>', PROMPT, /has 2 capture group/);
  bad('<1>', PASSWORD, /needs a regex expression/);
  bad('<password>', PASSWORD, /unknown placeholder/, );
});

t.test('regexGroups counts groups and names', async (t) => {
  t.same(regexGroups(/a(b)(?<x>c)(?:d)/), { groups: 2, names: new Set(['x']) });
  t.same(regexGroups(/plain/i), { groups: 0, names: new Set() });
});
