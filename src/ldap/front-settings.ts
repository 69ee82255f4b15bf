/** What an LDAP front listener runs with, and the events it reports. Types only. */
import type { SecureContext } from 'node:tls';
import type { LdapDirectory } from './directory.js';
import type { DecodeFailure } from './front-codec.js';
import type { AllowedBase } from './front-policy.js';

export type LdapTlsMode = 'none' | 'ldaps' | 'starttls';

/** Everything a connection needs; a reload swaps the whole object (connections keep the one they began with). */
export interface LdapFrontSettings {
  name: string;
  directory: LdapDirectory;
  tlsMode: LdapTlsMode;
  /** Certificate and key, for ldaps and starttls. */
  secureContext: SecureContext | undefined;
  baseDns: readonly AllowedBase[];
  sizeLimit: number;
  timeLimitSeconds: number;
  allowAnonymous: boolean;
  allowPasswordChange: boolean;
  maxMessageBytes: number;
  maxFilterDepth: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
  idleTimeoutMs: number;
}

/** Why a connection ended (a closed set: it labels aaaproxy_ldap_front_disconnects_total). */
export type DisconnectReason =
  | DecodeFailure
  | 'message_too_large'
  | 'unbind'
  | 'client_closed'
  | 'idle_timeout'
  | 'tls_failed'
  | 'directory_lost'
  | 'server_closing'
  | 'socket_error'
  /** A bug of ours (logged at error): only that session ends. */
  | 'internal_error';

export const DISCONNECT_REASONS: readonly DisconnectReason[] = [
  'truncated',
  'indefinite_length',
  'length_too_long',
  'high_tag',
  'unexpected_tag',
  'bad_value',
  'bad_utf8',
  'trailing_bytes',
  'unknown_operation',
  'filter_too_deep',
  'bad_message_id',
  'message_too_large',
  'unbind',
  'client_closed',
  'idle_timeout',
  'tls_failed',
  'directory_lost',
  'server_closing',
  'socket_error',
  'internal_error',
];

/** Why a connection was refused before any LDAP was read. */
export type RejectReason = 'per_client_limit' | 'listener_limit' | 'closing';
export const REJECT_REASONS: readonly RejectReason[] = ['per_client_limit', 'listener_limit', 'closing'];

/** Operation labels (aaaproxy_ldap_front_operations_total{operation}). */
export type FrontOperation = 'bind' | 'search' | 'compare' | 'modify' | 'add' | 'delete' | 'modify_dn' | 'whoami' | 'starttls' | 'extended';

export interface LdapFrontObserver {
  /** The listener's socket is bound (closed label sets can start at 0). */
  listening(listener: string): void;
  connectionOpened(listener: string, peer: string): void;
  connectionRejected(listener: string, peer: string, reason: RejectReason): void;
  connectionClosed(listener: string, peer: string, reason: DisconnectReason, seconds: number): void;
  /** One answered operation; `dn` is the bind DN for binds (never a password). */
  operation(listener: string, peer: string, operation: FrontOperation, resultCode: number, seconds: number, dn?: string): void;
  /** Something unexpected inside the front server (a bug): logged, the connection is closed. */
  internalError(listener: string, peer: string, err: unknown): void;
}
