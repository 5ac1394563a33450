/**
 * The sequenced server messages recently sent under one API key, kept as their
 * exact wire bytes in a preallocated ring of fixed-size slots: the fast path of a
 * replay. It holds the key's messages from the one numbered when it was created
 * (the key's first logon since the gateway started) on, the newest `capacity` of
 * them; older ones are served from the journal (journal-replay.ts).
 */
export const REPLAY_HISTORY_MESSAGES = 16_384;

export class ReplayHistory {
  private readonly bytes: Uint8Array;
  private readonly lengths: Uint16Array;
  private readonly sequences: Float64Array;
  /** The first sequence this history was created to hold. */
  private readonly start: number;
  /** Highest sequence stored (start - 1 = none). */
  last: number;

  constructor(
    readonly slotBytes: number,
    readonly capacity = REPLAY_HISTORY_MESSAGES,
    firstSequence = 1,
  ) {
    if (!Number.isSafeInteger(firstSequence) || firstSequence < 1) throw new RangeError(`replay history: firstSequence must be a positive integer, got ${firstSequence}`);
    this.bytes = new Uint8Array(slotBytes * capacity);
    this.lengths = new Uint16Array(capacity);
    this.sequences = new Float64Array(capacity);
    this.start = firstSequence;
    this.last = firstSequence - 1;
  }

  /** Oldest sequence still held (last + 1 when empty). */
  get first(): number {
    return Math.max(this.start, this.last - this.capacity + 1);
  }

  /** Stores the key's next message: sequences arrive without gaps. */
  store(sequence: number, message: Uint8Array): void {
    if (sequence !== this.last + 1) throw new RangeError(`replay history: sequence ${sequence} after ${this.last}`);
    if (message.length > this.slotBytes) throw new RangeError(`replay history: message of ${message.length} bytes > slot ${this.slotBytes}`);
    const slot = sequence % this.capacity;
    this.bytes.set(message, slot * this.slotBytes);
    this.lengths[slot] = message.length;
    this.sequences[slot] = sequence;
    this.last = sequence;
  }

  /** The stored bytes of `sequence`, or null if no longer (or never) held. */
  get(sequence: number): Uint8Array | null {
    const slot = sequence % this.capacity;
    if (sequence < this.first || sequence > this.last || this.sequences[slot] !== sequence) return null;
    const start = slot * this.slotBytes;
    return this.bytes.subarray(start, start + this.lengths[slot]);
  }
}
