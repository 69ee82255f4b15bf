/**
 * Creates the ldapjs client of one connection, leaving from a configured source address when
 * there is one (as the RADIUS upstream sockets do).
 *
 * ldapjs 3 has no option for the local address. An ldaps:// connection is made by
 * tls.connect(port, host, tlsOptions), which passes socket.connect() options on, so
 * `localAddress` and `family` go into tlsOptions. An ldap:// connection is made by
 * net.connect(port, host), with `port` the URL's port or, when that is 0, the `socketPath`
 * option as it is; given an object as its first argument, net.connect() reads it as its options
 * (host, port, localAddress, family) and ignores `host`. So a plain connection from a source
 * address is a Client built with the URL's port set to 0 and that object as `socketPath`
 * (createClient() would refuse both together). The URL still names the connection in ldapjs's
 * own bookkeeping. The integration tests check the source address the directory sees (slapd's
 * ACCEPT log line) for ldap://, StartTLS and ldaps://, so an ldapjs upgrade that changes this
 * fails there.
 */
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import ldap from 'ldapjs';

export interface ClientTarget {
  /** ldap://host:port or ldaps://host:port */
  url: string;
  host: string;
  port: number;
  secure: boolean;
}

export interface ClientSettings {
  connectTimeoutMs: number;
  tlsOptions: ConnectionOptions;
  /** Source address of the connection (IPv4 or IPv6); the kernel chooses when absent. */
  sourceAddress?: string | undefined;
}

/** ldapjs wants a logger with child(); nothing of it is used. */
const SILENT = {
  child() {
    return SILENT;
  },
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  fatal: () => undefined,
};

type ClientCtor = new (options: Record<string, unknown>) => ldap.Client;

export function createLdapClient(target: ClientTarget, s: ClientSettings): ldap.Client {
  // Operation timeouts are the caller's; ldapjs's own timer would leave the request tracked.
  const common = { connectTimeout: s.connectTimeoutMs, timeout: 0 };
  if (s.sourceAddress === undefined) {
    return ldap.createClient({ url: target.url, ...common, ...(target.secure ? { tlsOptions: s.tlsOptions } : {}) });
  }
  const bind = { localAddress: s.sourceAddress, family: isIP(s.sourceAddress) };
  if (target.secure) return ldap.createClient({ url: target.url, ...common, tlsOptions: { ...s.tlsOptions, ...bind } });
  const Client = (ldap as unknown as { Client: ClientCtor }).Client;
  const url = new URL(target.url);
  url.port = '0';
  return new Client({ url: url.href, socketPath: { host: target.host, port: target.port, ...bind }, log: SILENT, ...common });
}
