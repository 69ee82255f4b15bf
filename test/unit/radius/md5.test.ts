import { createHash, createHmac, randomBytes } from 'node:crypto';
import t from 'tap';
import { HmacMd5, Md5 } from '../../../src/radius/md5.js';

const md5Hex = (h: Md5, data: Uint8Array): string => {
  const out = Buffer.alloc(16);
  h.reset().update(data).digestInto(out);
  return out.toString('hex');
};

t.test('RFC 1321 §A.5 test suite', async (t) => {
  const h = new Md5();
  const vectors: [string, string][] = [
    ['', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['a', '0cc175b9c0f1b6a831c399e269772661'],
    ['abc', '900150983cd24fb0d6963f7d28e17f72'],
    ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
    ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 'd174ab98d277d9f5a5611c2c9f419d9f'],
    ['1234567890'.repeat(8), '57edf4a22be3c955ac49da2e2107b67a'],
  ];
  for (const [input, digest] of vectors) t.equal(md5Hex(h, Buffer.from(input)), digest, JSON.stringify(input));
});

t.test('RFC 2202 §2 HMAC-MD5 test cases', async (t) => {
  const cases: [Buffer, Buffer, string][] = [
    [Buffer.alloc(16, 0x0b), Buffer.from('Hi There'), '9294727a3638bb1c13f48ef8158bfc9d'],
    [Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?'), '750c783e6ab0b503eaa86e310a5db738'],
    [Buffer.alloc(16, 0xaa), Buffer.alloc(50, 0xdd), '56be34521d144c88dbb8c733f0e8b3f6'],
    [Buffer.from(Array.from({ length: 25 }, (_, i) => i + 1)), Buffer.alloc(50, 0xcd), '697eaf0aca3a3aea3a75164746ffaa79'],
    [Buffer.alloc(16, 0x0c), Buffer.from('Test With Truncation'), '56461ef2342edc00f9bab995690efd4c'],
    [Buffer.alloc(80, 0xaa), Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First'), '6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd'],
    [
      Buffer.alloc(80, 0xaa),
      Buffer.from('Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data'),
      '6f630fad67cda0ee1fb1f562db3aa53e',
    ],
  ];
  const mac = new HmacMd5();
  const out = Buffer.alloc(16);
  cases.forEach(([key, data, digest], i) => {
    mac.start(key).update(data).digestInto(out);
    t.equal(out.toString('hex'), digest, `test case ${i + 1}`);
  });
});

t.test('agrees with node:crypto for every length 0..300, in one piece and split at every 7th octet', async (t) => {
  const h = new Md5();
  const mac = new HmacMd5();
  const out = Buffer.alloc(16);
  let mismatches = 0;
  for (let length = 0; length <= 300; length++) {
    const data = randomBytes(length);
    const key = randomBytes(1 + (length % 97));
    const expectedMd5 = createHash('md5').update(data).digest();
    const expectedMac = createHmac('md5', key).update(data).digest();
    h.reset().update(data).digestInto(out);
    if (!out.equals(expectedMd5)) mismatches++;
    h.reset();
    for (let at = 0; at < length; at += 7) h.update(data, at, Math.min(length, at + 7));
    h.digestInto(out);
    if (!out.equals(expectedMd5)) mismatches++;
    mac.start(key).update(data, 0, length >> 1).update(data, length >> 1).digestInto(out);
    if (!out.equals(expectedMac)) mismatches++;
  }
  t.equal(mismatches, 0);
});

t.test('digestInto writes only the 16 octets at the offset', async (t) => {
  const out = Buffer.alloc(40, 0xee);
  new Md5().update(Buffer.from('abc')).digestInto(out, 10);
  t.equal(out.subarray(10, 26).toString('hex'), '900150983cd24fb0d6963f7d28e17f72');
  t.ok(out.subarray(0, 10).every((b) => b === 0xee) && out.subarray(26).every((b) => b === 0xee));
});

t.test('HMAC keys seen before give the same digests as node:crypto (kept key schedules)', async (t) => {
  const mac = new HmacMd5();
  const out = Buffer.alloc(16);
  const data = randomBytes(150);
  const base = randomBytes(20);
  // Keys that differ only in their last octet or their length, more of them than are kept,
  // a key over one block, and one buffer changed in place between uses.
  const keys = [base, Buffer.concat([base.subarray(0, 19), Buffer.from([base[19]! ^ 1])]), base.subarray(0, 19), randomBytes(100)];
  for (let i = 0; i < 12; i++) keys.push(randomBytes(8 + i));
  const reused = Buffer.from(base);
  let mismatches = 0;
  let checks = 0;
  for (let round = 0; round < 3; round++) {
    for (const key of keys) {
      mac.start(key).update(data).digestInto(out);
      checks++;
      if (!out.equals(createHmac('md5', key).update(data).digest())) mismatches++;
    }
    reused[round] = reused[round]! ^ 0xff;
    mac.start(reused).update(data).digestInto(out);
    checks++;
    if (!out.equals(createHmac('md5', reused).update(data).digest())) mismatches++;
  }
  t.equal(checks, 51);
  t.equal(mismatches, 0);
});
