import t from 'tap';
import { z } from 'zod';
import { formatIssue, formatPath, parseYamlWithSchema } from '../../../src/config/yaml-loader.js';

t.test('formatPath', async (t) => {
  t.equal(formatPath(['clients', 0, 'secret']), 'clients[0].secret');
  t.equal(formatPath(['listeners', 1, 'port']), 'listeners[1].port');
  t.equal(formatPath([0, 'a']), '[0].a');
  t.equal(formatPath([]), '');
});

t.test('formatIssue', async (t) => {
  t.equal(formatIssue({ file: 'f.yaml', line: 3, column: 5, key: 'a.b', message: 'bad' }), 'f.yaml:3:5: a.b: bad');
  t.equal(formatIssue({ file: 'f.yaml', line: 1, column: 1, key: '', message: 'bad' }), 'f.yaml:1:1: bad');
});

t.test('works with any schema and returns its output type', async (t) => {
  const schema = z.object({ n: z.number().default(7) });
  t.match(parseYamlWithSchema('x.yaml', '{}', schema), { ok: true, value: { n: 7 } });
  const located = parseYamlWithSchema('x.yaml', 'a:\n  b: 1\n', z.object({ a: z.object({ b: z.number() }) }));
  t.match(located.ok && located.locate(['a', 'b'], 'later check'), { line: 2, column: 6, key: 'a.b', message: 'later check' });
  t.match(parseYamlWithSchema('x.yaml', 'n: [1]', schema), { ok: false, errors: [{ line: 1, column: 4, key: 'n' }] });
});

t.test('issues come out in file order', async (t) => {
  const schema = z.object({ b: z.number(), a: z.number() });
  const r = parseYamlWithSchema('x.yaml', 'a: x\nb: y\n', schema);
  t.match(r, { ok: false, errors: [{ key: 'a', line: 1 }, { key: 'b', line: 2 }] });
});

t.test('alias explosion is an issue, not a crash', async (t) => {
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 0; i < 8; i++) lines.push(`${'b' + i}: &b${i} [${new Array(10).fill(i === 0 ? '*a' : `*b${i - 1}`).join(', ')}]`);
  const r = parseYamlWithSchema('x.yaml', lines.join('\n'), z.unknown());
  t.match(r, { ok: false, errors: [{ line: 1, column: 1, message: /alias/i }] });
});
