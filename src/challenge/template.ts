/**
 * Prompt and password templates. Text is literal except for placeholders in angle brackets:
 *   <PASSWORD>  the user's password as the NAS sent it (password templates only)
 *   <REPLY>     the upstream's Reply-Message (all of them, concatenated; prompts only)
 *   <0> .. <N>  a capture group of the rule's first regex expression (<0> = the whole match)
 *   <name>      a named group (?<name>...) of that regex
 *   <<          a literal "<"
 * Any other <word> is a config error, so a typo never reaches a user or an upstream server.
 */
import type { Template, TemplatePart } from './types.js';

export interface TemplateScope {
  /** <PASSWORD> allowed (password templates). */
  password: boolean;
  /** <REPLY> allowed (prompts). */
  reply: boolean;
  /** Capture groups of the rule's first regex (0 when it has none, -1 when there is no regex). */
  groups: number;
  /** Named groups of that regex. */
  names: ReadonlySet<string>;
}

export type TemplateResult = { ok: true; template: Template } | { ok: false; message: string };

const PLACEHOLDER = /<([A-Za-z0-9_]+)>/y;

export function parseTemplate(text: string, scope: TemplateScope): TemplateResult {
  const parts: TemplatePart[] = [];
  let literal = '';
  let usesPassword = false;
  const flush = () => {
    if (literal !== '') parts.push(Buffer.from(literal, 'utf8'));
    literal = '';
  };
  for (let i = 0; i < text.length; ) {
    if (text[i] !== '<') {
      literal += text[i];
      i++;
      continue;
    }
    if (text[i + 1] === '<') {
      literal += '<';
      i += 2;
      continue;
    }
    PLACEHOLDER.lastIndex = i;
    const m = PLACEHOLDER.exec(text);
    if (!m) {
      literal += '<';
      i++;
      continue;
    }
    const word = m[1]!;
    let part: TemplatePart;
    if (word === 'PASSWORD') {
      if (!scope.password) return { ok: false, message: '<PASSWORD> is only allowed in the password template of send-access-request (a prompt would show it)' };
      part = 'password';
      usesPassword = true;
    } else if (word === 'REPLY') {
      if (!scope.reply) return { ok: false, message: '<REPLY> is only allowed in prompts' };
      part = 'reply';
    } else if (/^\d+$/.test(word)) {
      const n = Number(word);
      if (scope.groups < 0) return { ok: false, message: `<${word}> needs a regex expression in match (captures come from the first one)` };
      if (n > scope.groups) return { ok: false, message: `<${word}>: the rule's first regex has ${scope.groups} capture group(s)` };
      part = { capture: n };
    } else if (scope.names.has(word)) {
      part = { group: word };
    } else {
      return { ok: false, message: `unknown placeholder <${word}> (known: <PASSWORD>, <REPLY>, <N>, <group name>; write << for a literal <)` };
    }
    flush();
    parts.push(part);
    i += m[0].length;
  }
  flush();
  return { ok: true, template: { parts, usesPassword } };
}

/** Octets of the template's literal text (the least a rendering can be). */
export function literalLength(t: Template): number {
  let n = 0;
  for (const p of t.parts) if (Buffer.isBuffer(p)) n += p.length;
  return n;
}

export interface RenderContext {
  captures: RegExpExecArray | null;
  /** The upstream's Reply-Message (computed only when the template asks for it). */
  reply: () => string;
  /** The user's password (only for password templates). */
  password: Buffer | undefined;
}

export function renderTemplate(t: Template, ctx: RenderContext): Buffer {
  const out: Buffer[] = [];
  for (const p of t.parts) {
    if (Buffer.isBuffer(p)) out.push(p);
    else if (p === 'password') out.push(ctx.password ?? Buffer.alloc(0));
    else if (p === 'reply') out.push(Buffer.from(ctx.reply(), 'utf8'));
    else if ('capture' in p) out.push(Buffer.from(ctx.captures?.[p.capture] ?? '', 'utf8'));
    else out.push(Buffer.from(ctx.captures?.groups?.[p.group] ?? '', 'utf8'));
  }
  return out.length === 1 ? out[0]! : Buffer.concat(out);
}

/** Counts the capture groups of a regex and lists its named groups. */
export function regexGroups(re: RegExp): { groups: number; names: Set<string> } {
  // An alternative that matches the empty string makes exec() report every group.
  const m = new RegExp(`${re.source}|`, re.flags).exec('')!;
  return { groups: m.length - 1, names: new Set(Object.keys(m.groups ?? {})) };
}
