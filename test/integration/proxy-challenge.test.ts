// Challenge rules against a real FreeRADIUS upstream, radclient as the NAS: RSA-, Defender-,
// SMS-OTP- and CASQUE-style challenges through the presets, a custom prompt, error on a
// challenge and on a reject, send-access-request (FreeRADIUS checks the State, the templated
// password and the extra attribute) and its max_rounds bound; decisions in logs and metrics.
import t, { type Test } from 'tap';
import { radclient, startDaemon, type RadclientResult } from '../helpers/daemon.js';
import { startFreeRadius, UPSTREAM_SECRET } from '../helpers/freeradius.js';

/** A user whose first password gets a challenge and whose answer (with its State) gets an accept. */
interface ChallengeUser {
  name: string;
  password: string;
  challenge: string;
  answer: string;
}

const USERS: ChallengeUser[] = [
  { name: 'rsa', password: 's3cret-pin-1234', challenge: 'Wait for token to change, then enter the new tokencode:', answer: 'tokencode-887766' },
  { name: 'rsa-pin', password: 's3cret-pin-1234', challenge: 'Enter a new PIN having from 4 to 8 digits:', answer: 'new-pin-2468' },
  { name: 'defender', password: 'def-pw-1357', challenge: 'Challenge: 48213765 Enter Response:', answer: 'response-97531' },
  { name: 'sms', password: 'sms-pw-8642', challenge: 'Enter the one-time code sent by SMS to +44 7700 900123', answer: 'sms-code-135790' },
  { name: 'casque', password: 'casque-pw-1', challenge: 'CASQUE :Q2FzcXVl+/=: respond with your Player', answer: 'casque-resp-77' },
];
const PUSH_PASSWORD = 'push-pw-4242';
const PUSH_CHALLENGE = 'Approve the login in the app, then press Enter';

/**
 * FreeRADIUS keeps each conversation in session-state, which it finds again by the State it
 * generated for the Access-Challenge: an answer without that State, or with another, is rejected.
 */
function challengeBlock(u: ChallengeUser): string {
  return `
		if (&User-Name == "${u.name}") {
			if (!&State) {
				if (&User-Password == "${u.password}") {
					update reply {
						&Reply-Message := "${u.challenge}"
					}
					update session-state {
						&Tmp-String-0 := "${u.name}-step-2"
					}
					update control {
						&Response-Packet-Type := Access-Challenge
					}
					handled
				}
				reject
			}
			elsif (&session-state:Tmp-String-0 == "${u.name}-step-2" && &User-Password == "${u.answer}") {
				update control {
					&Auth-Type := Accept
				}
				update reply {
					&Reply-Message := "welcome ${u.name}"
				}
				return
			}
			else {
				reject
			}
		}`;
}

const AUTHORIZE = `${USERS.map(challengeBlock).join('\n')}
		# push: the app approval. The follow-up must carry the State, "<PASSWORD>,push" and Connect-Info.
		if (&User-Name == "push") {
			if (!&State && &User-Password == "${PUSH_PASSWORD}") {
				update reply {
					&Reply-Message := "${PUSH_CHALLENGE}"
				}
				update session-state {
					&Tmp-String-0 := "push-wait"
				}
				update control {
					&Response-Packet-Type := Access-Challenge
				}
				handled
			}
			elsif (&session-state:Tmp-String-0 == "push-wait" && &User-Password == "${PUSH_PASSWORD},push" && &Connect-Info == "auto-push") {
				update control {
					&Auth-Type := Accept
				}
				update reply {
					&Reply-Message := "approved"
				}
				return
			}
			else {
				reject
			}
		}
		# loop: asks for approval again and again, whatever it gets.
		if (&User-Name == "loop") {
			update reply {
				&Reply-Message := "${PUSH_CHALLENGE}"
			}
			update control {
				&Response-Packet-Type := Access-Challenge
			}
			handled
		}
`;

const upstream = await startFreeRadius(t, {
  users: 'locked Cleartext-Password := "locked-pw"\n\tReply-Message = "unused"\n',
  authorize: AUTHORIZE,
  // The reject for "locked" (a wrong password) carries the server's own reason.
  postAuthReject: `
			if (&User-Name == "locked") {
				update reply {
					&Reply-Message := "Account locked (code 7)"
				}
			}`,
  name: 'token-server',
});

const server = (name: string, extra = '') =>
  `  - { name: ${name}, address: 127.0.0.1, auth_port: ${upstream.authPort}, acct_port: ${upstream.acctPort}, secret: ${UPSTREAM_SECRET}, timeout_seconds: 1, retries: 1${extra} }`;

const config = `
upstreams:
${server('fr-rsa', ', challenge_presets: [rsa-securid]')}
${server('fr-defender', ', challenge_presets: [defender]')}
${server('fr-otp', ', challenge_presets: [otp]')}
${server('fr-casque', ', challenge_presets: [casque]')}
${server('fr-plain')}
  - name: fr-custom
    address: 127.0.0.1
    auth_port: ${upstream.authPort}
    acct_port: ${upstream.acctPort}
    secret: ${UPSTREAM_SECRET}
    challenge_max_rounds: 2
    challenge_presets: [rsa-securid]
    challenge_rules:
      - name: auto-push
        on: access-challenge
        match:
          - { regex: "approve the login in the app", ignore_case: true }
          - { attribute: State, present: true }
        action: send-access-request
        password: "<PASSWORD>,push"
        attributes: { Connect-Info: auto-push }
      - name: locked
        on: access-reject
        match: [{ regex: "locked \\\\(code (\\\\d+)\\\\)" }]
        action: error
        prompt: "Your account is locked (reason <1>): call the help desk"
      - name: no-pin-change
        on: access-challenge
        match: [{ contains: new PIN }]
        action: error
        prompt: PIN changes are not possible here
      - name: token
        on: access-challenge
        match: [{ regex: "wait for token", ignore_case: true }]
        action: next-token
        prompt: Next code from your token, please
pools:
  - { name: rsa, servers: [fr-rsa] }
  - { name: defender, servers: [fr-defender] }
  - { name: otp, servers: [fr-otp] }
  - { name: casque, servers: [fr-casque] }
  - { name: plain, servers: [fr-plain] }
  - { name: custom, servers: [fr-custom] }
routes:
  - { realm: rsa.test, strip_realm: true, auth: rsa }
  - { realm: defender.test, strip_realm: true, auth: defender }
  - { realm: otp.test, strip_realm: true, auth: otp }
  - { realm: casque.test, strip_realm: true, auth: casque }
  - { realm: plain.test, strip_realm: true, auth: plain }
  - { realm: custom.test, strip_realm: true, auth: custom }
`;

const daemon = await startDaemon(t, { users: 'users: {}\n', extraConfig: config, logLevel: 'debug' });

const auth = (attrs: string): Promise<RadclientResult> =>
  radclient({ port: daemon.authPort, secret: daemon.secret, type: 'auth', attrs: `${attrs}, Message-Authenticator = 0x00`, timeout: 3, retries: 1 });
const login = (user: string, password: string, state?: string) =>
  auth(`User-Name = "${user}", User-Password = "${password}"${state ? `, State = ${state}` : ''}`);
const messages = (r: RadclientResult) => r.replyList.filter(([n]) => n === 'Reply-Message').map(([, v]) => v);
const hits = (server: string, rule: string, action: string) => daemon.metric('aaaproxy_challenge_rule_hits_total', { server, rule, action });
/** The last n requests FreeRADIUS received for a user (after realm stripping). */
const seenBy = async (user: string) => (await upstream.authRecords()).filter((r) => r['User-Name'] === user);

/** The first password, the relayed challenge, the answer with its State: an accept. */
async function walk(t: Test, user: ChallengeUser, realm: string, expectPrompt: string) {
  const first = await login(`${user.name}@${realm}`, user.password);
  t.equal(first.code, 'Access-Challenge', first.stdout);
  t.same(messages(first), [expectPrompt], 'the prompt the rule gives');
  const state = first.replyAttrs['State'];
  t.match(state, /^0x[0-9a-f]{32}$/, 'the upstream\'s State reaches the NAS');
  t.equal(first.replyList[0]?.[0], 'Message-Authenticator', 'signed for the NAS');
  const answer = await login(`${user.name}@${realm}`, user.answer, state);
  t.equal(answer.code, 'Access-Accept', answer.stdout);
  t.same(messages(answer), [`welcome ${user.name}`]);
  const seen = (await seenBy(user.name)).slice(-2);
  t.equal(seen[0]?.['State'], '', 'first request: no State');
  t.equal(seen[1]?.['State'], state, 'the answer carried the challenge\'s State to the same server');
}

t.test('RSA SecurID preset: next tokencode, relayed with State, answered to an accept', async (t) => {
  await walk(t, USERS[0]!, 'rsa.test', USERS[0]!.challenge);
  t.equal(await hits('fr-rsa', 'rsa-securid/next-token', 'next-token'), 1);
});

t.test('RSA SecurID preset: new PIN mode', async (t) => {
  await walk(t, USERS[1]!, 'rsa.test', USERS[1]!.challenge);
  t.equal(await hits('fr-rsa', 'rsa-securid/new-pin', 'new-pin'), 1);
});

t.test('Defender preset: a challenge-response token', async (t) => {
  await walk(t, USERS[2]!, 'defender.test', USERS[2]!.challenge);
  t.equal(await hits('fr-defender', 'defender/challenge', 'generic-login'), 1);
});

t.test('OTP preset: an SMS code', async (t) => {
  await walk(t, USERS[3]!, 'otp.test', USERS[3]!.challenge);
  t.equal(await hits('fr-otp', 'otp/code', 'generic-login'), 1);
});

t.test('CASQUE preset: the prompt is built from the captured challenge', async (t) => {
  await walk(t, USERS[4]!, 'casque.test', 'CASQUE challenge :Q2FzcXVl+/=:');
  t.equal(await hits('fr-casque', 'casque/challenge', 'generic-login'), 1);
});

t.test('no rules: the challenge is relayed as it is, and no rule is counted', async (t) => {
  await walk(t, USERS[0]!, 'plain.test', USERS[0]!.challenge);
  const metrics = (await daemon.admin('GET', '/metrics')).body;
  t.notMatch(metrics, /aaaproxy_challenge_rule_hits_total\{server="fr-plain"/);
});

t.test('a server\'s own rule runs before its preset: a custom prompt', async (t) => {
  await walk(t, USERS[0]!, 'custom.test', 'Next code from your token, please');
  t.equal(await hits('fr-custom', 'token', 'next-token'), 1);
  t.equal(await hits('fr-custom', 'rsa-securid/next-token', 'next-token'), 0, 'the preset rule was not reached');
});

t.test('error on a challenge: the NAS gets an Access-Reject with the configured message', async (t) => {
  const r = await login('rsa-pin@custom.test', USERS[1]!.password);
  t.equal(r.code, 'Access-Reject', r.stdout);
  t.same(messages(r), ['PIN changes are not possible here']);
  t.equal(r.replyAttrs['State'], undefined, 'no State in a reject (RFC 2865 §5.44)');
  t.equal(await hits('fr-custom', 'no-pin-change', 'error'), 1);
});

t.test('error on a reject: the configured message instead of the upstream\'s, with a capture', async (t) => {
  const direct = await radclient({ port: upstream.authPort, secret: UPSTREAM_SECRET, type: 'auth', attrs: 'User-Name = "locked", User-Password = "wrong"' });
  t.same(messages(direct), ['Account locked (code 7)'], 'what the upstream says');
  const r = await login('locked@custom.test', 'wrong');
  t.equal(r.code, 'Access-Reject', r.stdout);
  t.same(messages(r), ['Your account is locked (reason 7): call the help desk']);
  t.equal(await hits('fr-custom', 'locked', 'error'), 1);
  const plain = await login('locked@plain.test', 'wrong');
  t.same(messages(plain), ['Account locked (code 7)'], 'a server without rules relays the upstream\'s');
  const preset = await login('locked@rsa.test', 'wrong');
  t.same(messages(preset), ['Account locked (code 7)'], 'so does one whose rules do not match');
});

t.test('send-access-request: answered upstream at once; the NAS sees only the accept', async (t) => {
  const before = (await seenBy('push')).length;
  const r = await login('push@custom.test', PUSH_PASSWORD);
  t.equal(r.code, 'Access-Accept', r.stdout);
  t.same(messages(r), ['approved']);
  const seen = (await seenBy('push')).slice(before);
  t.equal(seen.length, 2, 'the NAS\'s request and one automatic request');
  t.equal(seen[0]!['State'], '');
  t.match(seen[1]!['State'], /^0x[0-9a-f]{32}$/, 'the automatic request carried the challenge\'s State');
  // FreeRADIUS accepted only because User-Password was "<PASSWORD>,push" and Connect-Info was set.
  for (const s of seen) {
    t.equal(s['Proxy-State-Count'], '1', 'each round has our Proxy-State');
    t.equal(s['Message-Authenticator-Count'], '1', 'and a Message-Authenticator');
  }
  t.not(seen[0]!['Proxy-State'], seen[1]!['Proxy-State'], 'a new Proxy-State for the automatic request');
  t.equal(await hits('fr-custom', 'auto-push', 'send-access-request'), 1);
});

t.test('send-access-request with a wrong first password: FreeRADIUS rejects, nothing automatic', async (t) => {
  const before = (await seenBy('push')).length;
  const r = await login('push@custom.test', 'not-it');
  t.equal(r.code, 'Access-Reject');
  t.equal((await seenBy('push')).length, before + 1);
});

t.test('max_rounds: after 2 automatic requests the last challenge is relayed as if no rule matched', async (t) => {
  const before = (await seenBy('loop')).length;
  const hitsBefore = await hits('fr-custom', 'auto-push', 'send-access-request');
  const r = await login('loop@custom.test', PUSH_PASSWORD);
  t.equal(r.code, 'Access-Challenge', r.stdout);
  t.same(messages(r), [PUSH_CHALLENGE], 'the upstream\'s own words: no rule applied');
  t.match(r.replyAttrs['State'], /^0x[0-9a-f]{32}$/);
  const seen = (await seenBy('loop')).slice(before);
  t.equal(seen.length, 3, 'the NAS\'s request and challenge_max_rounds (2) automatic ones');
  t.same(new Set(seen.slice(1).map((s) => s['State'])).size, 2, 'each automatic request answered its own challenge');
  t.equal(await hits('fr-custom', 'auto-push', 'send-access-request'), hitsBefore + 2);
  t.equal(await daemon.metric('aaaproxy_challenge_max_rounds_total', { server: 'fr-custom', rule: 'auto-push' }), 1);
});

t.test('decisions are logged at debug with server, rule and action, never a password', async (t) => {
  const line = await daemon.waitForLog((l) => l.msg === 'challenge rule matched' && l['rule'] === 'auto-push');
  t.match(line, { server: 'fr-custom', rule: 'auto-push', action: 'send-access-request', user: 'push' });
  await daemon.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('challenge rule matched after max_rounds') && l['rule'] === 'auto-push');
  await daemon.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('no challenge rule matched') && l['server'] === 'fr-rsa');
  const all = JSON.stringify(daemon.logs);
  for (const secret of [PUSH_PASSWORD, ...USERS.flatMap((u) => [u.password, u.answer])]) t.notOk(all.includes(secret), `no ${secret} in the logs`);
});
