import t from 'tap';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { editUsersFile, UsersFileLockedError } from '../../../src/cli/users-file-editor.js';

function tempFile(content?: string): string {
  const base = mkdtempSync(join(tmpdir(), 'aaaproxy-users-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const path = join(base, 'users.yaml');
  if (content !== undefined) writeFileSync(path, content);
  return path;
}

t.test('edits keep comments and the file mode', async (t) => {
  const path = tempFile('# header comment\nusers:\n  a:\n    password: x # inline\n');
  chmodSync(path, 0o640);
  await editUsersFile(path, (doc) => {
    doc.setIn(['users', 'b', 'password'], 'y');
  });
  const text = readFileSync(path, 'utf8');
  t.match(text, /# header comment/);
  t.match(text, /# inline/);
  t.match(text, /b:\n\s+password: y/);
  t.equal(statSync(path).mode & 0o777, 0o640);
  t.notOk(existsSync(join(path, '..', '.users.yaml.lock')), 'lock released');
});

t.test('a new file is created 0640; a failing edit leaves the old file untouched', async (t) => {
  const path = tempFile();
  await editUsersFile(path, (doc) => {
    doc.setIn(['users', 'a', 'password'], 'x');
  });
  t.equal(statSync(path).mode & 0o777, 0o640);
  const before = readFileSync(path, 'utf8');
  await t.rejects(
    editUsersFile(path, () => {
      throw new Error('refused');
    }),
    /refused/,
  );
  t.equal(readFileSync(path, 'utf8'), before);
});

t.test('a second editor is refused while the lock is held', async (t) => {
  const path = tempFile('users: {}\n');
  let inner: Promise<unknown> | undefined;
  await editUsersFile(path, () => {
    inner = editUsersFile(path, () => {}).catch((err: unknown) => err);
  });
  t.type(await inner, UsersFileLockedError);
});
