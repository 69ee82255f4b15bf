/** Attribute type numbers the code itself relies on (RFC 2865 §5, RFC 2869 §5, RFC 6929 §3). */
export const Attr = {
  UserName: 1,
  UserPassword: 2,
  ChapPassword: 3,
  NasIpAddress: 4,
  NasPort: 5,
  ServiceType: 6,
  FramedIpAddress: 8,
  ReplyMessage: 18,
  State: 24,
  Class: 25,
  VendorSpecific: 26,
  SessionTimeout: 27,
  IdleTimeout: 28,
  TerminationAction: 29,
  CalledStationId: 30,
  CallingStationId: 31,
  NasIdentifier: 32,
  ProxyState: 33,
  AcctStatusType: 40,
  AcctDelayTime: 41,
  AcctInputOctets: 42,
  AcctOutputOctets: 43,
  AcctSessionId: 44,
  AcctSessionTime: 46,
  AcctInputPackets: 47,
  AcctOutputPackets: 48,
  AcctTerminateCause: 49,
  AcctMultiSessionId: 50,
  AcctInputGigawords: 52,
  AcctOutputGigawords: 53,
  EventTimestamp: 55,
  ChapChallenge: 60,
  NasPortType: 61,
  TunnelPassword: 69,
  EapMessage: 79,
  MessageAuthenticator: 80,
  AcctInterimInterval: 85,
  NasPortId: 87,
  NasIpv6Address: 95,
  ErrorCause: 101,
  ExtendedFirst: 241,
  ExtendedLast: 246,
  LongExtendedFirst: 245,
} as const;

/** RFC 6929 §2.1/§2.2: 241–244 are Extended-Type, 245–246 Long-Extended-Type. */
export function isExtendedType(type: number): boolean {
  return type >= Attr.ExtendedFirst && type <= Attr.ExtendedLast;
}

export function isLongExtendedType(type: number): boolean {
  return type === 245 || type === 246;
}
