/**
 * The one error factory of the gateway protocol and session layers.
 *
 * Every rejected input — a malformed frame, a bad field, a failed logon, a throttled
 * request — is described by a stable string code (like ws's WS_ERR_*), and each code
 * has exactly one documented disposition:
 *
 *   reject  the message is refused; the connection stays up. The gateway answers with
 *           a `Reject` (or `LogonReject`) carrying `reason` and the refused message's
 *           sequence number (`refSeq`).
 *   close   the connection is closed with `closeCode` (after a LogonReject for logon
 *           failures). Frame-level errors are found before any message of the frame
 *           is delivered, so a bad frame has no side effects.
 *   throw   a caller bug (the local encoder was handed a value its field cannot carry);
 *           thrown, never sent.
 *
 * The table below is the single source for docs/protocol.md's error table.
 */
import { CloseCode } from './close-codes';
import { GatewayReject } from './reject-codes';

export type Disposition = 'reject' | 'close' | 'throw';

export interface ErrorSpec {
  /** Numeric reason sent in Reject / LogonReject (gateway/protocol/reject-codes.ts). */
  readonly reason: number;
  readonly disposition: Disposition;
  /** WebSocket close code for disposition 'close'; 0 otherwise. */
  readonly closeCode: number;
  /** One line for logs and docs. */
  readonly summary: string;
}

const reject = (reason: number, summary: string): ErrorSpec => ({ reason, disposition: 'reject', closeCode: 0, summary });
const close = (reason: number, closeCode: number, summary: string): ErrorSpec => ({ reason, disposition: 'close', closeCode, summary });

export const PROTOCOL_ERRORS = {
  PROTO_TEXT_FRAME: close(GatewayReject.PROTO_TEXT_FRAME, CloseCode.UNSUPPORTED_DATA, 'a text frame; the protocol is binary only'),
  PROTO_OVERSIZED_FRAME: close(GatewayReject.PROTO_OVERSIZED_FRAME, CloseCode.MESSAGE_TOO_BIG, 'frame longer than maxFrameBytes'),
  PROTO_TOO_MANY_MESSAGES: close(GatewayReject.PROTO_TOO_MANY_MESSAGES, CloseCode.TOO_MANY_MESSAGES, 'more messages in one frame than maxMessagesPerFrame'),
  PROTO_SHORT_FRAME: close(GatewayReject.PROTO_SHORT_FRAME, CloseCode.MALFORMED_FRAME, 'frame ends inside a message (empty frame, partial header, or a declared length past the frame end)'),
  PROTO_BAD_LENGTH: close(GatewayReject.PROTO_BAD_LENGTH, CloseCode.MALFORMED_FRAME, 'message length field smaller than the 4-byte message header'),
  PROTO_BAD_VERSION: close(GatewayReject.PROTO_BAD_VERSION, CloseCode.BAD_SCHEMA_VERSION, 'message header names an unsupported schema version'),
  PROTO_UNKNOWN_TEMPLATE: reject(GatewayReject.PROTO_UNKNOWN_TEMPLATE, 'no template with this id in this direction'),
  PROTO_SHORT_MESSAGE: reject(GatewayReject.PROTO_SHORT_MESSAGE, 'message length below its template\'s block length'),
  PROTO_LONG_MESSAGE: reject(GatewayReject.PROTO_LONG_MESSAGE, 'message length above its template\'s block length (trailing bytes)'),
  PROTO_BAD_ENUM: reject(GatewayReject.PROTO_BAD_ENUM, 'enumerated field holds a value outside core/codes.ts'),
  PROTO_OUT_OF_RANGE: reject(GatewayReject.PROTO_OUT_OF_RANGE, 'numeric field out of range (i64 not a safe integer, sign, sequence < 1, bad ascii7)'),
  PROTO_ENCODE_INVALID: { reason: GatewayReject.PROTO_ENCODE_INVALID, disposition: 'throw', closeCode: 0, summary: 'encoder handed a value its field kind cannot carry' },
  LOGON_UNKNOWN_KEY: close(GatewayReject.LOGON_UNKNOWN_KEY, CloseCode.LOGON_FAILED, 'no API key with this id'),
  LOGON_BAD_SIGNATURE: close(GatewayReject.LOGON_BAD_SIGNATURE, CloseCode.LOGON_FAILED, 'signature does not verify against the key'),
  LOGON_CLOCK_SKEW: close(GatewayReject.LOGON_CLOCK_SKEW, CloseCode.LOGON_FAILED, 'logon timestamp further from server time than clockSkewMaxMicros'),
  LOGON_NONCE_REUSED: close(GatewayReject.LOGON_NONCE_REUSED, CloseCode.LOGON_FAILED, 'nonce already used by this key (or timestamp below the key\'s replay floor)'),
  LOGON_SESSION_ACTIVE: close(GatewayReject.LOGON_SESSION_ACTIVE, CloseCode.LOGON_FAILED, 'this key already has a live session (second session refused)'),
  LOGON_BAD_PARAMETERS: close(GatewayReject.LOGON_BAD_PARAMETERS, CloseCode.LOGON_FAILED, 'heartbeat interval or cancel-on-disconnect value out of range'),
  LOGON_TIMEOUT: close(GatewayReject.LOGON_TIMEOUT, CloseCode.LOGON_REQUIRED, 'no Logon within logonTimeoutMs of connecting'),
  LOGON_REQUIRED: close(GatewayReject.LOGON_REQUIRED, CloseCode.LOGON_REQUIRED, 'a message other than Logon before logon'),
  LOGON_WRONG_GATEWAY: close(GatewayReject.LOGON_WRONG_GATEWAY, CloseCode.WRONG_GATEWAY, 'the key logged on at a port other than orderEntryBasePort + keyId mod gatewayWorkers'),
  LOGON_DUPLICATE: reject(GatewayReject.LOGON_DUPLICATE, 'a second Logon on a logged-on connection'),
  SESSION_HEARTBEAT_TIMEOUT: close(GatewayReject.SESSION_HEARTBEAT_TIMEOUT, CloseCode.HEARTBEAT_TIMEOUT, 'no inbound traffic within the heartbeat deadline'),
  SESSION_LOGGED_OUT: reject(GatewayReject.SESSION_LOGGED_OUT, 'a message after Logout'),
  THROTTLED: reject(GatewayReject.THROTTLED, 'order or cancel rate above the session\'s token bucket; Reject carries retryAfterMs'),
  SYSTEM_BUSY: reject(GatewayReject.SYSTEM_BUSY, 'inbound ring full; retry later'),
  NOT_PERMITTED: reject(GatewayReject.NOT_PERMITTED, 'the key lacks the permission this template needs'),
  ACCOUNT_MISMATCH: reject(GatewayReject.ACCOUNT_MISMATCH, 'the message names an account other than the key\'s'),
  REPLAY_UNAVAILABLE: reject(GatewayReject.REPLAY_UNAVAILABLE, 'requested replay range beyond the last sequence sent, or older than the key\'s sequence index reaches'),
  DEAD_MAN_TIMEOUT_OUT_OF_RANGE: reject(GatewayReject.DEAD_MAN_TIMEOUT_OUT_OF_RANGE, 'dead-man switch timeout outside deadManTimeoutMsMin..Max'),
  REPLAY_BUSY: reject(GatewayReject.REPLAY_BUSY, 'a journal replay already runs for this session, or the gateway runs JOURNAL_REPLAYS_MAX; Reject carries retryAfterMs'),
} as const satisfies Record<keyof typeof GatewayReject, ErrorSpec>;

export type ProtocolErrorCode = keyof typeof PROTOCOL_ERRORS;

export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;
  readonly reason: number;
  readonly disposition: Disposition;
  readonly closeCode: number;
  /** Template id of the refused message (0 when unknown or frame-level). */
  readonly templateId: number;
  /** Sequence number of the refused message (0 when unsequenced or unreadable): the Reject's refSeq. */
  readonly sequence: number;

  constructor(code: ProtocolErrorCode, detail: string, templateId: number, sequence: number) {
    const spec: ErrorSpec = PROTOCOL_ERRORS[code];
    super(`${code}: ${detail}`);
    this.name = 'ProtocolError';
    this.code = code;
    this.reason = spec.reason;
    this.disposition = spec.disposition;
    this.closeCode = spec.closeCode;
    this.templateId = templateId;
    this.sequence = sequence;
  }
}

/** The factory: every rejection in gateway/protocol and gateway/session is built here. */
export function protocolError(code: ProtocolErrorCode, detail: string, templateId = 0, sequence = 0): ProtocolError {
  return new ProtocolError(code, detail, templateId, sequence);
}

export function isProtocolError(value: unknown): value is ProtocolError {
  return value instanceof ProtocolError;
}

/** Startup assert: every code's table entry agrees with reject-codes.ts and has a consistent close code. */
function assertTable(): void {
  for (const [code, spec] of Object.entries(PROTOCOL_ERRORS) as [ProtocolErrorCode, ErrorSpec][]) {
    if (spec.reason !== GatewayReject[code]) throw new Error(`errors: ${code} reason ${spec.reason} differs from GatewayReject`);
    if ((spec.disposition === 'close') !== (spec.closeCode !== 0)) throw new Error(`errors: ${code} close code and disposition disagree`);
  }
}
assertTable();
