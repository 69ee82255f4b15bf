/**
 * Evaluates compiled rules against the attributes of a verified upstream reply. Pure: the
 * reply's attributes in, the first matching rule (and its regex captures) out.
 *
 * How an attribute is read:
 *  - Reply-Message: all of them, concatenated in order, are one message (RFC 2865 §5.18 says
 *    they are displayed in order; servers split long messages over several attributes);
 *  - any other attribute that appears more than once: the expression holds if it holds for
 *    one of them (absent: for none);
 *  - text tests (equals on a string attribute, contains, regex) read string attributes as
 *    UTF-8 and other types as they appear in logs (value names, dotted addresses, 0x-hex);
 *  - equals on a non-string attribute compares the encoded value; compare reads the number;
 *  - an RFC 2868 tag is taken off first.
 */
import { Attr } from '../radius/attribute-types.js';
import type { AttributeDef, Dictionary } from '../radius/dictionary.js';
import type { RawAttribute } from '../radius/packet.js';
import { decodeValue, parseVendorSpecific } from '../radius/values.js';
import type { ChallengeRuleSet, CompiledExpression, CompiledRule, CompareOperator } from './types.js';

export interface RuleMatch {
  rule: CompiledRule;
  /** The captures of the rule's first regex expression (null when it has none). */
  captures: RegExpExecArray | null;
}

/**
 * The first rule for this reply code whose expressions all hold. A rule whose password
 * template needs <PASSWORD> is skipped when the NAS sent no User-Password (CHAP, EAP).
 */
export function findRule(set: ChallengeRuleSet, code: number, attributes: readonly RawAttribute[], hasPassword: boolean): RuleMatch | undefined {
  for (const rule of set.rules) {
    if (rule.code !== code) continue;
    if (rule.password?.usesPassword && !hasPassword) continue;
    let captures: RegExpExecArray | null = null;
    let holds = true;
    for (let j = 0; j < rule.expressions.length; j++) {
      const r = testExpression(rule.expressions[j]!, attributes, set.dict);
      if (r === false) {
        holds = false;
        break;
      }
      if (j === rule.captureFrom && r !== true) captures = r;
    }
    if (holds) return { rule, captures };
  }
  return undefined;
}

/** The upstream's Reply-Message attributes as one text (RFC 2865 §5.18), '' when there are none. */
export function replyMessage(attributes: readonly RawAttribute[]): string {
  const parts: Buffer[] = [];
  for (const a of attributes) if (a.type === Attr.ReplyMessage) parts.push(a.value);
  return parts.length === 0 ? '' : Buffer.concat(parts).toString('utf8');
}

/** false, or true, or the regex match (which holds). */
export function testExpression(e: CompiledExpression, attributes: readonly RawAttribute[], dict: Dictionary): boolean | RegExpExecArray {
  const values = valuesOf(e, attributes, dict);
  const test = e.test;
  switch (test.op) {
    case 'present':
      return values.length > 0;
    case 'absent':
      return values.length === 0;
    case 'bytes-equals':
      return values.some((v) => v.equals(test.value));
    case 'compare':
      return values.some((v) => {
        const n = numberOf(e.def, v);
        return n !== undefined && compare(n, test.cmp, test.value);
      });
    case 'text-equals':
    case 'contains': {
      for (const v of values) {
        let text = textOf(e.def, v);
        if (test.ignoreCase) text = text.toLowerCase();
        if (test.op === 'text-equals' ? text === test.value : text.includes(test.value)) return true;
      }
      return false;
    }
    case 'regex':
      for (const v of values) {
        const m = test.re.exec(textOf(e.def, v));
        if (m) return m;
      }
      return false;
  }
}

function valuesOf(e: CompiledExpression, attributes: readonly RawAttribute[], dict: Dictionary): Buffer[] {
  const out: Buffer[] = [];
  const t = e.target;
  for (const a of attributes) {
    if (t.kind === 'standard') {
      if (a.type === t.type) out.push(a.value);
    } else if (t.kind === 'vendor') {
      if (a.type !== Attr.VendorSpecific || a.value.length < 4 || a.value.readUInt32BE(0) !== t.vendorId) continue;
      const vsa = parseVendorSpecific(a.value, (id) => dict.vendorById(id));
      for (const sub of vsa?.attributes ?? []) if (sub.type === t.type) out.push(sub.value);
    } else if (a.type === t.type && a.value.length >= (t.long ? 2 : 1) && a.value[0] === t.extType) {
      out.push(a.value.subarray(t.long ? 2 : 1));
    }
  }
  if (e.tagged !== 'none') {
    for (let i = 0; i < out.length; i++) out[i] = untag(out[i]!, e.tagged);
  }
  if (e.concatenate && out.length > 1) return [Buffer.concat(out)];
  return out;
}

/** RFC 2868 §3.1: a first octet of 0x00..0x1F is a tag; a tagged integer keeps 24 bits. */
function untag(v: Buffer, how: 'octet' | 'integer'): Buffer {
  if (how === 'integer') {
    if (v.length !== 4) return v;
    const copy = Buffer.from(v);
    copy[0] = 0;
    return copy;
  }
  return v.length > 0 && v[0]! <= 0x1f ? v.subarray(1) : v;
}

function textOf(def: AttributeDef, v: Buffer): string {
  if (def.type === 'string') return v.toString('utf8');
  return String(decodeValue(def, v));
}

function numberOf(def: AttributeDef, v: Buffer): number | undefined {
  switch (def.type) {
    case 'integer':
    case 'date':
      return v.length === 4 ? v.readUInt32BE(0) : undefined;
    case 'signed':
      return v.length === 4 ? v.readInt32BE(0) : undefined;
    case 'byte':
      return v.length === 1 ? v[0] : undefined;
    case 'short':
      return v.length === 2 ? v.readUInt16BE(0) : undefined;
    case 'integer64':
      return v.length === 8 ? Number(v.readBigUInt64BE(0)) : undefined;
    default:
      return undefined;
  }
}

function compare(n: number, op: CompareOperator, value: number): boolean {
  switch (op) {
    case '<':
      return n < value;
    case '<=':
      return n <= value;
    case '>':
      return n > value;
    case '>=':
      return n >= value;
    case '==':
      return n === value;
  }
}
