import t from 'tap';
import { checkCommonName, formatIpBytes, ipToBytes, isDnsName, parseSubjectAltNames, sanFromCommonName } from '../../../src/certs/names.js';
import { CertError } from '../../../src/certs/errors.js';

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof CertError ? err.code : `not a CertError: ${String(err)}`;
  }
};

t.test('DNS names', async (t) => {
  for (const ok of ['localhost', 'ldap.example.test', 'a-b.c1', '1host.example', '*.example.test', 'x'.repeat(63) + '.test']) t.ok(isDnsName(ok), ok);
  for (const bad of ['', '-a.test', 'a-.test', 'a..test', 'a_b.test', '*.test', 'a.*.test', 'x'.repeat(64) + '.test', '1.2.3.4', 'a b', `${'a.'.repeat(127)}ab`]) {
    t.notOk(isDnsName(bad), JSON.stringify(bad));
  }
});

t.test('--san lists: types, case, brackets, duplicates, order', async (t) => {
  t.same(parseSubjectAltNames(['DNS:LDAP.Example.Test,IP:127.0.0.1', 'ip:[::1], dns:localhost', 'IP:0:0:0:0:0:0:0:1', 'DNS:localhost.']), [
    { type: 'dns', value: 'ldap.example.test' },
    { type: 'ip', value: '127.0.0.1' },
    { type: 'ip', value: '::1' },
    { type: 'dns', value: 'localhost' },
  ]);
  t.same(parseSubjectAltNames([]), []);
  for (const bad of ['localhost', 'DNS:', 'DNS:a_b', 'IP:1.2.3', 'IP:256.1.1.1', 'IP:fe80::1%eth0', 'URI:http://x', ':x', 'IP:::1::2']) {
    t.equal(code(() => parseSubjectAltNames([bad])), 'AAA_ERR_CERT_BAD_SAN', bad);
  }
});

t.test('IP octets (RFC 5280 §4.2.1.6) both ways', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['192.0.2.1', 'c0000201', '192.0.2.1'],
    ['::1', '00000000000000000000000000000001', '::1'],
    ['::', '00000000000000000000000000000000', '::'],
    ['2001:db8::8:800:200c:417a', '20010db8000000000008080020 0c417a'.replace(' ', ''), '2001:db8::8:800:200c:417a'],
    ['fe80::', 'fe800000000000000000000000000000', 'fe80::'],
    ['2001:DB8:0:0:1:0:0:1', '20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201', '::ffff:c000:201'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008', '1:2:3:4:5:6:7:8'],
  ];
  for (const [text, hex, canonical] of cases) {
    t.equal(ipToBytes(text).toString('hex'), hex, text);
    t.equal(formatIpBytes(ipToBytes(text)), canonical, `${text} formats as ${canonical}`);
  }
});

t.test('common names and the SAN a server certificate takes from one', async (t) => {
  t.equal(checkCommonName('Zürich CA'), 'Zürich CA');
  t.equal(code(() => checkCommonName('')), 'AAA_ERR_CERT_BAD_NAME');
  t.equal(code(() => checkCommonName('x'.repeat(65))), 'AAA_ERR_CERT_BAD_NAME');
  t.equal(code(() => checkCommonName('a\nb')), 'AAA_ERR_CERT_BAD_NAME');
  t.same(sanFromCommonName('LDAP.example.test'), { type: 'dns', value: 'ldap.example.test' });
  t.same(sanFromCommonName('2001:db8:0::1'), { type: 'ip', value: '2001:db8::1' });
  t.equal(sanFromCommonName('radius client 1'), undefined);
});
