/**
 * One connection's session: a state machine awaiting-logon -> active -> logged-out,
 * with sequence numbers, heartbeat/test-request timers and the dead-man switch, as
 * pure logic. The caller passes the time (µs) in and acts on what the functions say.
 *
 *   connect:        new Session(options, now)
 *   every message:  session.onInbound(now); session.admit(template) → null or an error code
 *   sequenced msg:  session.checkClientSequence(seq) → New | Retransmission (ignore it; no reply)
 *   Heartbeat in:   session.onHeartbeat(testRequestId, now)   (also feeds the dead-man switch)
 *   sending:        session.takeServerSequence() for each sequenced message; session.onOutbound(now)
 *   timer tick:     while ((action = session.poll(now)) !== TimerAction.None) act(action)
 *
 * Sequence numbers belong to the key (KeySequences, shared through its SessionRecord,
 * session-registry.ts) and continue across reconnections: LogonAck tells the client
 * nextServerSequence and lastClientSequence, and the client replays or resends from
 * there. In the gateway both are functions of the journal (order-entry/key-routing.ts),
 * so they continue across restarts too.
 *
 * Heartbeat deadlines (interval I = the logon's heartbeatIntervalMs, G = heartbeatGraceMs):
 *   nothing sent for I                      → SendHeartbeat
 *   nothing received for I + G              → SendTestRequest (once per silence)
 *   nothing received for I × missedHeartbeatsForDisconnect + G
 *                                           → DisconnectMissedHeartbeats (close 4004)
 */
import { protocolError, ProtocolError, ProtocolErrorCode } from '../protocol/errors';
import { CancelOnDisconnect, SessionTemplates } from '../protocol/session-schema';
import { WireTemplate } from '../protocol/wire-schema';
import { DeadManSwitch, DeadManSwitchLimits } from './dead-man-switch';
import { ApiKey } from './key-registry';

export const SessionPhase = { AwaitingLogon: 'awaiting-logon', Active: 'active', LoggedOut: 'logged-out' } as const;
export type SessionPhase = (typeof SessionPhase)[keyof typeof SessionPhase];

export const TimerAction = {
  None: 0,
  SendHeartbeat: 1,
  /** Send TestRequest(session.testRequestId). */
  SendTestRequest: 2,
  /** Close with 4004 (SESSION_HEARTBEAT_TIMEOUT); honour cancel-on-disconnect. */
  DisconnectMissedHeartbeats: 3,
  /** Mass-cancel the session's account (MassCancel(account, 0, 0)); the switch is now disarmed. */
  DeadManSwitchFired: 4,
  /** Close with 4003 (LOGON_TIMEOUT). */
  DisconnectLogonTimeout: 5,
} as const;
export type TimerAction = (typeof TimerAction)[keyof typeof TimerAction];

export const SequenceCheck = { New: 0, Retransmission: 1 } as const;
export type SequenceCheck = (typeof SequenceCheck)[keyof typeof SequenceCheck];

export interface SessionOptions extends DeadManSwitchLimits {
  readonly logonTimeoutMs: number;
  /** Used when the Logon asks for 0. */
  readonly heartbeatIntervalMsDefault: number;
  readonly heartbeatIntervalMsMin: number;
  readonly heartbeatIntervalMsMax: number;
  /** Allowance for transit and timer jitter on inbound deadlines. */
  readonly heartbeatGraceMs: number;
  /** Silent intervals (plus grace) before the session is dropped. */
  readonly missedHeartbeatsForDisconnect: number;
}

export const DEFAULT_SESSION_OPTIONS: SessionOptions = Object.freeze({
  logonTimeoutMs: 5_000,
  heartbeatIntervalMsDefault: 1_000,
  heartbeatIntervalMsMin: 100,
  heartbeatIntervalMsMax: 60_000,
  heartbeatGraceMs: 250,
  missedHeartbeatsForDisconnect: 3,
  deadManTimeoutMsMin: 100,
  deadManTimeoutMsMax: 600_000,
});

export function validateSessionOptions(partial: Partial<SessionOptions> = {}): SessionOptions {
  const o = { ...DEFAULT_SESSION_OPTIONS, ...partial };
  const integer = (key: keyof SessionOptions, min: number, max: number) => {
    const value = o[key];
    if (!Number.isSafeInteger(value) || value < min || value > max) throw new RangeError(`session options: ${key} must be an integer in ${min}..${max}, got ${value}`);
  };
  integer('logonTimeoutMs', 1, 600_000);
  integer('heartbeatIntervalMsMin', 1, 3_600_000);
  integer('heartbeatIntervalMsMax', o.heartbeatIntervalMsMin, 3_600_000);
  integer('heartbeatIntervalMsDefault', o.heartbeatIntervalMsMin, o.heartbeatIntervalMsMax);
  integer('heartbeatGraceMs', 0, 600_000);
  integer('missedHeartbeatsForDisconnect', 2, 100);
  integer('deadManTimeoutMsMin', 1, 86_400_000);
  integer('deadManTimeoutMsMax', o.deadManTimeoutMsMin, 86_400_000);
  return Object.freeze(o);
}

/**
 * A key's two sequence counters. Whoever numbers the key's messages owns them and
 * hands the same object to the key's SessionRecord: the order-entry gateway's
 * KeyStream (journal-derived), or a plain object (SessionRegistry's default).
 */
export interface KeySequences {
  /** Sequence the next sequenced server message gets (starts at 1). */
  nextServerSequence: number;
  /** Highest client sequence processed (0 = none). */
  lastClientSequence: number;
}

/** Per-key state that outlives a connection (owned by SessionRegistry). */
export interface SessionRecord {
  readonly keyId: number;
  readonly account: number;
  readonly sequences: KeySequences;
  /** The connected session, or null. */
  live: Session | null;
  readonly deadMan: DeadManSwitch;
}

const LOGON_ID = SessionTemplates.Logon.id;
const MICROS_PER_MS = 1000;

export class Session {
  readonly options: SessionOptions;
  phase: SessionPhase = SessionPhase.AwaitingLogon;
  key: ApiKey | null = null;
  record: SessionRecord | null = null;
  heartbeatIntervalMs: number;
  cancelOnDisconnect = true;
  /** Id of the outstanding TestRequest, 0 if none. */
  testRequestId = 0;

  private readonly connectedMicros: number;
  private lastInboundMicros: number;
  private lastOutboundMicros: number;
  private testRequestCounter = 0;

  constructor(options: Partial<SessionOptions> = {}, nowMicros: number) {
    this.options = validateSessionOptions(options);
    this.heartbeatIntervalMs = this.options.heartbeatIntervalMsDefault;
    this.connectedMicros = nowMicros;
    this.lastInboundMicros = nowMicros;
    this.lastOutboundMicros = nowMicros;
  }

  /** null if a message of `template` may be processed now, else the error code (see errors.ts for the disposition). */
  admit(template: WireTemplate): ProtocolErrorCode | null {
    switch (this.phase) {
      case SessionPhase.AwaitingLogon: return template.id === LOGON_ID ? null : 'LOGON_REQUIRED';
      case SessionPhase.Active: return template.id === LOGON_ID ? 'LOGON_DUPLICATE' : null;
      case SessionPhase.LoggedOut: return 'SESSION_LOGGED_OUT';
    }
  }

  /** True if the Logon's heartbeat interval (0 = default) and cancel-on-disconnect code are acceptable. */
  logonParametersValid(heartbeatIntervalMs: number, cancelOnDisconnect: number): boolean {
    const o = this.options;
    const intervalValid = heartbeatIntervalMs === 0 || (heartbeatIntervalMs >= o.heartbeatIntervalMsMin && heartbeatIntervalMs <= o.heartbeatIntervalMsMax);
    const codValid = cancelOnDisconnect === CancelOnDisconnect.Default || cancelOnDisconnect === CancelOnDisconnect.On || cancelOnDisconnect === CancelOnDisconnect.Off;
    return intervalValid && codValid;
  }

  /** awaiting-logon -> active, after authentication and the registry's claim succeeded. */
  activate(key: ApiKey, record: SessionRecord, heartbeatIntervalMs: number, cancelOnDisconnect: number, nowMicros: number): ProtocolError | null {
    if (this.phase !== SessionPhase.AwaitingLogon) return protocolError('LOGON_DUPLICATE', `session is ${this.phase}`, LOGON_ID);
    if (!this.logonParametersValid(heartbeatIntervalMs, cancelOnDisconnect)) {
      return protocolError('LOGON_BAD_PARAMETERS', `heartbeatIntervalMs ${heartbeatIntervalMs}, cancelOnDisconnect ${cancelOnDisconnect}`, LOGON_ID);
    }
    this.phase = SessionPhase.Active;
    this.key = key;
    this.record = record;
    this.heartbeatIntervalMs = heartbeatIntervalMs === 0 ? this.options.heartbeatIntervalMsDefault : heartbeatIntervalMs;
    this.cancelOnDisconnect = cancelOnDisconnect !== CancelOnDisconnect.Off;
    this.lastInboundMicros = nowMicros;
    this.lastOutboundMicros = nowMicros;
    return null;
  }

  /** Client sequence rule: a sequence at or below the last processed one is a retransmission, to be ignored. */
  checkClientSequence(sequence: number): SequenceCheck {
    const sequences = this.activeRecord().sequences;
    if (sequence <= sequences.lastClientSequence) return SequenceCheck.Retransmission;
    sequences.lastClientSequence = sequence;
    return SequenceCheck.New;
  }

  /** The sequence for the next sequenced server message (consumed). */
  takeServerSequence(): number {
    return this.activeRecord().sequences.nextServerSequence++;
  }

  /** Any inbound message (call before admit). */
  onInbound(nowMicros: number): void {
    this.lastInboundMicros = nowMicros;
    this.testRequestId = 0;
  }

  /** An inbound Heartbeat (after onInbound): keeps the dead-man switch alive. */
  onHeartbeat(nowMicros: number): void {
    this.record?.deadMan.refresh(nowMicros);
  }

  /** Any outbound message. */
  onOutbound(nowMicros: number): void {
    this.lastOutboundMicros = nowMicros;
  }

  /** DeadManSwitch request: arms (timeoutMs > 0) or disarms (0). null or DEAD_MAN_TIMEOUT_OUT_OF_RANGE. */
  armDeadManSwitch(timeoutMs: number, nowMicros: number): 'DEAD_MAN_TIMEOUT_OUT_OF_RANGE' | null {
    return this.activeRecord().deadMan.arm(timeoutMs, nowMicros) ? null : 'DEAD_MAN_TIMEOUT_OUT_OF_RANGE';
  }

  /** active -> logged-out (Logout either way, or a disconnect decided by poll). */
  logout(): void {
    this.phase = SessionPhase.LoggedOut;
  }

  /** The next timer action due at `nowMicros`; call until None. Each action is reported once. */
  poll(nowMicros: number): TimerAction {
    if (this.phase === SessionPhase.AwaitingLogon) {
      if (nowMicros - this.connectedMicros < this.options.logonTimeoutMs * MICROS_PER_MS) return TimerAction.None;
      this.phase = SessionPhase.LoggedOut;
      return TimerAction.DisconnectLogonTimeout;
    }
    if (this.phase !== SessionPhase.Active) return TimerAction.None;
    const intervalMicros = this.heartbeatIntervalMs * MICROS_PER_MS;
    const graceMicros = this.options.heartbeatGraceMs * MICROS_PER_MS;
    const silenceMicros = nowMicros - this.lastInboundMicros;
    if (silenceMicros >= intervalMicros * this.options.missedHeartbeatsForDisconnect + graceMicros) {
      this.phase = SessionPhase.LoggedOut;
      return TimerAction.DisconnectMissedHeartbeats;
    }
    if (this.record!.deadMan.expire(nowMicros)) return TimerAction.DeadManSwitchFired;
    if (this.testRequestId === 0 && silenceMicros >= intervalMicros + graceMicros) {
      this.testRequestId = ++this.testRequestCounter;
      this.lastOutboundMicros = nowMicros;
      return TimerAction.SendTestRequest;
    }
    if (nowMicros - this.lastOutboundMicros >= intervalMicros) {
      this.lastOutboundMicros = nowMicros;
      return TimerAction.SendHeartbeat;
    }
    return TimerAction.None;
  }

  private activeRecord(): SessionRecord {
    if (this.record === null) throw new Error(`session: ${this.phase}, no logon yet`);
    return this.record;
  }
}
