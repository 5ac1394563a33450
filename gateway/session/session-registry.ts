/**
 * One live session per API key, and the per-key state that outlives a connection
 * (sequence numbers, dead-man switch). The sequence counters come from `sequencesOf`:
 * the order-entry gateway passes its journal-derived key streams, so the counters a
 * session sees are the ones the gateway numbers messages with (one counter, no copy).
 *
 * A second Logon for a key whose session is live is REFUSED (LOGON_SESSION_ACTIVE,
 * close 4002); the live session is untouched. Refusing rather than superseding means a
 * leaked or duplicated key cannot silently hijack a trading session and trigger its
 * cancel-on-disconnect: the owner must log out (or be dropped by missed heartbeats)
 * first. Records are bounded by the key registry (one per key that has logged on).
 *
 * On release (disconnect or logout): with cancel-on-disconnect on, the caller
 * mass-cancels the account and the dead-man switch is disarmed (nothing left for it
 * to protect); with it off, an armed dead-man switch keeps running while the key is
 * disconnected and `pollDisconnected` reports it when it fires.
 */
import { protocolError, ProtocolError } from '../protocol/errors';
import { SessionTemplates } from '../protocol/session-schema';
import { DeadManSwitch, DeadManSwitchLimits, DEFAULT_DEAD_MAN_LIMITS } from './dead-man-switch';
import { ApiKey } from './key-registry';
import { KeySequences, Session, SessionRecord } from './session-state';

/** Fresh counters: the first server message is 1, no client sequence processed yet. */
export const freshSequences = (): KeySequences => ({ nextServerSequence: 1, lastClientSequence: 0 });

export interface ReleaseResult {
  /** Mass-cancel this account now (cancel-on-disconnect); 0 for none. */
  readonly cancelAccount: number;
}

export class SessionRegistry {
  private readonly records = new Map<number, SessionRecord>();

  constructor(
    readonly deadManLimits: DeadManSwitchLimits = DEFAULT_DEAD_MAN_LIMITS,
    private readonly sequencesOf: (key: ApiKey) => KeySequences = freshSequences,
  ) {}

  /** Binds `session` to the key's record, or refuses a second live session. */
  claim(key: ApiKey, session: Session): SessionRecord | ProtocolError {
    let record = this.records.get(key.keyId);
    if (record === undefined) {
      record = { keyId: key.keyId, account: key.account, sequences: this.sequencesOf(key), live: null, deadMan: new DeadManSwitch(this.deadManLimits) };
      this.records.set(key.keyId, record);
    }
    if (record.live !== null && record.live !== session) {
      return protocolError('LOGON_SESSION_ACTIVE', `key ${key.keyId} already has a live session`, SessionTemplates.Logon.id);
    }
    record.live = session;
    return record;
  }

  /** The session's connection ended (or it logged out). Says whether to mass-cancel. */
  release(session: Session): ReleaseResult {
    session.logout();
    const record = session.record;
    if (record === null || record.live !== session) return { cancelAccount: 0 };
    record.live = null;
    if (!session.cancelOnDisconnect) return { cancelAccount: 0 };
    record.deadMan.disarm();
    return { cancelAccount: record.account };
  }

  record(keyId: number): SessionRecord | undefined {
    return this.records.get(keyId);
  }

  liveSession(keyId: number): Session | null {
    return this.records.get(keyId)?.live ?? null;
  }

  /**
   * Dead-man switches of disconnected keys that fired by `nowMicros`: returns one
   * account to mass-cancel, or 0 when none is due. Call until 0. (Live sessions
   * report their own through Session.poll.)
   */
  pollDisconnected(nowMicros: number): number {
    for (const record of this.records.values()) {
      if (record.live === null && record.deadMan.expire(nowMicros)) return record.account;
    }
    return 0;
  }

  get size(): number {
    return this.records.size;
  }
}
