/**
 * When to cut a snapshot: every `everyEvents` events, every `everyMillis` of the caller's
 * clock, on demand, and at shutdown. Pure logic: the caller (the pipeline's matcher loop,
 * between commands) passes the current sequence and time; nothing here reads a clock,
 * so the matcher stays free of wall-clock reads and the policy is testable by numbers.
 *
 *   const policy = new SnapshotPolicy({ startSequence: recovered.sequence, startMillis: now });
 *   // between commands:
 *   const reason = policy.due(matcher.out.sequence, now);
 *   if (reason !== null) { cut and requestSnapshot(...); policy.cutTaken(matcher.out.sequence, now); }
 *
 * A cut is never due when no event happened since the last one (an idle exchange does
 * not write identical snapshots every minute), except on demand.
 */
import { SnapshotError } from './snapshot-error';

/** A snapshot every million events bounds the replay tail to about 0.5 s at the measured replay rate. */
export const DEFAULT_SNAPSHOT_EVERY_EVENTS = 1_000_000;
/** ... and at least once a minute on a quiet day. */
export const DEFAULT_SNAPSHOT_EVERY_MILLIS = 60_000;

export type SnapshotReason = 'events' | 'time' | 'demand' | 'shutdown';

export interface SnapshotPolicyOptions {
  /** Events between cuts; 0 turns the event cadence off. */
  everyEvents?: number;
  /** Milliseconds between cuts; 0 turns the time cadence off. */
  everyMillis?: number;
  /** The sequence the engine starts at (the recovered one): counts as the last cut. */
  startSequence?: number;
  /** The caller's clock at start (default: the time of the first due() call). */
  startMillis?: number;
}

export class SnapshotPolicy {
  readonly everyEvents: number;
  readonly everyMillis: number;
  private lastSequence: number;
  /** Undefined until the first due() when no startMillis was given: the clock starts then. */
  private lastMillis: number | undefined;
  private demanded = false;

  constructor(options: SnapshotPolicyOptions = {}) {
    this.everyEvents = nonNegative(options.everyEvents ?? DEFAULT_SNAPSHOT_EVERY_EVENTS, 'everyEvents');
    this.everyMillis = nonNegative(options.everyMillis ?? DEFAULT_SNAPSHOT_EVERY_MILLIS, 'everyMillis');
    this.lastSequence = nonNegative(options.startSequence ?? 0, 'startSequence');
    this.lastMillis = options.startMillis;
  }

  /** Asks for a cut at the next due() check, whatever the cadence says. */
  requestNow(): void {
    this.demanded = true;
  }

  /** Why a cut is due now, or null. Cheap: two subtractions (call it between commands). */
  due(sequence: number, nowMillis: number): SnapshotReason | null {
    if (this.demanded) return 'demand';
    this.lastMillis ??= nowMillis;
    if (sequence <= this.lastSequence) return null;
    if (this.everyEvents > 0 && sequence - this.lastSequence >= this.everyEvents) return 'events';
    if (this.everyMillis > 0 && nowMillis - this.lastMillis >= this.everyMillis) return 'time';
    return null;
  }

  /** Whether shutdown should cut a final snapshot (anything happened since the last one). */
  dueAtShutdown(sequence: number): SnapshotReason | null {
    return this.demanded || sequence > this.lastSequence ? 'shutdown' : null;
  }

  /** Records that a cut was taken at `sequence` (call when cutting, not when stored). */
  cutTaken(sequence: number, nowMillis: number): void {
    this.lastSequence = sequence;
    this.lastMillis = nowMillis;
    this.demanded = false;
  }

  /** The sequence of the last cut (or the start). */
  get lastCutSequence(): number {
    return this.lastSequence;
  }
}

function nonNegative(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new SnapshotError('SNAPSHOT_BAD_OPTION', `${name} must be a non-negative integer, got ${value}`);
  return value;
}
