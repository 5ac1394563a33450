/**
 * The dead-man switch of one API key: armed with a timeout, kept alive by the
 * client's Heartbeats (and by re-arming). When the deadline passes with neither, it
 * fires once — the caller must mass-cancel the key's account — and disarms itself;
 * the client re-arms after reconnecting or recovering. Pure logic: time is passed in.
 */
export interface DeadManSwitchLimits {
  readonly deadManTimeoutMsMin: number;
  readonly deadManTimeoutMsMax: number;
}

export const DEFAULT_DEAD_MAN_LIMITS: DeadManSwitchLimits = Object.freeze({
  deadManTimeoutMsMin: 100,
  deadManTimeoutMsMax: 600_000,
});

export class DeadManSwitch {
  /** 0 when disarmed. */
  timeoutMs = 0;
  deadlineMicros = 0;

  constructor(readonly limits: DeadManSwitchLimits = DEFAULT_DEAD_MAN_LIMITS) {}

  get armed(): boolean {
    return this.timeoutMs !== 0;
  }

  /** Arms (or re-arms, moving the deadline) with timeoutMs; 0 disarms. false if timeoutMs is out of range. */
  arm(timeoutMs: number, nowMicros: number): boolean {
    if (timeoutMs === 0) {
      this.disarm();
      return true;
    }
    if (!Number.isInteger(timeoutMs) || timeoutMs < this.limits.deadManTimeoutMsMin || timeoutMs > this.limits.deadManTimeoutMsMax) return false;
    this.timeoutMs = timeoutMs;
    this.deadlineMicros = nowMicros + timeoutMs * 1000;
    return true;
  }

  disarm(): void {
    this.timeoutMs = 0;
    this.deadlineMicros = 0;
  }

  /** A client Heartbeat: moves the deadline if armed. */
  refresh(nowMicros: number): void {
    if (this.timeoutMs !== 0) this.deadlineMicros = nowMicros + this.timeoutMs * 1000;
  }

  /** True exactly once when the deadline has passed; the switch is then disarmed. */
  expire(nowMicros: number): boolean {
    if (this.timeoutMs === 0 || nowMicros < this.deadlineMicros) return false;
    this.disarm();
    return true;
  }
}
