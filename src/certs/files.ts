/**
 * Writing certificates and keys. Keys are created with mode 0600 from the first byte (never
 * written first and narrowed after); existing files are refused unless `force`, in which case
 * each is replaced by a rename, so a reader never sees a half-written key.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CertError } from './errors.js';

export const KEY_MODE = 0o600;
export const CERT_MODE = 0o644;

export interface OutputFile {
  path: string;
  data: string;
  mode: number;
}

/** Writes all files, or (without force) none if any exists. Missing parent directories are created with `dirMode` (default 0755). */
export async function writeOutputFiles(files: readonly OutputFile[], opts: { force: boolean; dirMode?: number }): Promise<void> {
  if (!opts.force) {
    const existing: string[] = [];
    for (const f of files) if (await exists(f.path)) existing.push(f.path);
    if (existing.length > 0) throw new CertError('AAA_ERR_CERT_EXISTS', `${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''} (--force replaces)`);
  }
  for (const dir of new Set(files.map((f) => dirname(f.path)))) await mkdir(dir, { recursive: true, mode: opts.dirMode ?? 0o755 });
  const created: string[] = [];
  try {
    for (const f of files) {
      if (opts.force) await replaceFile(f);
      else await writeNew(f.path, f);
      created.push(f.path);
    }
  } catch (err) {
    // Without force nothing existed before: take back what this call made, so a retry starts clean.
    if (!opts.force) await Promise.all(created.map((p) => rm(p, { force: true })));
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CertError('AAA_ERR_CERT_EXISTS', `${(err as NodeJS.ErrnoException).path ?? 'a file'} appeared while writing`);
    throw err;
  }
  for (const dir of new Set(files.map((f) => dirname(f.path)))) await syncDir(dir);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** O_CREAT|O_EXCL with the final mode; fchmod as well, since the umask may narrow (never widen) the mode given to open. */
async function writeNew(path: string, f: OutputFile): Promise<void> {
  const fh = await open(path, 'wx', f.mode);
  try {
    await fh.chmod(f.mode);
    await fh.writeFile(f.data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function replaceFile(f: OutputFile): Promise<void> {
  const tmp = join(dirname(f.path), `.${basename(f.path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeNew(tmp, f);
    await rename(tmp, f.path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
