/**
 * Session-only templates: messages of the wire protocol that have no core command or
 * event behind them (logon, heartbeats, replay, queries and their answers, protocol
 * rejects). Defined once here with the same field-kind machinery as core/schema.ts;
 * gateway/protocol/wire-schema.ts derives their byte layouts exactly like the
 * core-derived templates.
 *
 * Ids: session templates use 128..254, core-derived templates use the core code
 * (1..127). Client-to-server session templates start at 128, server-to-client ones at
 * 192; Logout, Heartbeat and TestRequest travel both ways with one id and layout.
 *
 * `sequenced`: the message carries the 8-byte sequence number after its header
 * (client requests: the client sequence; server messages: the session sequence).
 * Session-level traffic (logon, heartbeats, replay control) and answers that are
 * safe to re-request (query responses, Reject) are unsequenced and never replayed.
 */
import { WireKind } from './wire-kinds';

export type SessionDirection = 'client-to-server' | 'server-to-client' | 'both';

export interface SessionTemplateSpec {
  readonly id: number;
  readonly name: string;
  readonly direction: SessionDirection;
  readonly sequenced: boolean;
  readonly fields: Readonly<Record<string, WireKind>>;
}

const SEQUENCED = true;
const UNSEQUENCED = false;

function session(
  id: number, name: string, direction: SessionDirection, sequenced: boolean, fields: Readonly<Record<string, WireKind>>,
): SessionTemplateSpec {
  return Object.freeze({ id, name, direction, sequenced, fields: Object.freeze({ ...fields }) });
}

export const SESSION_TEMPLATE_ID_MIN = 128;
export const SERVER_SESSION_TEMPLATE_ID_MIN = 192;
export const SESSION_TEMPLATE_ID_MAX = 254;

export const SessionTemplates = {
  /** Opens a session. signature: HMAC-SHA256 (32 bytes, zero-padded) or Ed25519 (64 bytes) over logonSigningBytes (auth.ts). */
  Logon: session(128, 'Logon', 'client-to-server', UNSEQUENCED, {
    keyId: 'u32', timestampMicros: 'i64', nonce: 'i64', heartbeatIntervalMs: 'u32', cancelOnDisconnect: 'u8',
    signature: 'bytes64',
  }),
  /** Ends a session (either side). reason: 0 for an orderly logout, else a gateway reject code. */
  Logout: session(129, 'Logout', 'both', UNSEQUENCED, { reason: 'u16' }),
  /** Liveness. testRequestId: the TestRequest being answered, else 0. */
  Heartbeat: session(130, 'Heartbeat', 'both', UNSEQUENCED, { testRequestId: 'i64' }),
  /** Asks the peer for a Heartbeat echoing testRequestId. */
  TestRequest: session(131, 'TestRequest', 'both', UNSEQUENCED, { testRequestId: 'i64' }),
  /** Re-send sequenced server messages fromSequence..toSequence (toSequence 0 = up to the latest). */
  ReplayRequest: session(132, 'ReplayRequest', 'client-to-server', UNSEQUENCED, { fromSequence: 'i64', toSequence: 'i64' }),
  /** Asks for one order's state, by orderId, or by clientOrderId when orderId is 0. */
  OrderStatusRequest: session(133, 'OrderStatusRequest', 'client-to-server', SEQUENCED, {
    account: 'u32', orderId: 'i64', clientOrderId: 'u32',
  }),
  /** Arms (timeoutMs > 0, re-arming moves the deadline) or disarms (timeoutMs 0) the dead-man switch. */
  DeadManSwitch: session(134, 'DeadManSwitch', 'client-to-server', SEQUENCED, { timeoutMs: 'u32' }),
  AccountSummaryRequest: session(135, 'AccountSummaryRequest', 'client-to-server', SEQUENCED, { account: 'u32' }),
  /** instrument 0 = every position of the account. */
  PositionsRequest: session(136, 'PositionsRequest', 'client-to-server', SEQUENCED, { account: 'u32', instrument: 'u32' }),

  /** nextServerSequence: the sequence the next sequenced server message will carry; lastClientSequence: highest client sequence processed. */
  LogonAck: session(192, 'LogonAck', 'server-to-client', UNSEQUENCED, {
    nextServerSequence: 'i64', lastClientSequence: 'i64', heartbeatIntervalMs: 'u32', cancelOnDisconnect: 'u8',
  }),
  /** reason: a gateway reject code (11xx); the server closes with 4002 after it. */
  LogonReject: session(193, 'LogonReject', 'server-to-client', UNSEQUENCED, { reason: 'u16' }),
  /** A refused client message. refSeq: its client sequence (0 if unsequenced/unreadable); retryAfterMs: for THROTTLED. */
  Reject: session(194, 'Reject', 'server-to-client', UNSEQUENCED, {
    refSeq: 'i64', reason: 'u16', refTemplateId: 'u8', retryAfterMs: 'u32',
  }),
  /** Ends a replay: the range actually re-sent. */
  ReplayComplete: session(195, 'ReplayComplete', 'server-to-client', UNSEQUENCED, { fromSequence: 'i64', toSequence: 'i64' }),
  OrderStatus: session(196, 'OrderStatus', 'server-to-client', UNSEQUENCED, {
    refSeq: 'i64', orderId: 'i64', account: 'u32', instrument: 'u32', clientOrderId: 'u32', side: 'u8', price: 'i64',
    quantity: 'i64', leavesQuantity: 'i64', status: 'u8',
  }),
  AccountSummary: session(197, 'AccountSummary', 'server-to-client', UNSEQUENCED, {
    refSeq: 'i64', account: 'u32', status: 'u8', cashBalance: 'i64', reservedCash: 'i64', equity: 'i64',
    maintenanceRequirement: 'i64',
  }),
  /** One position; reportIndex 1..reportCount. An account without positions gets one report with reportCount 0. */
  PositionReport: session(198, 'PositionReport', 'server-to-client', UNSEQUENCED, {
    refSeq: 'i64', account: 'u32', instrument: 'u32', quantity: 'i64', costBasis: 'i64', realizedPnl: 'i64',
    reportIndex: 'u32', reportCount: 'u32',
  }),
  /** Answer to DeadManSwitch. armed: 1 armed, 0 disarmed. */
  DeadManSwitchStatus: session(199, 'DeadManSwitchStatus', 'server-to-client', UNSEQUENCED, {
    refSeq: 'i64', timeoutMs: 'u32', armed: 'u8',
  }),
} as const;

export type SessionTemplateName = keyof typeof SessionTemplates;

/** Logon.cancelOnDisconnect / LogonAck.cancelOnDisconnect. 0 means the default, which is On. */
export const CancelOnDisconnect = { Default: 0, On: 1, Off: 2 } as const;

/** OrderStatus.status. */
export const OrderStatusCode = {
  Open: 1, PartiallyFilled: 2, Filled: 3, Canceled: 4, PendingStop: 5, NotFound: 6,
} as const;
