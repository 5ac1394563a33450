/**
 * Gateway-level reject reasons: the numbers carried by the `Reject` and
 * `LogonReject` wire messages (and, for `THROTTLED`, the retry-after ms beside it).
 *
 * They live in 1000..1999 so they can never be confused with the core's
 * `RejectReason` codes (100..999, core/codes.ts), which travel in the core's own
 * OrderRejected / CancelRejected / CommandRejected events. Grouped by stage like the
 * core's codes: 10xx frame and message decoding, 11xx logon and session,
 * 12xx flow control and authorization. Never renumber; only append.
 */
import { RejectReason } from '../../core/codes';

export const GatewayReject = {
  // 10xx: frame and message decoding (gateway/protocol/decoder.ts)
  PROTO_TEXT_FRAME: 1000,
  PROTO_OVERSIZED_FRAME: 1001,
  PROTO_TOO_MANY_MESSAGES: 1002,
  PROTO_SHORT_FRAME: 1003,
  PROTO_BAD_LENGTH: 1004,
  PROTO_BAD_VERSION: 1005,
  PROTO_UNKNOWN_TEMPLATE: 1006,
  PROTO_SHORT_MESSAGE: 1007,
  PROTO_LONG_MESSAGE: 1008,
  PROTO_BAD_ENUM: 1009,
  PROTO_OUT_OF_RANGE: 1010,
  /** Never sent: the local encoder was handed a value its field cannot carry (a caller bug). */
  PROTO_ENCODE_INVALID: 1011,
  // 11xx: logon and session (gateway/session/)
  LOGON_UNKNOWN_KEY: 1100,
  LOGON_BAD_SIGNATURE: 1101,
  LOGON_CLOCK_SKEW: 1102,
  LOGON_NONCE_REUSED: 1103,
  LOGON_SESSION_ACTIVE: 1104,
  LOGON_BAD_PARAMETERS: 1105,
  LOGON_TIMEOUT: 1106,
  LOGON_REQUIRED: 1107,
  LOGON_DUPLICATE: 1108,
  SESSION_HEARTBEAT_TIMEOUT: 1109,
  SESSION_LOGGED_OUT: 1110,
  /** The key logged on at a port other than its own (orderEntryBasePort + keyId mod workers). */
  LOGON_WRONG_GATEWAY: 1111,
  // 12xx: flow control and authorization
  THROTTLED: 1200,
  SYSTEM_BUSY: 1201,
  NOT_PERMITTED: 1202,
  ACCOUNT_MISMATCH: 1203,
  REPLAY_UNAVAILABLE: 1204,
  DEAD_MAN_TIMEOUT_OUT_OF_RANGE: 1205,
  /** A journal replay already runs for this session, or the gateway runs its maximum of them; retry after retryAfterMs. */
  REPLAY_BUSY: 1206,
} as const;
export type GatewayReject = (typeof GatewayReject)[keyof typeof GatewayReject];

export const GATEWAY_REJECT_MIN = 1000;
export const GATEWAY_REJECT_MAX = 1999;

/** Startup assert: gateway codes stay in their range, are unique, and never shadow a core reason. */
function assertRange(): void {
  const core = new Set<number>(Object.values(RejectReason));
  const seen = new Set<number>();
  for (const [name, code] of Object.entries(GatewayReject)) {
    if (!Number.isInteger(code) || code < GATEWAY_REJECT_MIN || code > GATEWAY_REJECT_MAX) {
      throw new Error(`reject-codes: ${name} = ${code} is outside ${GATEWAY_REJECT_MIN}..${GATEWAY_REJECT_MAX}`);
    }
    if (core.has(code)) throw new Error(`reject-codes: ${name} = ${code} collides with a core RejectReason`);
    if (seen.has(code)) throw new Error(`reject-codes: ${name} = ${code} is used twice`);
    seen.add(code);
  }
}
assertRange();
