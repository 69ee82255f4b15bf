/**
 * Account lockout: after `attempts` consecutive wrong passwords a user is locked for
 * `minutes`. In memory, per process; an unlock or a correct password clears the count.
 */
export interface LockoutPolicy {
  attempts: number;
  minutes: number;
}

interface Entry {
  failures: number;
  lockedUntil: number;
}

export class LockoutTracker {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private policy: LockoutPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  setPolicy(policy: LockoutPolicy): void {
    this.policy = policy;
  }

  isLocked(user: string): boolean {
    const e = this.entries.get(user);
    if (!e || e.lockedUntil === 0) return false;
    if (e.lockedUntil > this.now()) return true;
    // The lock has run out: the user starts again with a clean count.
    this.entries.delete(user);
    return false;
  }

  /** Records a wrong password; true when this failure locks the account. */
  recordFailure(user: string): boolean {
    const e = this.entries.get(user) ?? { failures: 0, lockedUntil: 0 };
    e.failures++;
    this.entries.set(user, e);
    if (e.failures >= this.policy.attempts && e.lockedUntil === 0) {
      e.lockedUntil = this.now() + this.policy.minutes * 60_000;
      return true;
    }
    return false;
  }

  recordSuccess(user: string): void {
    this.entries.delete(user);
  }

  /** Returns whether the user was locked. */
  unlock(user: string): boolean {
    const was = this.isLocked(user);
    this.entries.delete(user);
    return was;
  }

  lockedUsers(): { user: string; until: Date }[] {
    const out: { user: string; until: Date }[] = [];
    for (const [user, e] of this.entries) if (this.isLocked(user)) out.push({ user, until: new Date(e.lockedUntil) });
    return out;
  }
}
