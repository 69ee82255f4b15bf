/**
 * Edits the users file in place without ever leaving a partial file: an exclusive lock
 * file guards against two editors, the new text goes to a temporary file that is fsynced
 * and renamed over the old one, then the directory is fsynced. Comments are preserved.
 */
import { constants } from 'node:fs';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseDocument, type Document } from 'yaml';

export class UsersFileLockedError extends Error {
  readonly code = 'AAA_ERR_USERS_FILE_LOCKED';
}

async function fsyncPath(path: string, flags: number): Promise<void> {
  const fh = await open(path, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Runs `edit` on the parsed document under the lock and writes the result atomically. */
export async function editUsersFile(path: string, edit: (doc: Document) => void | Promise<void>): Promise<void> {
  const lockPath = join(dirname(path), `.${basename(path)}.lock`);
  let lock;
  try {
    lock = await open(lockPath, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new UsersFileLockedError(`${lockPath} exists: another edit is in progress (remove it if no aaaproxy command is running)`);
    }
    throw err;
  }
  try {
    let text = '';
    // The daemon reads this file as its own user: the new file keeps the old one's mode and owner.
    let owner: { mode: number; uid: number; gid: number } | undefined;
    try {
      text = await readFile(path, 'utf8');
      const st = await stat(path);
      owner = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const doc = parseDocument(text === '' ? 'users: {}\n' : text);
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]!.message}`);
    await edit(doc);
    const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
    const fh = await open(tmp, 'w', 0o600);
    try {
      if (owner) {
        await fh.chown(owner.uid, owner.gid).catch((err: NodeJS.ErrnoException) => {
          // Only root may give a file away; an unprivileged editor keeps its own ownership.
          if (err.code !== 'EPERM') throw err;
        });
        await fh.chmod(owner.mode);
      } else {
        await fh.chmod(0o640);
      }
      await fh.writeFile(doc.toString(), 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    await fsyncPath(dirname(path), constants.O_RDONLY);
  } finally {
    await lock.close();
    await rm(lockPath, { force: true });
  }
}
