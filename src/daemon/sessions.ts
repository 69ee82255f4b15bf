/**
 * The session table as the daemon runs it: the memory store, persisted to sessions.state_dir
 * when that is set, and the table on top of it. Opened after the spool (the table's Stops go
 * there) and before the listeners; closed before the accounting log and the spool.
 */
import { hostname } from 'node:os';
import type { SessionsConfig } from '../config/schema.js';
import { SessionJournal, type JournalObserver, type RecoveryReport } from '../session/journal.js';
import { MemoryStore } from '../session/memory-store.js';
import { SessionTable, type SessionObserver, type SessionTableOptions, type StopSink } from '../session/table.js';
import type { SessionRecord } from '../session/types.js';

export interface SessionDeps {
  observer: SessionObserver;
  journalObserver: JournalObserver;
  sink: StopSink;
}

export function tableOptions(c: SessionsConfig, nodeId: string): SessionTableOptions {
  return {
    nodeId,
    maxSessions: c.max_sessions,
    interim: { overrideSeconds: c.interim_interval_seconds, floorSeconds: c.interim_floor_seconds },
    missedInterims: c.missed_interims,
    timeoutGraceSeconds: c.timeout_grace_seconds,
    // The memory store is this node's alone: whatever it restored is ours (even under an old node_id).
    adoptAll: true,
  };
}

/** Settings the running table cannot take on (a reload warns about them). */
export const SESSION_RESTART_KEYS = ['enabled', 'state_dir', 'node_id', 'flush_ms', 'compact_min_bytes'] as const;

export class SessionServices {
  private closing: Promise<void> | undefined;

  private constructor(
    readonly table: SessionTable,
    private readonly store: MemoryStore,
    /** What was read back from the state directory (undefined without one). */
    readonly recovery: RecoveryReport | undefined,
    readonly nodeId: string,
  ) {}

  static async open(config: SessionsConfig, deps: SessionDeps): Promise<SessionServices> {
    const nodeId = config.node_id ?? hostname();
    let journal: SessionJournal | undefined;
    let records: SessionRecord[] = [];
    let recovery: RecoveryReport | undefined;
    if (config.state_dir) {
      ({ journal, records, report: recovery } = await SessionJournal.open(
        { dir: config.state_dir, flushMs: config.flush_ms, compactMinBytes: config.compact_min_bytes },
        deps.journalObserver,
      ));
    }
    const store = new MemoryStore(journal ? { persistence: journal } : {});
    store.restore(records);
    try {
      await journal?.start(() => store.values());
      const table = new SessionTable(store, tableOptions(config, nodeId), deps.sink, deps.observer);
      await table.start();
      return new SessionServices(table, store, recovery, nodeId);
    } catch (err) {
      await store.close().catch(() => undefined);
      throw err;
    }
  }

  reconfigure(config: SessionsConfig): void {
    this.table.reconfigure(tableOptions(config, this.nodeId));
  }

  /** The table finishes its queue and its Stops, then the store writes its journal out. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.table.close();
      await this.store.close();
    })();
    return this.closing;
  }
}
