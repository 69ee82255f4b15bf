import t from 'tap';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Dictionary, DictionaryError } from '../../../src/radius/dictionary.js';
import { BUILTIN_DICTIONARY, loadDictionary } from '../../../src/radius/builtin-dictionary.js';

const BUILTIN = fileURLToPath(new URL('../../../../dictionaries/dictionary', import.meta.url));
const FREERADIUS = '/usr/share/freeradius/dictionary';

function builtin(): Dictionary {
  const d = new Dictionary();
  d.load(BUILTIN);
  return d;
}

t.test('the built-in dictionaries load', (t) => {
  const d = builtin();
  t.ok(d.attributeCount > 300, `loaded ${d.attributeCount} attributes`);
  t.equal(BUILTIN_DICTIONARY, BUILTIN, 'builtin-dictionary.ts points at dictionaries/dictionary');
  t.equal(loadDictionary([]).attributeCount, d.attributeCount);
  t.end();
});

t.test('lookups by name and by number across files', (t) => {
  const d = builtin();

  const userName = d.byAttributeName('User-Name');
  t.ok(userName);
  t.same(userName!.path, [1]);
  t.equal(userName!.vendorId, 0);
  t.equal(userName!.type, 'string');
  t.equal(d.standard(1), userName, 'standard(1) is User-Name');
  t.equal(d.byAttributeName('user-name'), userName, 'names are case-insensitive');

  // RFC 2865 §5.2: User-Password is hidden with the method of encrypt=1.
  t.equal(d.byAttributeName('User-Password')!.encrypt, 1);

  // RFC 2868 §3.5: Tunnel-Password has a tag and the salted encryption.
  const tp = d.standard(69)!;
  t.equal(tp.name, 'Tunnel-Password');
  t.equal(tp.hasTag, true);
  t.equal(tp.encrypt, 2);

  // RFC 2868 §3.1 + RFC 3580 §3.31: Tunnel-Type value VLAN = 13.
  const tt = d.byAttributeName('Tunnel-Type')!;
  t.equal(tt.hasTag, true);
  t.equal(tt.values.get('vlan'), 13);
  t.equal(tt.valueNames.get(13), 'VLAN');

  // RFC 2548 §2.4.2: MS-MPPE-Send-Key, vendor 311, type 16, salted.
  const send = d.byAttributeName('MS-MPPE-Send-Key')!;
  t.equal(send.vendorId, 311);
  t.same(send.path, [16]);
  t.equal(send.encrypt, 2);
  t.equal(d.byNumber(311, [16]), send);
  t.same(d.vendorById(311), { name: 'Microsoft', id: 311, typeLength: 1, lengthLength: 1 });
  t.equal(d.vendorByName('microsoft')!.id, 311);

  const avpair = d.byAttributeName('Cisco-AVPair')!;
  t.equal(avpair.vendorId, 9);
  t.same(avpair.path, [1]);
  t.equal(avpair.type, 'string');
  t.equal(d.byNumber(9, [1]), avpair);

  // RFC 6929 §2.1 Extended-Type: 241.1 is Frag-Status (RFC 7499 §4.1).
  const frag = d.byNumber(0, [241, 1])!;
  t.equal(frag.name, 'Frag-Status');
  t.same(frag.path, [241, 1]);
  t.equal(d.byAttributeName('Extended-Attribute-1')!.type, 'extended');
  t.equal(d.byAttributeName('Extended-Attribute-5')!.type, 'long-extended');

  // EAP-Message is split over attributes (RFC 3579 §3.1).
  t.equal(d.standard(79)!.concat, true);
  t.end();
});

t.test('a bad line names file and line', (t) => {
  const cases: Array<[string, number, RegExp]> = [
    ['ATTRIBUTE  Good  1  string\nATTRIBUTE  Bad  2  nosuchtype\n', 2, /unknown data type/],
    ['# comment\n\nVENDOR  Acme\n', 3, /VENDOR needs/],
    ['FROB  x  y\n', 1, /unknown keyword/],
    ['ATTRIBUTE  X  1x  string\n', 1, /bad attribute number/],
    ['END-VENDOR\n', 1, /END-VENDOR without BEGIN-VENDOR/],
    ['BEGIN-VENDOR  Nobody\n', 1, /unknown vendor/],
    ['VENDOR  Acme  99  format=3,1\n', 1, /vendor type field/],
    ['ATTRIBUTE  A  1  integer\nVALUE  A  One  one\n', 2, /bad value number/],
  ];
  for (const [text, line, reason] of cases) {
    const d = new Dictionary();
    try {
      d.loadText(text, 'dictionary.test');
      t.fail(`expected a DictionaryError for ${JSON.stringify(text)}`);
    } catch (err) {
      t.ok(err instanceof DictionaryError, 'a DictionaryError');
      const e = err as DictionaryError;
      t.equal(e.code, 'AAA_ERR_DICTIONARY');
      t.equal(e.file, 'dictionary.test');
      t.equal(e.line, line, `line ${line} for ${JSON.stringify(text)}`);
      t.match(e.reason, reason);
      t.match(e.message, new RegExp(`^dictionary\\.test:${line}: `));
    }
  }
  t.end();
});

t.test('errors in included files name the included file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aaaproxy-dict-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'dictionary'), '# top\n$INCLUDE dictionary.inner\n');
  writeFileSync(join(dir, 'dictionary.inner'), 'ATTRIBUTE  A  1  string\n\nATTRIBUTE  B  2  wrong\n');
  const d = new Dictionary();
  t.throws(() => d.load(join(dir, 'dictionary')), { code: 'AAA_ERR_DICTIONARY', file: join(dir, 'dictionary.inner'), line: 3 });

  // $INCLUDE- marks an optional file; $INCLUDE of a missing file fails on the including line.
  writeFileSync(join(dir, 'optional'), '$INCLUDE- dictionary.absent\nATTRIBUTE  A  1  string\n');
  const d2 = new Dictionary();
  d2.load(join(dir, 'optional'));
  t.ok(d2.byAttributeName('A'));
  writeFileSync(join(dir, 'required'), '\n$INCLUDE dictionary.absent\n');
  t.throws(() => new Dictionary().load(join(dir, 'required')), { code: 'AAA_ERR_DICTIONARY', file: join(dir, 'required'), line: 2 });
  t.end();
});

t.test('VALUE before its ATTRIBUTE is resolved at the end of the load (FreeRADIUS v3)', (t) => {
  const d = new Dictionary();
  d.loadText('VALUE  Late  Early-Name  7\nATTRIBUTE  Late  200  integer\n', 'x');
  t.equal(d.byAttributeName('Late')!.values.get('early-name'), 7);
  t.equal(d.byAttributeName('Late')!.valueNames.get(7), 'Early-Name');

  const bad = new Dictionary();
  t.throws(() => bad.loadText('ATTRIBUTE  A  1  string\n\nVALUE  Never  X  1\n', 'y'), {
    code: 'AAA_ERR_DICTIONARY',
    file: 'y',
    line: 3,
    reason: /VALUE for unknown attribute Never/,
  });
  t.end();
});

t.test('vendor formats, TLVs and type aliases', (t) => {
  const d = new Dictionary();
  d.loadText(
    [
      'VENDOR  Wide  4242  format=2,2',
      'VENDOR  NoLen  4243  format=4,0',
      'BEGIN-VENDOR  Wide',
      'ATTRIBUTE  Wide-Thing  300  uint32',
      'ATTRIBUTE  Wide-Tlv  301  tlv',
      'BEGIN-TLV  Wide-Tlv',
      'ATTRIBUTE  Wide-Tlv-Member  1  ipv4addr',
      'END-TLV  Wide-Tlv',
      'END-VENDOR  Wide',
      'ATTRIBUTE  Sized  250  octets[16]  # a comment',
    ].join('\n'),
    'v',
  );
  t.same(d.vendorById(4242), { name: 'Wide', id: 4242, typeLength: 2, lengthLength: 2 });
  t.same(d.vendorById(4243), { name: 'NoLen', id: 4243, typeLength: 4, lengthLength: 0 });
  t.equal(d.byNumber(4242, [300])!.type, 'integer');
  t.same(d.byAttributeName('Wide-Tlv-Member')!.path, [301, 1]);
  t.equal(d.byAttributeName('Wide-Tlv-Member')!.type, 'ipaddr');
  t.equal(d.byAttributeName('Sized')!.type, 'octets');
  t.throws(() => new Dictionary().loadText('VENDOR  V  1\nBEGIN-VENDOR  V\n', 'z'), { code: 'AAA_ERR_DICTIONARY', line: 2, reason: /no END-VENDOR/ });
  t.end();
});

t.test('the FreeRADIUS dictionary tree loads into a fresh Dictionary', { skip: existsSync(FREERADIUS) ? false : `${FREERADIUS} is absent (install freeradius-common to run this)` }, (t) => {
  const d = new Dictionary();
  d.load(FREERADIUS);
  t.ok(d.attributeCount > 5000, `loaded ${d.attributeCount} attributes`);
  const tp = d.byAttributeName('Tunnel-Password')!;
  t.equal(tp.hasTag, true);
  t.equal(tp.encrypt, 2);
  t.equal(d.byAttributeName('MS-MPPE-Send-Key')!.encrypt, 2);
  t.equal(d.byNumber(311, [16])!.name, 'MS-MPPE-Send-Key');
  t.equal(d.byAttributeName('Cisco-AVPair')!.vendorId, 9);
  t.equal(d.standard(4)!.name, 'NAS-IP-Address', 'the RFC name wins over the dictionary.compat alias');
  // dictionary.compat gives VALUEs for Framed-Compression before dictionary.rfc2865 defines it.
  t.equal(d.byAttributeName('Framed-Compression')!.values.get('van-jacobsen-tcp-ip'), 1);
  t.equal(d.byNumber(0, [241, 1])!.name, 'Frag-Status');

  // As an admin would configure it: FreeRADIUS's tree on top of our built-in dictionaries.
  const both = loadDictionary([FREERADIUS]);
  t.ok(both.attributeCount > d.attributeCount);
  t.equal(both.byAttributeName('Tunnel-Password')!.encrypt, 2);
  t.equal(both.byAttributeName('Tunnel-Type')!.values.get('vlan'), 13);
  t.equal(both.vendorById(311)!.name, 'Microsoft');
  t.end();
});
