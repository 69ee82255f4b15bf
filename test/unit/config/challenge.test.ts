// Challenge rules in the config: schema errors and dictionary errors name file, line and key;
// upstream_defaults fill in for servers without their own; rule changes keep the server.
import t from 'tap';
import { loadConfigText, type LoadResult } from '../../../src/config/load.js';
import { formatIssue, type ConfigIssue } from '../../../src/config/yaml-loader.js';
import { buildUpstreams, checkChallengeRules } from '../../../src/daemon/upstreams.js';
import { loadDictionary } from '../../../src/radius/builtin-dictionary.js';
import type { UpstreamObserver } from '../../../src/upstream/server.js';

const FILE = '/etc/aaaproxy/aaaproxy.yaml';
const dict = loadDictionary([]);

/** Lines 1-10; upstreams start at line 11. */
const BASE = `listeners:
  - { type: auth, address: 127.0.0.1, port: 1812 }
clients:
  - { name: nas1, address: 127.0.0.1/32, secret: testing123 }
local_users:
  file: users.yaml
accounting:
  log: { path: accounting.jsonl }
admin: { enabled: false }
pools: [{ name: corp, servers: [rsa, plain] }]
`;

/** Lines 11-36. */
const UPSTREAMS = `upstreams:
  - name: rsa
    address: 192.0.2.10
    secret: s1
    challenge_presets: [rsa-securid]
    challenge_max_rounds: 2
    challenge_rules:
      - name: push
        on: access-challenge
        match:
          - { regex: "approve (on|in) the app", ignore_case: true }
          - { attribute: State, present: true }
        action: send-access-request
        password: "<PASSWORD>"
        attributes: { Connect-Info: auto-push }
      - name: casque
        on: access-challenge
        match: [{ attribute: Reply-Message, regex: ":([0-9a-zA-Z/+=]+):" }]
        action: generic-login
        prompt: "Challenge <1>"
  - name: plain
    address: 192.0.2.11
    secret: s2
upstream_defaults:
  challenge_presets: [otp]
  challenge_rules: [{ name: locked, on: access-reject, match: [{ contains: locked }], action: error, prompt: "Call the help desk" }]
`;

function load(text: string): LoadResult {
  return loadConfigText(FILE, text);
}

function errorsOf(r: LoadResult): ConfigIssue[] {
  if (r.ok) throw new Error('expected the config to be rejected');
  return r.errors;
}

/** Config errors, then the dictionary checks prepare runs: `line key: message`. */
function problems(text: string): string[] {
  const r = load(text);
  const issues = r.ok ? checkChallengeRules(r.config, dict, r.locate) : r.errors;
  return issues.map((i) => `${i.line} ${i.key}: ${i.message}`);
}

t.test('a valid config loads; defaults and compares are parsed', async (t) => {
  const r = load(BASE + UPSTREAMS);
  if (!r.ok) return t.fail(r.errors.map(formatIssue).join('\n'));
  t.same(checkChallengeRules(r.config, dict, r.locate), []);
  const rsa = r.config.upstreams[0]!;
  t.equal(rsa.challenge_max_rounds, 2);
  t.match(rsa.challenge_rules?.[0], { name: 'push', match: [{ attribute: 'Reply-Message', regex: 'approve (on|in) the app', ignore_case: true }] });
  t.equal(r.config.upstreams[1]!.challenge_rules, undefined, 'a server without its own keeps none in the config');
  t.equal(r.config.upstream_defaults.challenge_max_rounds, 3, 'max_rounds defaults to 3');
  const bare = load(BASE.replace('pools: [{ name: corp, servers: [rsa, plain] }]\n', ''));
  if (!bare.ok) return t.fail(bare.errors.map(formatIssue).join('\n'));
  t.same(
    [bare.config.upstream_defaults.challenge_rules, bare.config.upstream_defaults.challenge_presets, bare.config.upstream_defaults.challenge_max_rounds],
    [[], [], 3],
  );
  const cmp = load(BASE + UPSTREAMS.replace('{ attribute: State, present: true }', '{ attribute: Session-Timeout, compare: ">= 30" }'));
  if (!cmp.ok) return t.fail(cmp.errors.map(formatIssue).join('\n'));
  t.same(cmp.config.upstreams[0]!.challenge_rules?.[0]?.match[1]?.compare, { op: '>=', value: 30 });
});

t.test('schema errors: file, line, key', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['regex: "approve (on|in) the app"', 'regex: "approve (on|in the app"', /^21 upstreams\[0\]\.challenge_rules\[0\]\.match\[0\]\.regex: not a valid regular expression/],
    ['{ attribute: State, present: true }', '{ attribute: State, compare: "about 3" }', /^22 upstreams\[0\]\.challenge_rules\[0\]\.match\[1\]\.compare: must be an operator/],
    ['{ attribute: State, present: true }', '{ attribute: State, present: true, absent: true }', /^22 upstreams\[0\]\.challenge_rules\[0\]\.match\[1\]\.absent: one test per expression/],
    ['{ attribute: State, present: true }', '{ attribute: State }', /^22 upstreams\[0\]\.challenge_rules\[0\]\.match\[1\]: needs one test/],
    ['{ attribute: State, present: true }', '{ attribute: State, present: true, ignore_case: true }', /^22 upstreams\[0\]\.challenge_rules\[0\]\.match\[1\]\.ignore_case: only for equals, contains and regex/],
    ['        prompt: "Challenge <1>"\n', '', /^26 upstreams\[0\]\.challenge_rules\[1\]\.prompt: generic-login needs a prompt/],
    ['        on: access-challenge\n        match: [{ attribute: Reply-Message', '        on: access-reject\n        match: [{ attribute: Reply-Message', /^27 upstreams\[0\]\.challenge_rules\[1\]\.on: generic-login relays an Access-Challenge/],
    ['        action: generic-login', '        action: login-page', /^29 upstreams\[0\]\.challenge_rules\[1\]\.action: /],
    ['challenge_presets: [rsa-securid]', 'challenge_presets: [rsa-securid, vasco]', /^15 upstreams\[0\]\.challenge_presets\[1\]: /],
    ['challenge_presets: [rsa-securid]', 'challenge_presets: [rsa-securid, rsa-securid]', /^15 upstreams\[0\]\.challenge_presets\[1\]: preset rsa-securid is listed twice/],
    ['      - name: casque', '      - name: push', /^26 upstreams\[0\]\.challenge_rules\[1\]: rule push is listed twice/],
    ['    challenge_max_rounds: 2', '    challenge_max_rounds: 11', /^16 upstreams\[0\]\.challenge_max_rounds: /],
    ['        password: "<PASSWORD>"', '        password: "<PASSWORD>"\n        prompt: hi', /^25 upstreams\[0\]\.challenge_rules\[0\]\.prompt: send-access-request answers the upstream itself/],
    ['action: error, prompt:', 'action: error, password: x, prompt:', /^36 upstream_defaults\.challenge_rules\[0\]\.password: only send-access-request sends a password/],
  ];
  for (const [from, to, want] of cases) {
    const text = BASE + UPSTREAMS.replace(from, to);
    t.not(text, BASE + UPSTREAMS, `case applies: ${to}`);
    const got = errorsOf(load(text)).map((e) => `${e.line} ${e.key}: ${e.message}`);
    t.ok(got.some((g) => want.test(g)), `${to}\n${got.join('\n')}`);
    t.ok(errorsOf(load(text)).every((e) => e.file === FILE));
  }
});

t.test('dictionary errors (prepare): file, line, key', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['{ attribute: State, present: true }', '{ attribute: Stat, present: true }', /^22 upstreams\[0\]\.challenge_rules\[0\]\.match\[1\]\.attribute: unknown attribute Stat/],
    ['{ attribute: State, present: true }', '{ attribute: Reply-Message, compare: "< 3" }', /^22 upstreams\[0\]\.challenge_rules\[0\]\.match\[1\]\.compare: a numeric compare needs a numeric attribute; Reply-Message is string/],
    ['{ attribute: State, present: true }', '{ attribute: Service-Type, equals: Framed-Usr }', /^22 upstreams\[0\]\.challenge_rules\[0\]\.match\[1\]\.equals: Service-Type: Framed-Usr is not/],
    ['prompt: "Challenge <1>"', 'prompt: "Challenge <2>"', /^30 upstreams\[0\]\.challenge_rules\[1\]\.prompt: <2>: the rule's first regex has 1 capture group/],
    ['prompt: "Challenge <1>"', 'prompt: "Your <PASSWORD>"', /^30 upstreams\[0\]\.challenge_rules\[1\]\.prompt: <PASSWORD> is only allowed in the password template/],
    ['prompt: "Challenge <1>"', 'prompt: "Enter <PIN>"', /^30 upstreams\[0\]\.challenge_rules\[1\]\.prompt: unknown placeholder <PIN>/],
    ['password: "<PASSWORD>"', 'password: "<PASSWRD>"', /^24 upstreams\[0\]\.challenge_rules\[0\]\.password: unknown placeholder <PASSWRD>/],
    ['attributes: { Connect-Info: auto-push }', 'attributes: { Conect-Info: auto-push }', /^25 upstreams\[0\]\.challenge_rules\[0\]\.attributes\.Conect-Info: unknown attribute Conect-Info/],
    ['attributes: { Connect-Info: auto-push }', 'attributes: { NAS-Port-Type: Virtul }', /^25 upstreams\[0\]\.challenge_rules\[0\]\.attributes\.NAS-Port-Type: NAS-Port-Type: Virtul is not/],
    ['match: [{ contains: locked }]', 'match: [{ attribute: Lockd, contains: locked }]', /^36 upstream_defaults\.challenge_rules\[0\]\.match\[0\]\.attribute: unknown attribute Lockd/],
  ];
  for (const [from, to, want] of cases) {
    const text = BASE + UPSTREAMS.replace(from, to);
    t.not(text, BASE + UPSTREAMS, `case applies: ${to}`);
    const got = problems(text);
    t.equal(got.length, 1, got.join('\n'));
    t.match(got[0], want);
  }
});

const quiet: UpstreamObserver = { stateChanged() {}, replyDropped() {}, retransmitted() {}, timedOut() {}, replied() {} };

t.test('upstream_defaults fill in; presets follow a server\'s own rules; rule changes keep the server', async (t) => {
  const r = load(BASE + UPSTREAMS);
  if (!r.ok) return t.fail(r.errors.map(formatIssue).join('\n'));
  const { set } = buildUpstreams(r.config, quiet);
  const rsa = set.servers.get('rsa')!;
  const plain = set.servers.get('plain')!;
  t.teardown(() => Promise.all([rsa.server.close(), plain.server.close()]));
  t.same(rsa.challenge.rules.map((x) => x.name), ['push', 'casque', 'rsa-securid/next-token', 'rsa-securid/system-pin', 'rsa-securid/new-pin']);
  t.equal(rsa.challenge.maxRounds, 2);
  t.same(plain.challenge.rules.map((x) => x.name), ['locked', 'otp/code'], 'the defaults, rules then presets');
  t.equal(plain.challenge.maxRounds, 3);

  const changed = load(BASE + UPSTREAMS.replace('prompt: "Challenge <1>"', 'prompt: "CASQUE <1>"').replace('challenge_max_rounds: 2', 'challenge_max_rounds: 1'));
  if (!changed.ok) return t.fail(changed.errors.map(formatIssue).join('\n'));
  const { set: next, retired } = buildUpstreams(changed.config, quiet, set);
  t.equal(next.servers.get('rsa')!.server, rsa.server, 'same server object: sockets and health kept');
  t.equal(next.servers.get('rsa')!.challenge.maxRounds, 1, 'with the new rules');
  t.same(retired, []);
});

t.test('conf/examples/challenge.yaml passes the dictionary checks too', async (t) => {
  const { readFileSync } = await import('node:fs');
  const path = new URL('../../../../conf/examples/challenge.yaml', import.meta.url);
  const r = loadConfigText(path.pathname, readFileSync(path, 'utf8'));
  if (!r.ok) return t.fail(r.errors.map(formatIssue).join('\n'));
  t.same(checkChallengeRules(r.config, dict, r.locate), []);
  t.equal(r.config.upstreams.length, 3);
});
