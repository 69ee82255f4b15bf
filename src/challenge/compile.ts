/**
 * Compiles rule specs once, at config load: attribute names resolved to numbers through the
 * dictionary, regexes compiled, values encoded, templates parsed. Every problem is returned
 * with the path of the offending key (relative to the rule list) so the caller can name the
 * file, the line and the key; nothing is thrown for a bad rule.
 */
import { Attr } from '../radius/attribute-types.js';
import { resolveAttribute, type AttributeTemplate } from '../radius/attributes.js';
import { Code } from '../radius/codes.js';
import type { AttributeDef, DataType, Dictionary } from '../radius/dictionary.js';
import { encodeValue, ValueError } from '../radius/values.js';
import { ChallengeError } from './errors.js';
import { literalLength, parseTemplate, regexGroups } from './template.js';
import { RELAY_ACTIONS, type AttributeTarget, type ChallengeRuleSet, type CompiledExpression, type CompiledRule, type CompiledTest, type ExpressionSpec, type RuleSpec, type Template } from './types.js';

export interface RuleIssue {
  /** Relative to the list the specs came from, e.g. [2, 'match', 0, 'attribute']. */
  path: (string | number)[];
  message: string;
}

export type CompileResult = { ok: true; rules: CompiledRule[] } | { ok: false; issues: RuleIssue[] };

const NUMERIC: ReadonlySet<DataType> = new Set(['integer', 'byte', 'short', 'signed', 'integer64', 'date']);
const CONTAINERS: ReadonlySet<DataType> = new Set(['tlv', 'vsa', 'evs', 'extended', 'long-extended']);
/** Attributes the automatic request gets from aaaproxy itself. */
const MANAGED = new Set<number>([
  Attr.UserPassword,
  Attr.ChapPassword,
  Attr.ChapChallenge,
  Attr.State,
  Attr.ProxyState,
  Attr.MessageAuthenticator,
  Attr.EapMessage,
]);
/** RFC 2865 §5.2: at most 128 octets. */
const MAX_PASSWORD = 128;

export function compileRules(specs: readonly RuleSpec[], dict: Dictionary): CompileResult {
  const issues: RuleIssue[] = [];
  const rules: CompiledRule[] = [];
  specs.forEach((spec, i) => {
    const rule = compileRule(spec, dict, (path, message) => issues.push({ path: [i, ...path], message }));
    if (rule) rules.push(rule);
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, rules };
}

/** For specs already validated (the daemon, after check-config's checks passed): throws on a bad one. */
export function compileRuleSet(specs: readonly RuleSpec[], dict: Dictionary, maxRounds: number): ChallengeRuleSet {
  const r = compileRules(specs, dict);
  if (!r.ok) throw new ChallengeError('AAA_ERR_CHALLENGE_RULE_INVALID', r.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return { rules: r.rules, maxRounds, dict };
}

type Report = (path: (string | number)[], message: string) => void;

function compileRule(spec: RuleSpec, dict: Dictionary, report: Report): CompiledRule | undefined {
  let failed = false;
  const fail: Report = (path, message) => {
    failed = true;
    report(path, message);
  };
  const expressions: CompiledExpression[] = [];
  let captureFrom = -1;
  spec.match.forEach((e, j) => {
    const compiled = compileExpression(e, dict, (path, message) => fail(['match', j, ...path], message));
    if (!compiled) return;
    if (captureFrom < 0 && compiled.test.op === 'regex') captureFrom = expressions.length;
    expressions.push(compiled);
  });
  if (spec.match.length === 0) fail(['match'], 'needs at least one expression');

  const relay = RELAY_ACTIONS.has(spec.action);
  if (relay && spec.on === 'access-reject') fail(['on'], `${spec.action} relays an Access-Challenge with the upstream's State; an Access-Reject has none (use error or send-access-request)`);

  const capture = captureFrom >= 0 ? (expressions[captureFrom]!.test as { re: RegExp }).re : undefined;
  const groups = capture ? regexGroups(capture) : { groups: -1, names: new Set<string>() };

  let prompt: Template | undefined;
  if (relay || spec.action === 'error') {
    if (spec.prompt === undefined) fail(['prompt'], `${spec.action} needs a prompt (the Reply-Message the NAS gets; <REPLY> is the upstream's own)`);
    else {
      const t = parseTemplate(spec.prompt, { password: false, reply: true, ...groups });
      if (t.ok) prompt = t.template;
      else fail(['prompt'], t.message);
    }
  } else if (spec.prompt !== undefined) fail(['prompt'], 'send-access-request answers the upstream itself: there is no prompt');

  let password: Template | undefined;
  const extra: AttributeTemplate[] = [];
  const replaces = new Set<number>();
  if (spec.action === 'send-access-request') {
    const t = parseTemplate(spec.password ?? '<PASSWORD>', { password: true, reply: false, ...groups });
    if (!t.ok) fail(['password'], t.message);
    else if (literalLength(t.template) > MAX_PASSWORD) fail(['password'], `longer than the ${MAX_PASSWORD} octets a User-Password may have (RFC 2865 §5.2)`);
    else password = t.template;
    for (const [name, value] of Object.entries(spec.attributes ?? {})) {
      const known = dict.byAttributeName(name.replace(/:\d+$/, ''));
      if (known && known.vendorId === 0 && known.path.length === 1 && MANAGED.has(known.path[0]!)) {
        fail(['attributes', name], `${known.name} is set by aaaproxy itself in the automatic request`);
        continue;
      }
      try {
        const a = resolveAttribute(dict, name, value);
        if (a.def.vendorId === 0 && a.def.path.length === 1) replaces.add(a.def.path[0]!);
        extra.push(a);
      } catch (err) {
        if (!(err instanceof ValueError)) throw err;
        fail(['attributes', name], err.message);
      }
    }
  } else {
    if (spec.password !== undefined) fail(['password'], 'only send-access-request sends a password');
    if (spec.attributes !== undefined) fail(['attributes'], 'only send-access-request sends attributes');
  }

  if (failed) return undefined;
  return {
    name: spec.name,
    code: spec.on === 'access-challenge' ? Code.AccessChallenge : Code.AccessReject,
    action: spec.action,
    expressions,
    captureFrom,
    prompt,
    password,
    extra,
    replaces,
  };
}

function targetOf(def: AttributeDef): AttributeTarget | string {
  if (def.vendorId < 0) return 'is an extended vendor attribute, which rules cannot test yet';
  const [top, sub, ...deeper] = def.path as number[];
  if (deeper.length > 0) return 'is a nested TLV member, which rules cannot test';
  if (def.vendorId > 0) {
    if (sub !== undefined) return 'is a nested vendor TLV member, which rules cannot test';
    return { kind: 'vendor', vendorId: def.vendorId, type: top! };
  }
  if (sub !== undefined) {
    if (top! < Attr.ExtendedFirst || top! > Attr.ExtendedLast) return 'is a TLV member, which rules cannot test';
    return { kind: 'extended', type: top!, extType: sub, long: top === 245 || top === 246 };
  }
  return { kind: 'standard', type: top! };
}

function compileExpression(e: ExpressionSpec, dict: Dictionary, fail: Report): CompiledExpression | undefined {
  const def = dict.byAttributeName(e.attribute);
  if (!def) {
    fail(['attribute'], `unknown attribute ${e.attribute} (not in the dictionaries)`);
    return undefined;
  }
  const target = targetOf(def);
  if (typeof target === 'string') {
    fail(['attribute'], `${def.name} ${target}`);
    return undefined;
  }
  const opaque = def.encrypt !== 0 ? 'is encrypted on the wire' : CONTAINERS.has(def.type) ? `is a container (${def.type})` : undefined;
  const ignoreCase = e.ignore_case ?? false;
  let test: CompiledTest;
  if (e.present) test = { op: 'present' };
  else if (e.absent) test = { op: 'absent' };
  else if (opaque) {
    fail(['attribute'], `${def.name} ${opaque}: only present and absent can test it`);
    return undefined;
  } else if (e.regex !== undefined) {
    try {
      // No g or y flag: a RegExp with them keeps lastIndex between replies.
      test = { op: 'regex', re: new RegExp(e.regex, ignoreCase ? 'i' : '') };
    } catch (err) {
      fail(['regex'], `not a valid regular expression: ${(err as Error).message}`);
      return undefined;
    }
  } else if (e.contains !== undefined) {
    test = { op: 'contains', value: ignoreCase ? e.contains.toLowerCase() : e.contains, ignoreCase };
  } else if (e.compare !== undefined) {
    if (!NUMERIC.has(def.type)) {
      fail(['compare'], `a numeric compare needs a numeric attribute; ${def.name} is ${def.type} (use regex for numbers in text)`);
      return undefined;
    }
    test = { op: 'compare', cmp: e.compare.op, value: e.compare.value };
  } else if (e.equals !== undefined) {
    if (def.type === 'string') {
      const value = String(e.equals);
      test = { op: 'text-equals', value: ignoreCase ? value.toLowerCase() : value, ignoreCase };
    } else {
      if (ignoreCase) {
        fail(['ignore_case'], `${def.name} is ${def.type}: equals compares its value, not text`);
        return undefined;
      }
      try {
        test = { op: 'bytes-equals', value: encodeValue(def, e.equals) };
      } catch (err) {
        if (!(err instanceof ValueError)) throw err;
        fail(['equals'], err.message);
        return undefined;
      }
    }
  } else {
    fail([], 'needs one of present, absent, equals, contains, regex, compare');
    return undefined;
  }
  return {
    attribute: def.name,
    target,
    concatenate: target.kind === 'standard' && target.type === Attr.ReplyMessage,
    tagged: !def.hasTag ? 'none' : def.type === 'integer' || def.type === 'date' ? 'integer' : 'octet',
    def,
    test,
  };
}
