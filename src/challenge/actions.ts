/**
 * What an action puts on the wire: pure functions over attribute lists. Encoding, signing and
 * per-hop crypto stay with the caller (src/proxy/access-proxy.ts).
 */
import { Attr } from '../radius/attribute-types.js';
import { MAX_ATTRIBUTE_VALUE_LENGTH, type RawAttribute } from '../radius/packet.js';
import { renderTemplate } from './template.js';
import type { RuleMatch } from './evaluate.js';
import { replyMessage } from './evaluate.js';

/**
 * The most octets of prompt we put in one reply: Reply-Message attributes of 253 octets each,
 * leaving room in the 4096-octet packet (RFC 2865 §3) for State and the rest.
 */
export const MAX_PROMPT_OCTETS = 2048;

/** The rule's prompt for this reply, cut to MAX_PROMPT_OCTETS on a UTF-8 character boundary. */
export function renderPrompt(match: RuleMatch, upstream: readonly RawAttribute[]): Buffer {
  const prompt = renderTemplate(match.rule.prompt!, { captures: match.captures, reply: () => replyMessage(upstream), password: undefined });
  if (prompt.length <= MAX_PROMPT_OCTETS) return prompt;
  let end = MAX_PROMPT_OCTETS;
  while (end > 0 && (prompt[end]! & 0xc0) === 0x80) end--;
  return prompt.subarray(0, end);
}

/** The prompt as Reply-Message attributes (RFC 2865 §5.18: several are shown in order); none when empty. */
export function promptAttributes(prompt: Buffer): RawAttribute[] {
  const out: RawAttribute[] = [];
  for (let i = 0; i < prompt.length; i += MAX_ATTRIBUTE_VALUE_LENGTH) {
    out.push({ type: Attr.ReplyMessage, value: prompt.subarray(i, i + MAX_ATTRIBUTE_VALUE_LENGTH) });
  }
  return out;
}

/**
 * new-pin, next-token, generic-login: the upstream's challenge (already rewritten for the
 * NAS's hop) with its Reply-Messages replaced by the prompt. State and everything else stay,
 * so the user's answer continues the upstream's conversation.
 */
export function relayedChallenge(rewritten: readonly RawAttribute[], prompt: Buffer): RawAttribute[] {
  const out: RawAttribute[] = [];
  for (const a of rewritten) if (a.type !== Attr.ReplyMessage) out.push(a);
  out.push(...promptAttributes(prompt));
  return out;
}

/**
 * error: an Access-Reject carrying only the prompt. RFC 2865 §5.44 allows nothing else of the
 * upstream's reply in a reject but Reply-Message and Proxy-State (the front echoes the NAS's
 * own Proxy-State and signs the reply).
 */
export function errorReject(prompt: Buffer): RawAttribute[] {
  return promptAttributes(prompt);
}

/**
 * send-access-request: the NAS's attributes for the automatic request, without what the
 * proxy sets itself (State, User-Password, CHAP-Password, CHAP-Challenge) and without the
 * standard attributes the rule's extras replace. The caller runs the result through the
 * usual per-hop rewrite and then adds User-Password, State and the extras.
 */
export function followUpBase(nas: readonly RawAttribute[], replaces: ReadonlySet<number>): RawAttribute[] {
  const out: RawAttribute[] = [];
  for (const a of nas) {
    switch (a.type) {
      case Attr.State:
      case Attr.UserPassword:
      case Attr.ChapPassword:
      case Attr.ChapChallenge:
        continue;
    }
    if (replaces.has(a.type)) continue;
    out.push(a);
  }
  return out;
}

/** The User-Password of the automatic request (plain; the caller hides it for the upstream hop). */
export function renderPassword(match: RuleMatch, password: Buffer | undefined): Buffer {
  return renderTemplate(match.rule.password!, { captures: match.captures, reply: () => '', password });
}
