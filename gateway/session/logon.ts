/**
 * The logon sequence, composed from the pure parts (so the gateway has one call):
 *
 *   1. the connection must be awaiting logon              LOGON_DUPLICATE
 *   2. authenticate: key, clock skew, signature, nonce    LOGON_* (auth.ts)
 *   3. one live session per key                           LOGON_SESSION_ACTIVE
 *   4. logon parameters, then awaiting-logon -> active    LOGON_BAD_PARAMETERS
 *
 * On failure the gateway sends LogonReject(error.reason) and closes with
 * error.closeCode (4002). On success it sends LogonAck (writeLogonAck).
 */
import { ProtocolError, protocolError } from '../protocol/errors';
import { CancelOnDisconnect } from '../protocol/session-schema';
import { ClientTemplates, RECORD_WORDS, ServerTemplates, WireTemplate } from '../protocol/wire-schema';
import { LogonAuthenticator, LogonCredentials } from './auth';
import { Session, SessionPhase } from './session-state';
import { SessionRegistry } from './session-registry';

export interface LogonRequest extends LogonCredentials {
  readonly heartbeatIntervalMs: number;
  readonly cancelOnDisconnect: number;
}

const LOGON: WireTemplate = ClientTemplates.byName.Logon;
const LOGON_ACK: WireTemplate = ServerTemplates.byName.LogonAck;

/** Reads a decoded Logon (decoder.record and decoder.blob). The signature is copied. */
export function logonRequestFrom(record: Float64Array, blob: Uint8Array): LogonRequest {
  const at = LOGON.at;
  return {
    keyId: record[at.keyId],
    timestampMicros: record[at.timestampMicros],
    nonce: record[at.nonce],
    heartbeatIntervalMs: record[at.heartbeatIntervalMs],
    cancelOnDisconnect: record[at.cancelOnDisconnect],
    signature: blob.slice(),
  };
}

export function processLogon(
  authenticator: LogonAuthenticator, registry: SessionRegistry, session: Session, request: LogonRequest, nowMicros: number,
): ProtocolError | null {
  if (session.phase !== SessionPhase.AwaitingLogon) return protocolError('LOGON_DUPLICATE', `session is ${session.phase}`, LOGON.id);
  const auth = authenticator.verify(request, nowMicros);
  if (auth.error !== null) return auth.error;
  if (!session.logonParametersValid(request.heartbeatIntervalMs, request.cancelOnDisconnect)) {
    return protocolError('LOGON_BAD_PARAMETERS', `heartbeatIntervalMs ${request.heartbeatIntervalMs}, cancelOnDisconnect ${request.cancelOnDisconnect}`, LOGON.id);
  }
  const claimed = registry.claim(auth.key, session);
  if (claimed instanceof ProtocolError) return claimed;
  const error = session.activate(auth.key, claimed, request.heartbeatIntervalMs, request.cancelOnDisconnect, nowMicros);
  if (error !== null) throw new Error(`logon: activate failed after its checks passed (${error.message})`); // pair check
  return null;
}

/** Fills `record` with the LogonAck for an activated session (encode with the LogonAck template). */
export function writeLogonAck(session: Session, record: Float64Array = new Float64Array(RECORD_WORDS)): Float64Array {
  const sessionRecord = session.record;
  if (sessionRecord === null) throw new Error('writeLogonAck: session is not active');
  const at = LOGON_ACK.at;
  record.fill(0);
  record[at.nextServerSequence] = sessionRecord.sequences.nextServerSequence;
  record[at.lastClientSequence] = sessionRecord.sequences.lastClientSequence;
  record[at.heartbeatIntervalMs] = session.heartbeatIntervalMs;
  record[at.cancelOnDisconnect] = session.cancelOnDisconnect ? CancelOnDisconnect.On : CancelOnDisconnect.Off;
  return record;
}
