import t from 'tap';
import { LocalUsersBackend } from '../../../src/auth/local/local-backend.js';
import { LockoutTracker } from '../../../src/auth/local/lockout.js';
import { hashPassword } from '../../../src/auth/local/password-hash.js';
import { compileUsers } from '../../../src/auth/local/users-file.js';
import { Attr } from '../../../src/radius/attribute-types.js';
import { Code } from '../../../src/radius/codes.js';
import { computeChapPassword, decryptSalted, hideUserPassword, randomAuthenticator } from '../../../src/radius/crypto.js';
import { loadDictionary } from '../../../src/radius/builtin-dictionary.js';
import type { RawAttribute } from '../../../src/radius/packet.js';

const dict = loadDictionary([]);
const secret = Buffer.from('s3cret');

async function backend(yaml: string) {
  const users = compileUsers('users.yaml', yaml, dict);
  if (!users.ok) throw new Error(JSON.stringify(users.errors));
  const locked: string[] = [];
  const b = new LocalUsersBackend(users.users, dict, new LockoutTracker({ attempts: 3, minutes: 10 }), { lockedOut: (u) => locked.push(u) });
  return { b, locked };
}

function papRequest(user: string, password: string) {
  const authenticator = randomAuthenticator();
  const attributes: RawAttribute[] = [
    { type: Attr.UserName, value: Buffer.from(user) },
    { type: Attr.UserPassword, value: hideUserPassword(Buffer.from(password), secret, authenticator) },
  ];
  return { packet: { code: Code.AccessRequest, identifier: 1, authenticator, attributes }, secret, clientName: 'c' };
}

function chapRequest(user: string, password: string, withChallengeAttr: boolean) {
  const authenticator = randomAuthenticator();
  const challenge = withChallengeAttr ? Buffer.from('0123456789abcdef0123') : authenticator;
  const attributes: RawAttribute[] = [
    { type: Attr.UserName, value: Buffer.from(user) },
    { type: Attr.ChapPassword, value: computeChapPassword(42, Buffer.from(password), challenge) },
  ];
  if (withChallengeAttr) attributes.push({ type: Attr.ChapChallenge, value: challenge });
  return { packet: { code: Code.AccessRequest, identifier: 1, authenticator, attributes }, secret, clientName: 'c' };
}

t.test('PAP against an scrypt hash, with reply attributes', async (t) => {
  const hash = await hashPassword('right horse', 10);
  const { b } = await backend(`users:\n  alice:\n    password_hash: "${hash}"\n    reply:\n      Session-Timeout: 600\n      Tunnel-Password:1: vlan-secret\n`);
  const req = papRequest('alice', 'right horse');
  const ok = await b.authenticate(req);
  t.equal(ok.outcome, 'accept');
  t.equal(ok.attributes.find((a) => a.type === Attr.SessionTimeout)?.value.readUInt32BE(0), 600);
  const tp = ok.attributes.find((a) => a.type === Attr.TunnelPassword)!.value;
  t.equal(tp[0], 1, 'tag first');
  t.equal(decryptSalted(tp.subarray(1), secret, req.packet.authenticator)?.toString(), 'vlan-secret', 'encrypted for this client and request');
  t.equal((await b.authenticate(papRequest('alice', 'right horse'))).outcome, 'accept', 'second login (cached verification) also accepted');
  t.equal((await b.authenticate(papRequest('alice', 'wrong'))).reason, 'wrong_password');
  t.equal((await b.authenticate(papRequest('bob', 'x'))).reason, 'unknown_user');
});

t.test('CHAP needs a cleartext password; both challenge forms', async (t) => {
  const hash = await hashPassword('pw', 10);
  const { b } = await backend(`users:\n  carol:\n    password: chap-pw\n    allow_cleartext: true\n  dave:\n    password_hash: "${hash}"\n`);
  t.equal((await b.authenticate(chapRequest('carol', 'chap-pw', false))).outcome, 'accept', 'Request Authenticator as challenge');
  t.equal((await b.authenticate(chapRequest('carol', 'chap-pw', true))).outcome, 'accept', 'CHAP-Challenge attribute');
  t.equal((await b.authenticate(chapRequest('carol', 'nope', true))).reason, 'wrong_password');
  t.equal((await b.authenticate(chapRequest('dave', 'pw', false))).reason, 'chap_needs_cleartext_password');
  t.equal((await b.authenticate(papRequest('carol', 'chap-pw'))).outcome, 'accept', 'PAP works with cleartext too');
});

t.test('lockout: the right password is refused while locked', async (t) => {
  const { b, locked } = await backend(`users:\n  erin:\n    password: pw\n    allow_cleartext: true\n`);
  for (let i = 0; i < 3; i++) t.equal((await b.authenticate(papRequest('erin', 'bad'))).outcome, 'reject');
  t.same(locked, ['erin']);
  t.equal((await b.authenticate(papRequest('erin', 'pw'))).reason, 'locked_out');
  b.lockout.unlock('erin');
  t.equal((await b.authenticate(papRequest('erin', 'pw'))).outcome, 'accept');
});

t.test('disabled users, missing User-Name, EAP and unsupported methods are rejected', async (t) => {
  const { b } = await backend(`users:\n  frank:\n    password: pw\n    allow_cleartext: true\n    enabled: false\n`);
  t.equal((await b.authenticate(papRequest('frank', 'pw'))).reason, 'user_disabled');
  const noName = papRequest('x', 'pw');
  noName.packet.attributes.shift();
  t.equal((await b.authenticate(noName)).reason, 'no_user_name');
  const eap = papRequest('frank', 'pw');
  eap.packet.attributes.push({ type: Attr.EapMessage, value: Buffer.from([2, 1, 0, 5, 1]) });
  t.equal((await b.authenticate(eap)).reason, 'eap_not_supported_by_local_backend');
  const none = papRequest('frank', 'pw');
  none.packet.attributes.pop();
  t.equal((await b.authenticate(none)).reason, 'unsupported_auth_method');
});

t.test('a reload empties the verified-password cache', async (t) => {
  const { b } = await backend(`users:\n  gina:\n    password_hash: "${await hashPassword('old', 10)}"\n`);
  t.equal((await b.authenticate(papRequest('gina', 'old'))).outcome, 'accept');
  const next = compileUsers('u', `users:\n  gina:\n    password_hash: "${await hashPassword('new', 10)}"\n`, dict);
  if (!next.ok) throw new Error('bad fixture');
  b.swapUsers(next.users);
  t.equal((await b.authenticate(papRequest('gina', 'old'))).outcome, 'reject', 'the old password no longer works');
  t.equal((await b.authenticate(papRequest('gina', 'new'))).outcome, 'accept');
});

t.test('concurrent first logins share one verification and all succeed', async (t) => {
  const { b } = await backend(`users:\n  hank:\n    password_hash: "${await hashPassword('pw', 12)}"\n`);
  const results = await Promise.all(Array.from({ length: 16 }, () => b.authenticate(papRequest('hank', 'pw'))));
  t.same(results.map((r) => r.outcome), new Array(16).fill('accept'));
  const wrong = await Promise.all(Array.from({ length: 2 }, () => b.authenticate(papRequest('hank', 'nope'))));
  t.same(wrong.map((r) => r.reason), ['wrong_password', 'wrong_password']);
});
