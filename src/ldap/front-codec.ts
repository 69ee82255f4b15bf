/**
 * Decoding of the LDAP requests a client sends to the front server (RFC 4511 §4), and the
 * search filter carried through to the directory byte for byte. Pure, no I/O.
 *
 * Why not ldapjs's own parser (ldapjs 3 / @ldapjs/messages) for requests: it throws on a SASL
 * bind instead of letting us answer authMethodNotSupported; it decodes a search filter, prints
 * it as a string without escaping backslashes and parses that string again (RFC 4515 escapes
 * ignored, see filter-build.ts), so a filter does not reach the directory as the client sent
 * it; it recurses into filters with no depth limit; and a parse error loses the message ID we
 * need to answer. Here each message is checked against the RFC 4511 grammar with the strict
 * reader of ber.ts, filter nesting is bounded while it is walked, and the filter's own bytes
 * are what the directory receives (rawFilter()). Responses are still encoded by ldapjs
 * (front-responses.ts).
 */
import { BerError, children, expectTag, readBoolean, readBytes, readTlv, readUint, readUtf8, type BerFailure, type Tlv } from './ber.js';

export interface Control {
  oid: string;
  critical: boolean;
}

/** RFC 4511 §4.5.1.2 scope; §4.5.1.3 derefAliases. */
export type SearchScope = 0 | 1 | 2;

export type ModifyOperation = 'add' | 'delete' | 'replace' | 'increment';

export interface ModifyChange {
  operation: ModifyOperation;
  type: string;
  values: Buffer[];
}

interface Base {
  /** RFC 4511 §4.1.1.1 messageID. */
  id: number;
  controls: Control[];
}

export type LdapRequest =
  | (Base & { op: 'bind'; version: number; name: string; auth: { kind: 'simple'; password: Buffer } | { kind: 'sasl'; mechanism: string } })
  | (Base & { op: 'unbind' })
  | (Base & {
      op: 'search';
      base: string;
      scope: SearchScope;
      derefAliases: number;
      sizeLimit: number;
      timeLimit: number;
      typesOnly: boolean;
      /** The filter element exactly as the client encoded it (validated, depth-checked). */
      filter: Buffer;
      /** Nesting depth of and/or/not (a lone item is 1). */
      filterDepth: number;
      attributes: string[];
    })
  | (Base & { op: 'modify'; object: string; changes: ModifyChange[] })
  | (Base & { op: 'add'; entry: string })
  | (Base & { op: 'delete'; entry: string })
  | (Base & { op: 'modifyDN'; entry: string })
  | (Base & { op: 'compare'; entry: string; attribute: string; value: Buffer })
  | (Base & { op: 'abandon'; abandonId: number })
  | (Base & { op: 'extended'; oid: string; value: Buffer | undefined });

export type RequestOp = LdapRequest['op'];

/** Why a message was refused (a closed set: metric label and log reason). */
export type DecodeFailure = BerFailure | 'unknown_operation' | 'filter_too_deep' | 'bad_message_id';

export type DecodeResult =
  | { ok: true; request: LdapRequest }
  /** `id` and `responseTag` when they could be read (to answer the request rather than only disconnect). */
  | { ok: false; reason: DecodeFailure; id?: number; responseTag?: number };

/** Protocol op tags (RFC 4511 §4.2-§4.12), [APPLICATION n]. */
export const OpTag = {
  bindRequest: 0x60,
  bindResponse: 0x61,
  unbindRequest: 0x42,
  searchRequest: 0x63,
  searchResultEntry: 0x64,
  searchResultDone: 0x65,
  searchResultReference: 0x73,
  modifyRequest: 0x66,
  modifyResponse: 0x67,
  addRequest: 0x68,
  addResponse: 0x69,
  delRequest: 0x4a,
  delResponse: 0x6b,
  modDNRequest: 0x6c,
  modDNResponse: 0x6d,
  compareRequest: 0x6e,
  compareResponse: 0x6f,
  abandonRequest: 0x50,
  extendedRequest: 0x77,
  extendedResponse: 0x78,
} as const;

const RESPONSE_TAG: Record<number, number> = {
  [OpTag.bindRequest]: OpTag.bindResponse,
  [OpTag.searchRequest]: OpTag.searchResultDone,
  [OpTag.modifyRequest]: OpTag.modifyResponse,
  [OpTag.addRequest]: OpTag.addResponse,
  [OpTag.delRequest]: OpTag.delResponse,
  [OpTag.modDNRequest]: OpTag.modDNResponse,
  [OpTag.compareRequest]: OpTag.compareResponse,
  [OpTag.extendedRequest]: OpTag.extendedResponse,
};

const TAG_OCTET_STRING = 0x04;
const TAG_INTEGER = 0x02;
const TAG_BOOLEAN = 0x01;
const TAG_ENUMERATED = 0x0a;
const TAG_SEQUENCE = 0x30;
const TAG_SET = 0x31;
const TAG_CONTROLS = 0xa0;
const MODIFY_OPERATIONS: readonly ModifyOperation[] = ['add', 'delete', 'replace', 'increment'];

export interface DecodeLimits {
  /** Deepest and/or/not nesting accepted in a search filter. */
  maxFilterDepth: number;
}

/** Decodes one complete LDAPMessage (as framed by ber.ts frameHead). Never throws. */
export function decodeRequest(frame: Buffer, limits: DecodeLimits): DecodeResult {
  let id: number | undefined;
  let responseTag: number | undefined;
  try {
    const msg = readTlv(frame, 0, frame.length);
    if (msg.tag !== TAG_SEQUENCE || msg.end !== frame.length) throw new BerError('unexpected_tag');
    const parts = children(frame, msg);
    const idTlv = expectTag(parts[0], TAG_INTEGER);
    try {
      id = readUint(frame, idTlv);
    } catch {
      return { ok: false, reason: 'bad_message_id' };
    }
    const op = parts[1];
    if (op === undefined) throw new BerError('truncated');
    responseTag = RESPONSE_TAG[op.tag];
    let controls: Control[] = [];
    if (parts.length > 3) throw new BerError('trailing_bytes');
    if (parts.length === 3) controls = decodeControls(frame, expectTag(parts[2], TAG_CONTROLS));
    // RFC 4511 §4.1.1.1: messageID 0 is reserved for unsolicited notifications.
    if (id === 0) return { ok: false, reason: 'bad_message_id', ...(responseTag !== undefined ? { responseTag } : {}) };
    const request = decodeOp(frame, op, id, controls, limits);
    if (request === undefined) return { ok: false, reason: 'unknown_operation', id };
    return { ok: true, request };
  } catch (err) {
    if (err instanceof FilterTooDeep) return { ok: false, reason: 'filter_too_deep', ...(id !== undefined ? { id } : {}), ...(responseTag !== undefined ? { responseTag } : {}) };
    if (!(err instanceof BerError)) throw err;
    return { ok: false, reason: err.reason, ...(id !== undefined ? { id } : {}), ...(responseTag !== undefined ? { responseTag } : {}) };
  }
}

function decodeOp(buf: Buffer, op: Tlv, id: number, controls: Control[], limits: DecodeLimits): LdapRequest | undefined {
  const base = { id, controls };
  switch (op.tag) {
    case OpTag.bindRequest: {
      // RFC 4511 §4.2: version INTEGER (1..127), name LDAPDN, authentication CHOICE.
      const [v, n, a, ...rest] = children(buf, op);
      if (rest.length > 0) throw new BerError('trailing_bytes');
      const version = readUint(buf, expectTag(v, TAG_INTEGER));
      const name = readUtf8(buf, expectTag(n, TAG_OCTET_STRING));
      if (a === undefined) throw new BerError('truncated');
      if (a.tag === 0x80) return { ...base, op: 'bind', version, name, auth: { kind: 'simple', password: Buffer.from(readBytes(buf, a)) } };
      if (a.tag === 0xa3) {
        const [mech] = children(buf, a);
        return { ...base, op: 'bind', version, name, auth: { kind: 'sasl', mechanism: readUtf8(buf, expectTag(mech, TAG_OCTET_STRING)) } };
      }
      throw new BerError('unexpected_tag');
    }
    case OpTag.unbindRequest:
      return { ...base, op: 'unbind' };
    case OpTag.searchRequest: {
      // RFC 4511 §4.5.1.
      const [b, s, d, sl, tl, to, f, at, ...rest] = children(buf, op);
      if (rest.length > 0) throw new BerError('trailing_bytes');
      const scope = readUint(buf, expectTag(s, TAG_ENUMERATED));
      if (scope > 2) throw new BerError('bad_value');
      const derefAliases = readUint(buf, expectTag(d, TAG_ENUMERATED));
      if (derefAliases > 3) throw new BerError('bad_value');
      if (f === undefined) throw new BerError('truncated');
      const filterDepth = checkFilter(buf, f, 1, limits.maxFilterDepth);
      const attributes = children(buf, expectTag(at, TAG_SEQUENCE)).map((x) => readUtf8(buf, expectTag(x, TAG_OCTET_STRING)));
      return {
        ...base,
        op: 'search',
        base: readUtf8(buf, expectTag(b, TAG_OCTET_STRING)),
        scope: scope as SearchScope,
        derefAliases,
        sizeLimit: readUint(buf, expectTag(sl, TAG_INTEGER)),
        timeLimit: readUint(buf, expectTag(tl, TAG_INTEGER)),
        typesOnly: readBoolean(buf, expectTag(to, TAG_BOOLEAN)),
        filter: Buffer.from(buf.subarray(f.start, f.end)),
        filterDepth,
        attributes,
      };
    }
    case OpTag.modifyRequest: {
      // RFC 4511 §4.6.
      const [o, c, ...rest] = children(buf, op);
      if (rest.length > 0) throw new BerError('trailing_bytes');
      const object = readUtf8(buf, expectTag(o, TAG_OCTET_STRING));
      const changes = children(buf, expectTag(c, TAG_SEQUENCE)).map((change) => {
        const [operation, modification, ...more] = children(buf, expectTag(change, TAG_SEQUENCE));
        if (more.length > 0) throw new BerError('trailing_bytes');
        const kind = MODIFY_OPERATIONS[readUint(buf, expectTag(operation, TAG_ENUMERATED))];
        if (kind === undefined) throw new BerError('bad_value');
        const [type, vals, ...extra] = children(buf, expectTag(modification, TAG_SEQUENCE));
        if (extra.length > 0) throw new BerError('trailing_bytes');
        return {
          operation: kind,
          type: readUtf8(buf, expectTag(type, TAG_OCTET_STRING)),
          values: children(buf, expectTag(vals, TAG_SET)).map((v) => Buffer.from(readBytes(buf, expectTag(v, TAG_OCTET_STRING)))),
        };
      });
      return { ...base, op: 'modify', object, changes };
    }
    case OpTag.addRequest:
      return { ...base, op: 'add', entry: readUtf8(buf, expectTag(children(buf, op)[0], TAG_OCTET_STRING)) };
    case OpTag.delRequest:
      return { ...base, op: 'delete', entry: readUtf8(buf, op) };
    case OpTag.modDNRequest:
      return { ...base, op: 'modifyDN', entry: readUtf8(buf, expectTag(children(buf, op)[0], TAG_OCTET_STRING)) };
    case OpTag.compareRequest: {
      // RFC 4511 §4.10: entry LDAPDN, ava AttributeValueAssertion.
      const [e, ava, ...rest] = children(buf, op);
      if (rest.length > 0) throw new BerError('trailing_bytes');
      const [attr, value, ...more] = children(buf, expectTag(ava, TAG_SEQUENCE));
      if (more.length > 0) throw new BerError('trailing_bytes');
      return {
        ...base,
        op: 'compare',
        entry: readUtf8(buf, expectTag(e, TAG_OCTET_STRING)),
        attribute: readUtf8(buf, expectTag(attr, TAG_OCTET_STRING)),
        value: Buffer.from(readBytes(buf, expectTag(value, TAG_OCTET_STRING))),
      };
    }
    case OpTag.abandonRequest:
      return { ...base, op: 'abandon', abandonId: readUint(buf, op) };
    case OpTag.extendedRequest: {
      // RFC 4511 §4.12: requestName [0] LDAPOID, requestValue [1] OCTET STRING OPTIONAL.
      const [name, value, ...rest] = children(buf, op);
      if (rest.length > 0) throw new BerError('trailing_bytes');
      const oid = readUtf8(buf, expectTag(name, 0x80));
      if (value !== undefined && value.tag !== 0x81) throw new BerError('unexpected_tag');
      return { ...base, op: 'extended', oid, value: value ? Buffer.from(readBytes(buf, value)) : undefined };
    }
    default:
      // A response tag, an IntermediateResponse, or nothing RFC 4511 defines.
      return undefined;
  }
}

function decodeControls(buf: Buffer, t: Tlv): Control[] {
  // RFC 4511 §4.1.11: Control ::= SEQUENCE { controlType LDAPOID, criticality BOOLEAN DEFAULT FALSE, controlValue OCTET STRING OPTIONAL }
  return children(buf, t).map((c) => {
    const [type, ...rest] = children(buf, expectTag(c, TAG_SEQUENCE));
    const oid = readUtf8(buf, expectTag(type, TAG_OCTET_STRING));
    let critical = false;
    let i = 0;
    if (rest[i]?.tag === TAG_BOOLEAN) critical = readBoolean(buf, rest[i++]!);
    if (rest[i]?.tag === TAG_OCTET_STRING) i++;
    if (i !== rest.length) throw new BerError('trailing_bytes');
    return { oid, critical };
  });
}

class FilterTooDeep extends Error {}

/**
 * Checks a Filter (RFC 4511 §4.5.1.7) against the grammar and returns its nesting depth; stops
 * as soon as the depth passes `max`, so the walk never goes deeper than the limit.
 */
function checkFilter(buf: Buffer, f: Tlv, depth: number, max: number): number {
  if (depth > max) throw new FilterTooDeep();
  switch (f.tag) {
    case 0xa0: // and [0] SET OF Filter
    case 0xa1: {
      // or [1] SET OF Filter (RFC 4526: an empty set is the absolute true / false filter)
      let deepest = depth;
      for (const c of children(buf, f)) deepest = Math.max(deepest, checkFilter(buf, c, depth + 1, max));
      return deepest;
    }
    case 0xa2: {
      // not [2] Filter
      const [inner, ...rest] = children(buf, f);
      if (inner === undefined) throw new BerError('truncated');
      if (rest.length > 0) throw new BerError('trailing_bytes');
      return checkFilter(buf, inner, depth + 1, max);
    }
    case 0xa3: // equalityMatch [3] AttributeValueAssertion
    case 0xa5: // greaterOrEqual [5]
    case 0xa6: // lessOrEqual [6]
    case 0xa8: {
      // approxMatch [8]
      const [attr, value, ...rest] = children(buf, f);
      expectTag(attr, TAG_OCTET_STRING);
      readUtf8(buf, attr!);
      expectTag(value, TAG_OCTET_STRING);
      if (rest.length > 0) throw new BerError('trailing_bytes');
      return depth;
    }
    case 0xa4: {
      // substrings [4] SubstringFilter: type, SEQUENCE SIZE (1..MAX) OF [0] initial | [1] any | [2] final
      const [attr, subs, ...rest] = children(buf, f);
      readUtf8(buf, expectTag(attr, TAG_OCTET_STRING));
      const items = children(buf, expectTag(subs, TAG_SEQUENCE));
      if (items.length === 0 || rest.length > 0) throw new BerError('bad_value');
      for (const s of items) if (s.tag !== 0x80 && s.tag !== 0x81 && s.tag !== 0x82) throw new BerError('unexpected_tag');
      return depth;
    }
    case 0x87: // present [7] AttributeDescription
      readUtf8(buf, f);
      return depth;
    case 0xa9: {
      // extensibleMatch [9] MatchingRuleAssertion: [1] rule?, [2] type?, [3] value, [4] dnAttributes?
      const items = children(buf, f);
      let i = 0;
      if (items[i]?.tag === 0x81) readUtf8(buf, items[i++]!);
      if (items[i]?.tag === 0x82) readUtf8(buf, items[i++]!);
      expectTag(items[i++], 0x83);
      if (items[i]?.tag === 0x84) readBoolean(buf, items[i++]!);
      if (i !== items.length) throw new BerError('trailing_bytes');
      return depth;
    }
    default:
      throw new BerError('unexpected_tag');
  }
}

/**
 * A search filter that ldapjs's client sends exactly as the front server's client encoded it.
 * ldapjs checks filters by their toStringTag and encodes them with toBer().buffer
 * (@ldapjs/messages SearchRequest._toBer), so the bytes go through untouched: no string form,
 * no RFC 4515 escaping to get wrong (filter-build.ts is for filters we write as strings).
 */
export function rawFilter(bytes: Buffer): unknown {
  return {
    get [Symbol.toStringTag]() {
      return 'FilterString';
    },
    toBer: () => ({ buffer: bytes }),
    toString: () => `[filter ${bytes.length} bytes]`,
  };
}
