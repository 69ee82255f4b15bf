/**
 * The Acct-Interim-Interval an Access-Accept carries to the NAS (RFC 2869 §5.16): a configured
 * interval replaces the upstream's (or is added when it sent none), and any value is raised to
 * the floor (RFC 2869 §5.16: it MUST NOT be smaller than 60; NAS admin guides say the same).
 * Pure; the reply's attribute list is never changed in place (a local user's list is shared).
 */
import { Attr } from '../radius/attribute-types.js';
import type { RawAttribute } from '../radius/packet.js';

export interface InterimPolicy {
  /** Seconds sent to every NAS instead of the upstream's value; undefined: keep the upstream's. */
  overrideSeconds: number | undefined;
  floorSeconds: number;
}

export class InterimRewriter {
  /** The override's attribute value, made once (the encoder copies it into each reply). */
  private readonly overrideValue: Buffer | undefined;
  private readonly floorValue: Buffer;

  constructor(readonly policy: InterimPolicy) {
    const o = policy.overrideSeconds === undefined ? undefined : Math.max(policy.overrideSeconds, policy.floorSeconds);
    this.overrideValue = o === undefined ? undefined : u32(o);
    this.floorValue = u32(policy.floorSeconds);
  }

  /** The reply's attributes as the NAS gets them, and the interval in them (undefined: none). */
  apply(reply: RawAttribute[]): { attributes: RawAttribute[]; interval: number | undefined } {
    let at = -1;
    let count = 0;
    for (let i = 0; i < reply.length; i++) {
      if (reply[i]!.type !== Attr.AcctInterimInterval) continue;
      if (at < 0) at = i;
      count++;
    }
    const override = this.overrideValue;
    if (override) {
      if (at < 0) return { attributes: [...reply, { type: Attr.AcctInterimInterval, value: override }], interval: override.readUInt32BE(0) };
      return { attributes: replaceAll(reply, at, override), interval: override.readUInt32BE(0) };
    }
    if (at < 0) return { attributes: reply, interval: undefined };
    const value = reply[at]!.value;
    const seconds = value.length === 4 ? value.readUInt32BE(0) : undefined;
    if (seconds !== undefined && seconds >= this.policy.floorSeconds && count === 1) return { attributes: reply, interval: seconds };
    // Too short, malformed or repeated: one attribute at the floor (or the upstream's first valid value).
    const fixed = seconds !== undefined && seconds >= this.policy.floorSeconds ? value : this.floorValue;
    return { attributes: replaceAll(reply, at, fixed), interval: fixed.readUInt32BE(0) };
  }
}

/** The list with one Acct-Interim-Interval (value) where the first one was, and no other. */
function replaceAll(reply: RawAttribute[], at: number, value: Buffer): RawAttribute[] {
  const out: RawAttribute[] = [];
  for (let i = 0; i < reply.length; i++) {
    const a = reply[i]!;
    if (a.type !== Attr.AcctInterimInterval) out.push(a);
    else if (i === at) out.push({ type: Attr.AcctInterimInterval, value });
  }
  return out;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(Math.min(0xffffffff, Math.max(0, Math.floor(n))));
  return b;
}
