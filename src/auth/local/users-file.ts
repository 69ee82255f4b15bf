/**
 * The local users file (YAML): schema, and compilation into ready-to-use user records
 * with reply attributes resolved against the dictionary once, at load.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { parseYamlWithSchema, type ConfigIssue } from '../../config/yaml-loader.js';
import { resolveAttribute, type AttributeTemplate } from '../../radius/attributes.js';
import type { Dictionary } from '../../radius/dictionary.js';
import { ValueError } from '../../radius/values.js';
import { parsePasswordHash } from './password-hash.js';

const Scalar = z.union([z.string(), z.number()]);

const UserSchema = z
  .object({
    /** scrypt in PHC format, written by `aaaproxy users add|passwd`. */
    password_hash: z.string().refine((s) => parsePasswordHash(s) !== undefined, {
      message: 'must be a $scrypt$ln=..,r=..,p=..$salt$hash string (use `aaaproxy users passwd`)',
    }).optional(),
    /** Cleartext, only where CHAP needs it; requires allow_cleartext. */
    password: z.string().max(128, 'RFC 2865 §5.2 limits passwords to 128 octets').optional(),
    allow_cleartext: z.boolean().optional(),
    enabled: z.boolean().default(true),
    /** Demo accounts are refused on any listener that is not loopback. */
    demo: z.boolean().default(false),
    reply: z.record(z.string(), z.union([Scalar, z.array(Scalar)])).default({}),
  })
  .strict();

export const UsersFileSchema = z
  .object({
    /** File-wide default for storing cleartext passwords (needed for CHAP). */
    allow_cleartext: z.boolean().default(false),
    users: z.record(z.string().min(1).max(253), UserSchema).default({}),
  })
  .strict()
  .superRefine((file, ctx) => {
    for (const [name, u] of Object.entries(file.users)) {
      if (u.password === undefined && u.password_hash === undefined) {
        ctx.addIssue({ code: 'custom', path: ['users', name], message: 'needs password_hash (or password with allow_cleartext)' });
      }
      if (u.password !== undefined && !(u.allow_cleartext ?? file.allow_cleartext)) {
        ctx.addIssue({
          code: 'custom',
          path: ['users', name, 'password'],
          message: 'cleartext password needs allow_cleartext: true (stored cleartext is readable by anyone who reads this file)',
        });
      }
    }
  });

export type UsersFileData = z.infer<typeof UsersFileSchema>;

export interface LocalUser {
  name: string;
  enabled: boolean;
  demo: boolean;
  passwordHash: ReturnType<typeof parsePasswordHash>;
  /** The stored hash text, to tell on reload whether the password changed. */
  passwordHashText: string | undefined;
  cleartext: Buffer | undefined;
  reply: AttributeTemplate[];
}

export type UsersLoadResult = { ok: true; users: Map<string, LocalUser> } | { ok: false; errors: ConfigIssue[] };

/** Parses and compiles a users file; reply attributes are checked against the dictionary. */
export function compileUsers(file: string, text: string, dict: Dictionary): UsersLoadResult {
  const parsed = parseYamlWithSchema(file, text, UsersFileSchema.superRefine((data, ctx) => {
    for (const [name, u] of Object.entries(data.users)) {
      for (const [attr, value] of Object.entries(u.reply)) {
        for (const v of Array.isArray(value) ? value : [value]) {
          try {
            resolveAttribute(dict, attr, v);
          } catch (err) {
            if (!(err instanceof ValueError)) throw err;
            ctx.addIssue({ code: 'custom', path: ['users', name, 'reply', attr], message: err.message });
          }
        }
      }
    }
  }));
  if (!parsed.ok) return parsed;
  const users = new Map<string, LocalUser>();
  for (const [name, u] of Object.entries(parsed.value.users)) {
    const reply: AttributeTemplate[] = [];
    for (const [attr, value] of Object.entries(u.reply)) {
      for (const v of Array.isArray(value) ? value : [value]) reply.push(resolveAttribute(dict, attr, v));
    }
    users.set(name, {
      name,
      enabled: u.enabled,
      demo: u.demo,
      passwordHash: u.password_hash === undefined ? undefined : parsePasswordHash(u.password_hash),
      passwordHashText: u.password_hash,
      cleartext: u.password === undefined ? undefined : Buffer.from(u.password, 'utf8'),
      reply,
    });
  }
  return { ok: true, users };
}

export async function loadUsersFile(file: string, dict: Dictionary): Promise<UsersLoadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { ok: false, errors: [{ file, line: 0, column: 0, key: '', message: `cannot read users file: ${(err as Error).message}` }] };
  }
  return compileUsers(file, text, dict);
}
