// Presets: every one compiles against the built-in dictionary and classifies its vendor's prompts.
import t from 'tap';
import { renderPrompt } from '../../../src/challenge/actions.js';
import { compileRuleSet } from '../../../src/challenge/compile.js';
import { findRule } from '../../../src/challenge/evaluate.js';
import { PRESET_NAMES, PRESETS, withPresets, type PresetName } from '../../../src/challenge/presets.js';
import { CHALLENGE_PRESETS } from '../../../src/config/schema.js';
import { Attr } from '../../../src/radius/attribute-types.js';
import { loadDictionary } from '../../../src/radius/builtin-dictionary.js';
import { Code } from '../../../src/radius/codes.js';
import type { RawAttribute } from '../../../src/radius/packet.js';

const dict = loadDictionary([]);
const challenge = (text: string): RawAttribute[] => [
  { type: Attr.ReplyMessage, value: Buffer.from(text, 'utf8') },
  { type: Attr.State, value: Buffer.from('state-1') },
];

t.test('the schema offers exactly the presets there are', async (t) => {
  t.same([...CHALLENGE_PRESETS], [...PRESET_NAMES]);
  t.same(Object.keys(PRESETS).sort(), [...PRESET_NAMES].sort());
});

t.test('every preset compiles; its rule names are preset/rule', async (t) => {
  for (const name of PRESET_NAMES) {
    const set = compileRuleSet(PRESETS[name], dict, 3);
    t.ok(set.rules.length > 0, name);
    for (const r of set.rules) t.match(r.name, new RegExp(`^${name}/[a-z-]+$`));
  }
});

/** [preset, upstream Reply-Message, expected rule (undefined: no match)] */
const CASES: [PresetName, string, string | undefined][] = [
  ['rsa-securid', 'Wait for token to change, then enter the new tokencode:', 'rsa-securid/next-token'],
  ['rsa-securid', 'PIN Accepted. Wait for the tokencode to change, then enter the new passcode:', 'rsa-securid/next-token'],
  ['rsa-securid', 'Enter a new PIN having from 4 to 8 digits:', 'rsa-securid/new-pin'],
  ['rsa-securid', 'Please re-enter new PIN:', 'rsa-securid/new-pin'],
  ['rsa-securid', 'Are you prepared to have the system generate your PIN? (y/n):', 'rsa-securid/system-pin'],
  ['rsa-securid', 'Welcome', undefined],
  ['steel-belted', 'Enter Next Token Code', 'steel-belted/next-token'],
  ['steel-belted', 'New PIN required. Enter your new PIN:', 'steel-belted/new-pin'],
  ['steel-belted', 'Enter PASSCODE:', 'steel-belted/passcode'],
  ['defender', 'Challenge: 48213765 Enter Response:', 'defender/challenge'],
  ['defender', 'Enter Synchronous Response:', 'defender/response'],
  ['defender', 'Enter new Defender PIN:', 'defender/new-pin'],
  ['defender', 'Your PIN has expired', 'defender/new-pin'],
  ['casque', 'CASQUE :Q2FzcXVlQ2hhbGxlbmdl+/=: respond', 'casque/challenge'],
  ['casque', 'no colons here', undefined],
  ['otp', 'Enter the one-time code sent by SMS to +44 7700 900123', 'otp/code'],
  ['otp', 'Enter the verification code from your authenticator app', 'otp/code'],
  ['otp', 'Please enter your OTP', 'otp/code'],
  ['otp', 'Password expired', undefined],
];

t.test('vendor prompts are classified', async (t) => {
  for (const [preset, text, expected] of CASES) {
    const set = compileRuleSet(PRESETS[preset], dict, 3);
    t.equal(findRule(set, Code.AccessChallenge, challenge(text), true)?.rule.name, expected, `${preset}: ${text}`);
    t.equal(findRule(set, Code.AccessReject, challenge(text), true), undefined, 'presets leave rejects alone');
  }
});

t.test('preset prompts: the server\'s own words, CASQUE\'s challenge cut out', async (t) => {
  const rsa = compileRuleSet(PRESETS['rsa-securid'], dict, 3);
  const text = 'Enter a new PIN having from 4 to 8 digits:';
  t.equal(renderPrompt(findRule(rsa, Code.AccessChallenge, challenge(text), true)!, challenge(text)).toString(), text);
  const casque = compileRuleSet(PRESETS.casque, dict, 3);
  const c = challenge('CASQUE Player challenge follows :Ab12+/=: end');
  t.equal(renderPrompt(findRule(casque, Code.AccessChallenge, c, true)!, c).toString(), 'CASQUE challenge :Ab12+/=:');
});

t.test('a server\'s own rules run before its presets', async (t) => {
  const own = [{ name: 'mine', on: 'access-challenge' as const, match: [{ attribute: 'Reply-Message', contains: 'token' }], action: 'error' as const, prompt: 'no tokens here' }];
  const set = compileRuleSet(withPresets(own, ['rsa-securid', 'otp']), dict, 3);
  t.equal(set.rules[0]!.name, 'mine');
  t.equal(set.rules.at(-1)!.name, 'otp/code');
  t.equal(findRule(set, Code.AccessChallenge, challenge('Wait for token to change'), true)?.rule.name, 'mine');
});
