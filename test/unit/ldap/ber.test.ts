import t from 'tap';
import { BerError, children, frameHead, readTlv, readUint, readUtf8 } from '../../../src/ldap/ber.js';

const failure = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof BerError ? err.reason : 'other';
  }
};

t.test('frameHead: the length of the next LDAPMessage from its header alone', async (t) => {
  t.same(frameHead(Buffer.alloc(0)), { kind: 'incomplete' });
  t.same(frameHead(Buffer.from([0x30])), { kind: 'incomplete' });
  t.same(frameHead(Buffer.from([0x30, 0x05])), { kind: 'frame', total: 7 });
  t.same(frameHead(Buffer.from([0x30, 0x82, 0x01])), { kind: 'incomplete' }, 'long form, length octets not all there');
  t.same(frameHead(Buffer.from([0x30, 0x82, 0x01, 0x00])), { kind: 'frame', total: 4 + 256 });
  t.same(frameHead(Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff])), { kind: 'frame', total: 6 + 0x7fffffff }, 'huge: the caller refuses it before buffering');
  // RFC 4511 §5.1: definite lengths only.
  t.same(frameHead(Buffer.from([0x30, 0x80])), { kind: 'malformed', reason: 'indefinite_length' });
  t.same(frameHead(Buffer.from([0x30, 0x85, 1, 1, 1, 1, 1])), { kind: 'malformed', reason: 'length_too_long' });
  t.same(frameHead(Buffer.from('GET / HTTP/1.1')), { kind: 'malformed', reason: 'unexpected_tag' });
});

t.test('readTlv bounds every length by its container', async (t) => {
  const buf = Buffer.from([0x30, 0x06, 0x02, 0x01, 0x05, 0x04, 0x01, 0x41]);
  const seq = readTlv(buf, 0, buf.length);
  t.match(seq, { tag: 0x30, constructed: true, valueStart: 2, end: 8 });
  const [i, s] = children(buf, seq);
  t.equal(readUint(buf, i!), 5);
  t.equal(readUtf8(buf, s!), 'A');
  t.equal(failure(() => readTlv(Buffer.from([0x04, 0x05, 0x41]), 0, 3)), 'truncated');
  t.equal(failure(() => readTlv(Buffer.from([0x1f, 0x01, 0x00]), 0, 3)), 'high_tag');
  t.equal(failure(() => children(Buffer.from([0x30, 0x03, 0x04, 0x05, 0x41]), { tag: 0x30, constructed: true, start: 0, valueStart: 2, end: 5 })), 'truncated', 'a child longer than its parent');
});

t.test('integers: non-negative, at most four octets', async (t) => {
  const int = (...b: number[]) => {
    const buf = Buffer.from([0x02, b.length, ...b]);
    return readUint(buf, readTlv(buf, 0, buf.length));
  };
  t.equal(int(0x00), 0);
  t.equal(int(0x00, 0x80), 128);
  t.equal(int(0x7f, 0xff, 0xff, 0xff), 0x7fffffff);
  t.equal(failure(() => int(0xff)), 'bad_value', 'negative');
  t.equal(failure(() => int(0, 0, 0, 0, 1)), 'bad_value', 'five octets');
  t.equal(failure(() => int()), 'bad_value', 'empty');
});

t.test('LDAPString must be UTF-8', async (t) => {
  const buf = Buffer.from([0x04, 0x02, 0xc3, 0x28]);
  t.equal(failure(() => readUtf8(buf, readTlv(buf, 0, buf.length))), 'bad_utf8');
});
