// Requests as ldapjs (an independent encoder) writes them, decoded by the front server's codec.
import t from 'tap';
import ldap from 'ldapjs';
import { decodeRequest, rawFilter, type LdapRequest } from '../../../src/ldap/front-codec.js';
import { buildFilter } from '../../../src/ldap/filter-build.js';
import { encodeExtended, encodeNoticeOfDisconnection, encodeResult } from '../../../src/ldap/front-responses.js';

type Any = Record<string, unknown>;
const L = ldap as unknown as Record<string, new (o: Any) => { toBer(): { buffer: Buffer } }>;
const ber = (cls: string, o: Any): Buffer => new L[cls]!(o).toBer().buffer;
const limits = { maxFilterDepth: 8 };

function decoded(frame: Buffer): LdapRequest {
  const d = decodeRequest(frame, limits);
  if (!d.ok) throw new Error(`decode failed: ${d.reason}`);
  return d.request;
}

/** BER TLV with a definite length. */
function tlv(tag: number, value: Buffer): Buffer {
  const n = value.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, value]);
}
const message = (id: number, op: Buffer, controls?: Buffer) => tlv(0x30, Buffer.concat([tlv(0x02, Buffer.from([id])), op, ...(controls ? [controls] : [])]));

t.test('simple bind, with the password as octets', async (t) => {
  const r = decoded(ber('BindRequest', { messageId: 3, name: 'uid=alice,ou=people,dc=example,dc=test', credentials: 'pässword' }));
  t.match(r, { op: 'bind', id: 3, version: 3, name: 'uid=alice,ou=people,dc=example,dc=test', auth: { kind: 'simple' } });
  if (r.op === 'bind' && r.auth.kind === 'simple') t.same(r.auth.password, Buffer.from('pässword'));
});

t.test('SASL bind decodes (to be answered authMethodNotSupported), where ldapjs\'s own parser throws', async (t) => {
  const sasl = tlv(0xa3, tlv(0x04, Buffer.from('EXTERNAL')));
  const op = tlv(0x60, Buffer.concat([tlv(0x02, Buffer.from([3])), tlv(0x04, Buffer.alloc(0)), sasl]));
  t.match(decoded(message(9, op)), { op: 'bind', id: 9, auth: { kind: 'sasl', mechanism: 'EXTERNAL' } });
});

t.test('search: fields, and the filter kept as the client encoded it', async (t) => {
  const filter = buildFilter('(&(uid=a\\2ab\\5c)(|(cn=x*y*z)(mail>=m))(!(objectClass=device)))');
  const frame = ber('SearchRequest', { messageId: 4, baseObject: 'ou=people,dc=example,dc=test', scope: 'sub', sizeLimit: 10, timeLimit: 5, filter, attributes: ['cn', 'mail'] });
  const r = decoded(frame);
  t.match(r, { op: 'search', id: 4, base: 'ou=people,dc=example,dc=test', scope: 2, sizeLimit: 10, timeLimit: 5, typesOnly: false, attributes: ['cn', 'mail'], filterDepth: 3 });
  if (r.op !== 'search') return;
  const original = (filter as unknown as { toBer(): { buffer: Buffer } }).toBer().buffer;
  t.same(r.filter, original, 'the filter bytes as sent');
  // Through ldapjs's client-side SearchRequest: the same bytes go to the directory.
  const out = ber('SearchRequest', { messageId: 1, baseObject: r.base, scope: 'sub', filter: rawFilter(r.filter) });
  t.ok(out.includes(original), 'ldapjs encodes the raw filter verbatim');
});

t.test('filter nesting is bounded while it is walked', async (t) => {
  const nested = (depth: number) => {
    let f = tlv(0x87, Buffer.from('objectClass'));
    for (let i = 1; i < depth; i++) f = tlv(i % 3 === 0 ? 0xa2 : 0xa0, f);
    return f;
  };
  const search = (filter: Buffer) =>
    message(
      5,
      tlv(
        0x63,
        Buffer.concat([
          tlv(0x04, Buffer.from('dc=x')),
          tlv(0x0a, Buffer.from([2])),
          tlv(0x0a, Buffer.from([0])),
          tlv(0x02, Buffer.from([0])),
          tlv(0x02, Buffer.from([0])),
          tlv(0x01, Buffer.from([0])),
          filter,
          tlv(0x30, Buffer.alloc(0)),
        ]),
      ),
    );
  t.match(decodeRequest(search(nested(8)), limits), { ok: true, request: { filterDepth: 8 } });
  t.same(decodeRequest(search(nested(9)), limits), { ok: false, reason: 'filter_too_deep', id: 5, responseTag: 0x65 });
  t.same(decodeRequest(search(nested(5000)), limits), { ok: false, reason: 'filter_too_deep', id: 5, responseTag: 0x65 }, 'no stack overflow');
  t.match(decodeRequest(search(tlv(0xa3, tlv(0x04, Buffer.from('cn')))), limits), { ok: false, reason: 'unexpected_tag', id: 5 }, 'an AVA without a value');
  t.match(decodeRequest(search(tlv(0xa4, Buffer.concat([tlv(0x04, Buffer.from('cn')), tlv(0x30, Buffer.alloc(0))]))), limits), { ok: false, reason: 'bad_value' }, 'empty substrings');
});

t.test('compare, modify, extended, abandon, unbind, add, delete, modifyDN', async (t) => {
  t.match(decoded(ber('CompareRequest', { messageId: 6, entry: 'uid=a,dc=x', attribute: 'mail', value: 'a@x' })), {
    op: 'compare',
    entry: 'uid=a,dc=x',
    attribute: 'mail',
    value: Buffer.from('a@x'),
  });
  const change = new (ldap as unknown as { Change: new (o: Any) => unknown }).Change({ operation: 'replace', modification: { type: 'userPassword', values: ['new'] } });
  t.match(decoded(ber('ModifyRequest', { messageId: 7, object: 'uid=a,dc=x', changes: [change] })), {
    op: 'modify',
    object: 'uid=a,dc=x',
    changes: [{ operation: 'replace', type: 'userPassword', values: [Buffer.from('new')] }],
  });
  t.match(decoded(ber('ExtendedRequest', { messageId: 8, requestName: '1.3.6.1.4.1.4203.1.11.3' })), { op: 'extended', oid: '1.3.6.1.4.1.4203.1.11.3', value: undefined });
  t.match(decoded(ber('AbandonRequest', { messageId: 9, abandonId: 4 })), { op: 'abandon', abandonId: 4 });
  t.match(decoded(ber('UnbindRequest', { messageId: 10 })), { op: 'unbind', id: 10 });
  t.match(decoded(ber('DeleteRequest', { messageId: 11, entry: 'uid=a,dc=x' })), { op: 'delete', entry: 'uid=a,dc=x' });
  t.match(decoded(ber('AddRequest', { messageId: 12, entry: 'uid=a,dc=x', attributes: [] })), { op: 'add', entry: 'uid=a,dc=x' });
  t.match(decoded(ber('ModifyDNRequest', { messageId: 13, entry: 'uid=a,dc=x', newRdn: 'uid=b' })), { op: 'modifyDN', entry: 'uid=a,dc=x' });
});

t.test('controls: criticality read', async (t) => {
  const control = tlv(0x30, Buffer.concat([tlv(0x04, Buffer.from('1.2.840.113556.1.4.319')), tlv(0x01, Buffer.from([0xff])), tlv(0x04, Buffer.from([0x30, 0x00]))]));
  const r = decoded(message(2, tlv(0x42, Buffer.alloc(0)), tlv(0xa0, control)));
  t.same(r.controls, [{ oid: '1.2.840.113556.1.4.319', critical: true }]);
});

t.test('what is refused, and what is known of it to answer', async (t) => {
  t.same(decodeRequest(message(1, tlv(0x61, Buffer.alloc(0))), limits), { ok: false, reason: 'unknown_operation', id: 1 }, 'a response sent as a request (RFC 4511 §4.1.1)');
  t.match(decodeRequest(message(0, tlv(0x42, Buffer.alloc(0))), limits), { ok: false, reason: 'bad_message_id' }, 'messageID 0 is for notices');
  t.match(decodeRequest(tlv(0x30, Buffer.concat([tlv(0x02, Buffer.from([0xff])), tlv(0x42, Buffer.alloc(0))])), limits), { ok: false, reason: 'bad_message_id' });
  t.match(decodeRequest(Buffer.from([0x30, 0x03, 0x02, 0x01]), limits), { ok: false, reason: 'truncated' });
  const trailing = message(3, tlv(0x4a, Buffer.from('dc=x')), tlv(0xa0, Buffer.alloc(0)));
  t.match(decodeRequest(Buffer.concat([trailing.subarray(0, 1), Buffer.from([trailing[1]! + 2]), trailing.subarray(2), Buffer.from([0x05, 0x00])]), limits), {
    ok: false,
    reason: 'trailing_bytes',
  });
  const badUtf8 = message(4, tlv(0x4a, Buffer.from([0xc3, 0x28])));
  t.match(decodeRequest(badUtf8, limits), { ok: false, reason: 'bad_utf8', id: 4 });
});

t.test('responses (ldapjs-encoded)', async (t) => {
  // SEQUENCE { messageID 5, [APPLICATION 1] { ENUMERATED 49, matchedDN "", diagnosticMessage "" } }
  t.equal(encodeResult(5, 0x61, { status: 49 }).toString('hex'), '300c02010561070a013104000400');
  const notice = encodeNoticeOfDisconnection(2, 'bye');
  t.equal(notice[5], 0x78, 'ExtendedResponse');
  t.equal(notice.subarray(2, 5).toString('hex'), '020100', 'messageID 0');
  t.ok(notice.includes(Buffer.from('1.3.6.1.4.1.1466.20036')));
  const whoami = encodeExtended(7, { status: 0 }, '');
  t.ok(whoami.subarray(-2).equals(Buffer.from([0x8b, 0x00])), 'an empty authzId for anonymous (RFC 4532)');
});
