/**
 * WebSocket close codes the gateway uses (RFC 6455 §7.4). 1000–1015 are the
 * standard ones; 4000–4999 are private-use codes defined by this protocol.
 * docs/protocol.md lists which error closes with which code.
 */
export const CloseCode = {
  /** Orderly end after a Logout exchange. */
  NORMAL: 1000,
  /** The server is shutting down (drain). */
  GOING_AWAY: 1001,
  /** A text frame: this protocol is binary only. */
  UNSUPPORTED_DATA: 1003,
  /** A frame above the negotiated maximum (maxFrameBytes; also ws's maxPayload). */
  MESSAGE_TOO_BIG: 1009,
  /** The frame cannot be cut into messages (truncated, bad message length). */
  MALFORMED_FRAME: 4000,
  /** A message header names a schema version this gateway does not speak. */
  BAD_SCHEMA_VERSION: 4001,
  /** Logon refused (a LogonReject with the reason precedes the close). */
  LOGON_FAILED: 4002,
  /** A message other than Logon before logon, or no Logon within logonTimeoutMs. */
  LOGON_REQUIRED: 4003,
  /** No inbound traffic within the heartbeat deadline, test request unanswered. */
  HEARTBEAT_TIMEOUT: 4004,
  /** More messages in one frame than maxMessagesPerFrame. */
  TOO_MANY_MESSAGES: 4005,
  /** The client reads too slowly: its send buffer passed the gateway's limit. */
  SLOW_CONSUMER: 4006,
  /** The key logged on at a port other than the one it is assigned to (base + keyId mod workers). */
  WRONG_GATEWAY: 4007,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
