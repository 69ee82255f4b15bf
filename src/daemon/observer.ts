/**
 * Turns core events into metrics and log lines. The core modules only know the observer
 * interfaces they declare; this is the one place that knows pino and prom-client.
 */
import type { Logger } from 'pino';
import type { AccountingLogObserver } from '../accounting/accounting-log.js';
import type { LocalAuthObserver } from '../auth/local/local-backend.js';
import type { Metrics } from '../observability/metrics.js';
import { Code, codeName } from '../radius/codes.js';
import type { DropReason, FrontObserver, HandlerReply } from '../server/front.js';
import type { Peer } from '../transport/udp.js';
import type { UpstreamMetrics } from '../observability/upstream-metrics.js';
import type { SpoolMetrics } from '../observability/spool-metrics.js';
import type { SpoolObserver } from '../accounting/spool.js';
import type { ForwarderObserver } from '../accounting/forwarder.js';
import type { LdapDirectoryObserver } from '../ldap/directory.js';
import type { HealthObserver } from '../ldap/health-check.js';
import type { LdapMetrics } from '../observability/ldap-metrics.js';
import { DISCONNECT_REASONS, REJECT_REASONS, type DisconnectReason, type LdapFrontObserver } from '../ldap/front-settings.js';
import { resultCodeName } from '../ldap/result-codes.js';
import type { LdapFrontMetrics } from '../observability/ldap-front-metrics.js';
import type { ReplyDropReason, UpstreamObserver, UpstreamPurpose, UpstreamState } from '../upstream/server.js';
import type { ChallengeAction, ChallengeObserver, RoundFailure } from '../challenge/types.js';
import { ChallengeMetrics } from '../observability/challenge-metrics.js';
import type { SessionObserver } from '../session/table.js';
import type { JournalObserver } from '../session/journal.js';
import type { SessionMetrics } from '../observability/session-metrics.js';
import type { DynauthMetrics } from '../observability/dynauth-metrics.js';
import type { DynauthObserver } from '../dynauth/server.js';
import type { NasClientObserver } from '../dynauth/nas-client.js';

/** At most one log line per (reason, source address) in this interval; the rest are counted. */
const DROP_LOG_INTERVAL_MS = 10_000;
const MAX_DROP_LOG_KEYS = 10_000;

export class DaemonObserver implements FrontObserver, LocalAuthObserver, AccountingLogObserver, UpstreamObserver, ChallengeObserver {
  /** Set by the daemon once the registry exists. */
  upstreamMetrics: UpstreamMetrics | undefined;
  private readonly dropLogged = new Map<string, { at: number; suppressed: number }>();
  private readonly challengeMetrics: ChallengeMetrics;

  constructor(
    private log: Logger,
    private readonly metrics: Metrics,
    private readonly lockedCount: () => number,
  ) {
    this.challengeMetrics = new ChallengeMetrics(metrics.registry);
  }

  setLogger(log: Logger): void {
    this.log = log;
  }

  dropped(reason: DropReason, peer: Peer, client: string | undefined, detail?: unknown): void {
    this.metrics.packetDropped(reason);
    const key = `${reason}|${peer.address}`;
    const now = Date.now();
    const seen = this.dropLogged.get(key);
    if (seen && now - seen.at < DROP_LOG_INTERVAL_MS) {
      seen.suppressed++;
      return;
    }
    if (this.dropLogged.size >= MAX_DROP_LOG_KEYS) this.dropLogged.clear();
    this.dropLogged.set(key, { at: now, suppressed: 0 });
    const fields: Record<string, unknown> = { reason, peer: `${peer.address}:${peer.port}` };
    if (client !== undefined) fields['client'] = client;
    if (seen?.suppressed) fields['suppressed'] = seen.suppressed;
    if (detail instanceof Error) fields['err'] = detail;
    else if (detail !== undefined) fields['detail'] = detail;
    if (reason === 'handler_failed' || reason === 'internal_error') this.log.error(fields, 'request failed');
    else this.log.warn(fields, 'packet dropped');
  }

  duplicate(result: 'resent' | 'in_progress', client: string): void {
    this.metrics.duplicate(result);
    if (this.log.isLevelEnabled('debug')) this.log.debug({ client, result }, 'duplicate request');
  }

  completed(client: string, code: number, reply: HandlerReply, seconds: number): void {
    this.metrics.requestCompleted(client, codeName(code), reply.result, seconds);
    if (code === Code.AccountingRequest) this.metrics.accountingRecord(reply.reason ?? 'missing');
    // Rejects are security events and are logged; accepts only at debug, to keep the hot path lean.
    if (reply.result === 'reject') {
      this.log.info({ client, user: reply.user, reason: reply.reason }, 'access rejected');
    } else if (this.log.isLevelEnabled('debug')) {
      const roles = reply.roles;
      this.log.debug({ client, code: codeName(code), result: reply.result, user: reply.user, reason: reply.reason, ...(roles ? { roles } : {}) }, 'request completed');
    }
  }

  lockedOut(user: string): void {
    this.metrics.lockout();
    this.metrics.setLockedUsers(this.lockedCount());
    this.log.warn({ user }, 'user locked out after repeated wrong passwords');
  }

  stateChanged(server: string, from: UpstreamState, to: UpstreamState, reason: string): void {
    this.upstreamMetrics?.stateChanged(server, to);
    const fields = { server, from, to, reason };
    if (to === 'alive') this.log.info(fields, 'upstream server state');
    else this.log.warn(fields, 'upstream server state');
  }

  replyDropped(server: string, reason: ReplyDropReason): void {
    this.upstreamMetrics?.replyDropped(server, reason);
    if (this.log.isLevelEnabled('debug')) this.log.debug({ server, reason }, 'upstream reply dropped');
  }

  retransmitted(server: string, purpose: UpstreamPurpose): void {
    this.upstreamMetrics?.retransmitted(server, purpose);
  }

  timedOut(server: string, purpose: UpstreamPurpose): void {
    this.upstreamMetrics?.timedOut(server, purpose);
  }

  replied(server: string, purpose: UpstreamPurpose, seconds: number): void {
    this.upstreamMetrics?.replied(server, purpose, seconds);
  }

  // Challenge rules: every decision at debug (server, rule, action, user; never a password).

  challengeRuleMatched(server: string, rule: string, action: ChallengeAction, round: number, user: string | undefined): void {
    this.challengeMetrics.hit(server, rule, action);
    if (this.log.isLevelEnabled('debug')) this.log.debug({ server, rule, action, round, user }, 'challenge rule matched');
  }

  challengeUnmatched(server: string, code: number, round: number, user: string | undefined): void {
    if (this.log.isLevelEnabled('debug')) this.log.debug({ server, code: codeName(code), round, user }, 'no challenge rule matched; reply relayed');
  }

  challengeRoundsExhausted(server: string, rule: string, maxRounds: number, user: string | undefined): void {
    this.challengeMetrics.roundsExhausted(server, rule);
    if (this.log.isLevelEnabled('debug')) this.log.debug({ server, rule, max_rounds: maxRounds, user }, 'challenge rule matched after max_rounds automatic requests; reply relayed');
  }

  challengeRoundFailed(server: string, rule: string, reason: RoundFailure, user: string | undefined): void {
    this.challengeMetrics.roundFailed(server, rule, reason);
    if (this.log.isLevelEnabled('debug')) this.log.debug({ server, rule, reason, user }, 'challenge rule: automatic request failed');
  }

  committed(records: number, seconds: number): void {
    this.metrics.accountingFsynced();
    this.metrics.accountingCommitted(seconds);
    if (this.log.isLevelEnabled('trace')) this.log.trace({ records, seconds }, 'accounting batch committed');
  }
}

/** The spool's events: commits counted, damage and failures logged loudly. */
export function spoolObserver(log: () => Logger, metrics: SpoolMetrics): SpoolObserver {
  return {
    committed: (_records, seconds) => metrics.committed(seconds),
    corrupt: (segment, offset, bytes) => {
      metrics.corruptRegion();
      log().error({ segment, offset, bytes }, 'accounting spool: damaged bytes skipped');
    },
    truncated: (segment, offset, bytes) => log().warn({ segment, offset, bytes }, 'accounting spool: torn write at the end cut off'),
    cursorFailed: (err) => log().error({ err }, 'accounting spool: cannot persist the delivery cursor'),
  };
}

/** Delivery upstream: counted per pool and server; deferrals logged at most every 10 s per pool. */
export function forwarderObserver(log: () => Logger, metrics: SpoolMetrics): ForwarderObserver {
  const lastLogged = new Map<string, number>();
  return {
    delivered: (pool, server) => metrics.deliveredTo(pool, server),
    deferred: (pool, reason, err) => {
      metrics.deferredFor(pool, reason);
      const now = Date.now();
      if ((lastLogged.get(pool) ?? 0) + DROP_LOG_INTERVAL_MS > now) return;
      lastLogged.set(pool, now);
      log().warn({ pool, reason, ...(err ? { err } : {}) }, 'accounting delivery put off; records stay in the spool');
    },
    undeliverable: (seq, reason) =>
      log().error({ seq, reason }, reason === 'malformed' ? 'accounting spool: record cannot be decoded; skipped' : 'accounting spool: record would pass 4096 octets upstream; skipped'),
  };
}

/**
 * LDAP server health: logged, and shown in aaaproxy_upstream_state as `ldap:NAME URL`; the
 * service account in use (aaaproxy_ldap_service_account), and user filters matching several
 * entries (counted; logged at most every 10 s per directory).
 */
export function ldapObserver(log: () => Logger, metrics: UpstreamMetrics, ldapMetrics: LdapMetrics, directory: string): LdapDirectoryObserver {
  ldapMetrics.setServiceAccount(directory, 'primary');
  let severalLogged = 0;
  return {
    stateChanged: (url, from, to, reason) => {
      metrics.stateChanged(`ldap:${directory} ${url}`, to);
      const fields = { directory, url, from, to, reason };
      if (to === 'alive') log().info(fields, 'LDAP server state');
      else log().warn(fields, 'LDAP server state');
    },
    serviceAccountChanged: (from, to, url) => {
      ldapMetrics.setServiceAccount(directory, to);
      const fields = { directory, url, from, to };
      if (to === 'primary') log().info(fields, 'LDAP service account: the primary one binds again');
      else log().warn(fields, 'LDAP service account: the primary one was refused; the backup account binds');
    },
    severalEntriesMatched: (user) => {
      ldapMetrics.severalEntries(directory);
      const now = Date.now();
      if (now - severalLogged < DROP_LOG_INTERVAL_MS) return;
      severalLogged = now;
      log().warn({ directory, user }, 'LDAP user filter matched several entries; the first one is used');
    },
  };
}

/** Health checks of one directory's servers: counted per result; state changes logged (warn when failing). */
export function ldapHealthObserver(log: () => Logger, metrics: LdapMetrics, directory: string): HealthObserver {
  return {
    checked: (url, result, seconds) => {
      metrics.healthChecked(directory, url, result);
      if (log().isLevelEnabled('debug')) log().debug({ directory, url, result, seconds }, 'LDAP health check');
    },
    stateChanged: (url, from, to, result) => {
      metrics.setHealthState(directory, url, to);
      const fields = { directory, url, from, to, result };
      if (to === 'passing') log().info(fields, 'LDAP health check state');
      else log().warn(fields, 'LDAP health check state');
    },
  };
}

/** Ends of LDAP sessions that are the client's or the network's doing, not worth more than debug. */
const ORDINARY_DISCONNECTS: ReadonlySet<DisconnectReason> = new Set(['unbind', 'client_closed', 'idle_timeout', 'server_closing', 'socket_error']);

/**
 * The LDAP front listeners: counted in aaaproxy_ldap_front_*; refused binds logged at info (with
 * the DN, never a password), protocol violations and refused connections at warn, at most once
 * per (listener, reason, client address) every 10 s with a count of the ones left out.
 */
export function ldapFrontObserver(log: () => Logger, metrics: LdapFrontMetrics): LdapFrontObserver {
  const logged = new Map<string, { at: number; suppressed: number }>();
  const throttled = (key: string): number | undefined => {
    const now = Date.now();
    const seen = logged.get(key);
    if (seen && now - seen.at < DROP_LOG_INTERVAL_MS) {
      seen.suppressed++;
      return undefined;
    }
    if (logged.size >= MAX_DROP_LOG_KEYS) logged.clear();
    logged.set(key, { at: now, suppressed: 0 });
    return seen?.suppressed ?? 0;
  };
  return {
    listening: (listener) => metrics.initListener(listener, DISCONNECT_REASONS, REJECT_REASONS),
    connectionOpened: (listener, peer) => {
      metrics.connectionOpened(listener);
      if (log().isLevelEnabled('debug')) log().debug({ listener, peer }, 'LDAP connection opened');
    },
    connectionRejected: (listener, peer, reason) => {
      metrics.connectionRejected(listener, reason);
      const suppressed = throttled(`rejected|${listener}|${reason}|${peer}`);
      if (suppressed !== undefined) log().warn({ listener, peer, reason, ...(suppressed ? { suppressed } : {}) }, 'LDAP connection refused');
    },
    connectionClosed: (listener, peer, reason, seconds) => {
      metrics.connectionClosed(listener, reason);
      if (ORDINARY_DISCONNECTS.has(reason)) {
        if (log().isLevelEnabled('debug')) log().debug({ listener, peer, reason, seconds }, 'LDAP connection closed');
        return;
      }
      const suppressed = throttled(`closed|${listener}|${reason}|${peer}`);
      if (suppressed !== undefined) log().warn({ listener, peer, reason, ...(suppressed ? { suppressed } : {}) }, 'LDAP connection closed by the server');
    },
    operation: (listener, peer, operation, resultCode, seconds, dn) => {
      const result = resultCodeName(resultCode);
      metrics.operation(listener, operation, result, seconds);
      if (operation === 'bind' && resultCode !== 0) log().info({ listener, peer, dn, result }, 'LDAP bind refused');
      else if (log().isLevelEnabled('debug')) log().debug({ listener, peer, operation, result, seconds, ...(dn !== undefined ? { dn } : {}) }, 'LDAP operation');
    },
    internalError: (listener, peer, err) => log().error({ listener, peer, err }, 'LDAP front server error'),
  };
}

/**
 * The session table: counted in aaaproxy_session*; sessions the table ends itself (each sends a
 * Stop) logged at info, everything per request at debug only; refusals and failures at most
 * once per 10 s per kind, with a count of the ones left out.
 */
export function sessionObserver(log: () => Logger, metrics: SessionMetrics): SessionObserver {
  const last = new Map<string, { at: number; suppressed: number }>();
  const throttled = (key: string): number | undefined => {
    const now = Date.now();
    const seen = last.get(key);
    if (seen && now - seen.at < DROP_LOG_INTERVAL_MS) {
      seen.suppressed++;
      return undefined;
    }
    last.set(key, { at: now, suppressed: 0 });
    return seen?.suppressed ?? 0;
  };
  return {
    started: (r) => {
      metrics.sessionStarted(r.origin);
      if (log().isLevelEnabled('debug')) log().debug({ session: r.id, user: r.user, client: r.client, origin: r.origin }, 'session started');
    },
    ended: (r, cause, by) => {
      metrics.sessionStopped(cause);
      // A new login on the same port replacing the old session is routine (one per re-login):
      // debug, like the NAS's own ends; the table's other decisions are worth an info line.
      if (by !== 'nas' && cause !== 'superseded') {
        log().info({ session: r.id, user: r.user, client: r.client, nas: r.nasKey, acct_session_id: r.acctSessionId, cause, by }, 'session ended by aaaproxy');
      } else if (log().isLevelEnabled('debug')) log().debug({ session: r.id, user: r.user, client: r.client, cause, by }, 'session ended');
    },
    refused: (reason, client) => {
      metrics.sessionRefused(reason);
      const suppressed = throttled(`refused|${reason}`);
      if (suppressed !== undefined) log().warn({ reason, client, ...(suppressed ? { suppressed } : {}) }, 'session not tracked: the session table is full (sessions.max_sessions)');
    },
    accounting: (result) => metrics.accounting(result),
    stopSent: (r, cause) => {
      metrics.stop(cause, 'sent');
      if (log().isLevelEnabled('debug')) log().debug({ session: r.id, user: r.user, cause }, 'session Stop recorded');
    },
    stopFailed: (r, cause, err, final) => {
      metrics.stop(cause, final ? 'dropped' : 'retry');
      const fields = { session: r.id, user: r.user, acct_session_id: r.acctSessionId, cause, err };
      if (final) log().error(fields, 'session Stop could not be recorded; given up');
      else log().warn(fields, 'session Stop could not be recorded; will retry');
    },
    failed: (operation, err) => {
      metrics.error(operation);
      const suppressed = throttled(`failed|${operation}`);
      if (suppressed !== undefined) log().error({ operation, err, ...(suppressed ? { suppressed } : {}) }, 'session table operation failed');
    },
  };
}

/** The session journal: writes counted, compactions at info, failures at error (at most every 10 s). */
export function sessionJournalObserver(log: () => Logger, metrics: SessionMetrics): JournalObserver {
  let lastFailure = 0;
  return {
    flushed: (records, bytes, seconds) => {
      metrics.journalFlushed();
      if (log().isLevelEnabled('trace')) log().trace({ records, bytes, seconds }, 'session journal flushed');
    },
    compacted: (records, bytes, seconds) => {
      metrics.journalCompacted();
      log().info({ records, bytes, seconds }, 'session snapshot written');
    },
    failed: (operation, err) => {
      metrics.journalFailed(operation);
      const now = Date.now();
      if (now - lastFailure < DROP_LOG_INTERVAL_MS) return;
      lastFailure = now;
      log().error({ operation, err }, 'session journal write failed; changes kept in memory and retried');
    },
  };
}

/** Dynamic authorization (RFC 5176): every answer at info (they are rare and change sessions), drops throttled per reason and source. */
export function dynauthObserver(log: () => Logger, metrics: DynauthMetrics): DynauthObserver & NasClientObserver {
  const last = new Map<string, number>();
  return {
    dropped: (reason, peer, client) => {
      metrics.drop(reason);
      const key = `${reason}|${peer.address}`;
      const now = Date.now();
      if ((last.get(key) ?? -Infinity) > now - DROP_LOG_INTERVAL_MS) return;
      if (last.size >= MAX_DROP_LOG_KEYS) last.clear();
      last.set(key, now);
      log().warn({ reason, peer: `${peer.address}:${peer.port}`, client }, 'dynauth request dropped');
    },
    answered: (type, result, client, d) => {
      metrics.answered(type, result);
      log().info({ type, result, client, user: d.user, sessions: d.sessions, nases: d.nases }, 'dynauth request answered');
    },
    nasAnswered: (type, result, target, sessions) => {
      metrics.nasAnswered(type, result);
      const fields = { type, result, client: target?.client ?? sessions[0]?.client, nas: target ? `${target.address}:${target.port}` : undefined, sessions: sessions.map((s) => s.id) };
      if (result === 'ack') log().info(fields, 'dynauth request acknowledged by the NAS');
      else log().warn(fields, 'dynauth request not acknowledged by the NAS');
    },
    duplicate: () => metrics.duplicate(),
    failed: (err) => log().error({ err }, 'dynauth request failed'),
    badReply: (target, reason) => log().warn({ client: target.client, nas: `${target.address}:${target.port}`, reason }, 'dynauth reply from the NAS dropped'),
    retransmitted: (target, attempt) => {
      if (log().isLevelEnabled('debug')) log().debug({ client: target.client, nas: `${target.address}:${target.port}`, attempt }, 'dynauth request retransmitted to the NAS');
    },
  };
}
