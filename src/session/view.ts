/** A session as the admin HTTP shows it (and the CLI reads it): snake_case keys, ISO times. Pure. */
import type { SessionRecord } from './types.js';

export interface SessionView {
  id: string;
  owner: string;
  origin: string;
  user: string;
  realm: string | null;
  client: string;
  nas: {
    key: string;
    address: string;
    ip_address: string | null;
    ipv6_address: string | null;
    identifier: string | null;
    port: number | null;
    port_id: string | null;
    port_type: number | null;
  };
  calling_station_id: string | null;
  called_station_id: string | null;
  framed_ip_address: string | null;
  class: string[];
  state: string | null;
  backend: string | null;
  upstream: string | null;
  roles: string[];
  session_timeout: number | null;
  idle_timeout: number | null;
  termination_action: number | null;
  interim_interval: number | null;
  started_at: string;
  timeout_at: string | null;
  expires_at: string | null;
  acct_session_id: string | null;
  acct_multi_session_id: string | null;
  acct_started_at: string | null;
  last_update_at: string;
  last_activity_at: string;
  session_time: number | null;
  input_octets: number;
  output_octets: number;
  input_packets: number;
  output_packets: number;
  updates: number;
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

export function sessionView(r: SessionRecord): SessionView {
  return {
    id: r.id,
    owner: r.owner,
    origin: r.origin,
    user: r.user,
    realm: r.realm ?? null,
    client: r.client,
    nas: {
      key: r.nasKey,
      address: r.nasAddress,
      ip_address: r.nasIpAddress ?? null,
      ipv6_address: r.nasIpv6Address ?? null,
      identifier: r.nasIdentifier ?? null,
      port: r.nasPort ?? null,
      port_id: r.nasPortId ?? null,
      port_type: r.nasPortType ?? null,
    },
    calling_station_id: r.callingStationId ?? null,
    called_station_id: r.calledStationId ?? null,
    framed_ip_address: r.framedIpAddress ?? null,
    class: r.class ? [...r.class] : [],
    state: r.state ?? null,
    backend: r.backend ?? null,
    upstream: r.upstream ?? null,
    roles: r.roles ? [...r.roles] : [],
    session_timeout: r.sessionTimeout ?? null,
    idle_timeout: r.idleTimeout ?? null,
    termination_action: r.terminationAction ?? null,
    interim_interval: r.interimInterval ?? null,
    started_at: iso(r.startedAt)!,
    timeout_at: iso(r.timeoutAt),
    expires_at: iso(r.expiresAt),
    acct_session_id: r.acctSessionId ?? null,
    acct_multi_session_id: r.acctMultiSessionId ?? null,
    acct_started_at: iso(r.acctStartedAt),
    last_update_at: iso(r.lastUpdateAt)!,
    last_activity_at: iso(r.lastActivityAt)!,
    session_time: r.sessionTime ?? null,
    input_octets: r.inputOctets,
    output_octets: r.outputOctets,
    input_packets: r.inputPackets,
    output_packets: r.outputPackets,
    updates: r.updates,
  };
}
