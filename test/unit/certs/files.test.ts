import t from 'tap';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CERT_MODE, KEY_MODE, writeOutputFiles } from '../../../src/certs/files.js';

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aaaproxy-certfiles-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const mode = (p: string): number => statSync(p).mode & 0o777;

t.test('new files get their modes whatever the umask', async (t) => {
  const dir = tempDir();
  const old = process.umask(0);
  try {
    await writeOutputFiles(
      [
        { path: join(dir, 'sub', 'x.crt'), data: 'CERT', mode: CERT_MODE },
        { path: join(dir, 'sub', 'x.key'), data: 'KEY', mode: KEY_MODE },
      ],
      { force: false, dirMode: 0o700 },
    );
  } finally {
    process.umask(old);
  }
  t.equal(mode(join(dir, 'sub', 'x.key')), 0o600);
  t.equal(mode(join(dir, 'sub', 'x.crt')), 0o644);
  t.equal(mode(join(dir, 'sub')), 0o700, 'a missing directory is created with dirMode');
  t.equal(readFileSync(join(dir, 'sub', 'x.key'), 'utf8'), 'KEY');
});

t.test('an existing file: nothing is written without force', async (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, 'x.key'), 'OLD KEY', { mode: 0o600 });
  await t.rejects(
    writeOutputFiles(
      [
        { path: join(dir, 'x.crt'), data: 'CERT', mode: CERT_MODE },
        { path: join(dir, 'x.key'), data: 'KEY', mode: KEY_MODE },
      ],
      { force: false },
    ),
    { code: 'AAA_ERR_CERT_EXISTS', message: /x\.key already exists/ },
  );
  t.same(readdirSync(dir), ['x.key'], 'x.crt was not created either');
  t.equal(readFileSync(join(dir, 'x.key'), 'utf8'), 'OLD KEY');
});

t.test('force replaces by rename: the key is 0600 even if the old file was not', async (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, 'x.key'), 'OLD KEY');
  chmodSync(join(dir, 'x.key'), 0o644);
  const before = statSync(join(dir, 'x.key')).ino;
  await writeOutputFiles([{ path: join(dir, 'x.key'), data: 'NEW KEY', mode: KEY_MODE }], { force: true });
  t.equal(readFileSync(join(dir, 'x.key'), 'utf8'), 'NEW KEY');
  t.equal(mode(join(dir, 'x.key')), 0o600);
  t.not(statSync(join(dir, 'x.key')).ino, before, 'a new inode: renamed into place');
  t.same(readdirSync(dir), ['x.key'], 'no temporary file left');
});
