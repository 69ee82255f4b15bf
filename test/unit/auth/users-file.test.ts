import t from 'tap';
import { compileUsers } from '../../../src/auth/local/users-file.js';
import { loadDictionary } from '../../../src/radius/builtin-dictionary.js';

const dict = loadDictionary([]);

function errorsOf(yaml: string) {
  const r = compileUsers('/etc/aaaproxy/users.yaml', yaml, dict);
  return r.ok ? [] : r.errors;
}

t.test('cleartext passwords need allow_cleartext', async (t) => {
  const [e] = errorsOf('users:\n  a:\n    password: x\n');
  t.equal(e?.key, 'users.a.password');
  t.equal(e?.line, 3);
  t.match(e?.message, /allow_cleartext/);
  t.same(errorsOf('allow_cleartext: true\nusers:\n  a:\n    password: x\n'), [], 'file-wide allow');
});

t.test('reply attributes are checked against the dictionary with file:line', async (t) => {
  const [unknown] = errorsOf('users:\n  a:\n    password_hash: "$scrypt$ln=10,r=8,p=1$c2FsdA$aGFzaA"\n    reply:\n      No-Such-Attribute: 1\n');
  t.equal(unknown?.key, 'users.a.reply.No-Such-Attribute');
  t.equal(unknown?.line, 5);
  t.match(unknown?.message, /unknown attribute/);
  const [badValue] = errorsOf('users:\n  a:\n    password_hash: "$scrypt$ln=10,r=8,p=1$c2FsdA$aGFzaA"\n    reply:\n      Framed-IP-Address: not-an-ip\n');
  t.match(badValue?.message, /IPv4/);
  const [badTag] = errorsOf('users:\n  a:\n    password_hash: "$scrypt$ln=10,r=8,p=1$c2FsdA$aGFzaA"\n    reply:\n      Session-Timeout:3: 5\n');
  t.match(badTag?.message, /does not take a tag/);
});

t.test('a malformed hash and a missing password are refused', async (t) => {
  t.match(errorsOf('users:\n  a:\n    password_hash: md5-something\n')[0]?.message, /scrypt/);
  t.match(errorsOf('users:\n  a:\n    enabled: true\n')[0]?.message, /needs password_hash/);
});

t.test('passwords never appear in error messages', async (t) => {
  const errors = errorsOf('users:\n  a:\n    password: hunter2-secret\n    unknown_key: 1\n');
  t.ok(errors.length >= 1);
  for (const e of errors) t.notMatch(e.message, /hunter2/);
});
