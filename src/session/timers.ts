/**
 * Time for the session table and the memory store, injectable so tests drive it: a clock and
 * a periodic tick, and a wheel of deadlines with one-second slots (O(1) to set, move or clear
 * a deadline; a tick visits only the slots that came due).
 */

export interface Clock {
  /** ms since the epoch. */
  now(): number;
  /** Calls fn every intervalMs until the returned function is called (never keeps the process alive). */
  every(intervalMs: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  every(intervalMs, fn) {
    const timer = setInterval(fn, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  },
};

/** A clock that moves only when told to; `advance` runs the ticks that came due, in order. */
export class ManualClock implements Clock {
  private readonly timers = new Set<{ intervalMs: number; next: number; fn: () => void }>();

  constructor(private current = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.current;
  }

  every(intervalMs: number, fn: () => void): () => void {
    const t = { intervalMs, next: this.current + intervalMs, fn };
    this.timers.add(t);
    return () => this.timers.delete(t);
  }

  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      let due: { intervalMs: number; next: number; fn: () => void } | undefined;
      for (const t of this.timers) if (t.next <= end && (!due || t.next < due.next)) due = t;
      if (!due) break;
      this.current = due.next;
      due.next += due.intervalMs;
      due.fn();
    }
    this.current = end;
  }
}

const SLOT_MS = 1000;

/** Deadlines by key, in one-second slots; a key has at most one deadline. */
export class DeadlineWheel {
  private readonly slots = new Map<number, Set<string>>();
  private readonly slotOf = new Map<string, number>();
  /** Every slot up to this one has been handed out by due(). */
  private cursor: number;

  constructor(now: number) {
    this.cursor = Math.floor(now / SLOT_MS) - 1;
  }

  get size(): number {
    return this.slotOf.size;
  }

  /** Sets (or moves) the key's deadline; a deadline already past comes due at the next due(). */
  set(key: string, at: number): void {
    const slot = Math.max(Math.ceil(at / SLOT_MS), this.cursor + 1);
    const old = this.slotOf.get(key);
    if (old === slot) return;
    if (old !== undefined) this.slots.get(old)?.delete(key);
    let set = this.slots.get(slot);
    if (!set) this.slots.set(slot, (set = new Set()));
    set.add(key);
    this.slotOf.set(key, slot);
  }

  clear(key: string): void {
    const old = this.slotOf.get(key);
    if (old === undefined) return;
    this.slotOf.delete(key);
    const set = this.slots.get(old);
    set?.delete(key);
    if (set?.size === 0) this.slots.delete(old);
  }

  /** Removes and returns the keys whose deadline is at or before now. */
  due(now: number): string[] {
    const last = Math.floor(now / SLOT_MS);
    const out: string[] = [];
    if (last <= this.cursor) return out;
    const take = (slot: number) => {
      const set = this.slots.get(slot);
      if (!set) return;
      this.slots.delete(slot);
      for (const key of set) {
        this.slotOf.delete(key);
        out.push(key);
      }
    };
    if (last - this.cursor > this.slots.size) {
      // A long gap (a restart, a stalled loop): visit the slots that exist, not every second.
      for (const slot of [...this.slots.keys()]) if (slot <= last) take(slot);
    } else {
      for (let slot = this.cursor + 1; slot <= last; slot++) take(slot);
    }
    this.cursor = last;
    return out;
  }
}
