/**
 * The sequenced server messages recently sent under one API key, kept as their
 * exact wire bytes in a preallocated ring of fixed-size slots, so a client that
 * reconnects can ask for everything after the last sequence it saw and receive
 * the very same messages. Older messages than the ring holds are REPLAY_UNAVAILABLE.
 */
export const REPLAY_HISTORY_MESSAGES = 16_384;

export class ReplayHistory {
  private readonly bytes: Uint8Array;
  private readonly lengths: Uint16Array;
  private readonly sequences: Float64Array;
  /** Highest sequence stored (0 = none). */
  last = 0;

  constructor(
    readonly slotBytes: number,
    readonly capacity = REPLAY_HISTORY_MESSAGES,
  ) {
    this.bytes = new Uint8Array(slotBytes * capacity);
    this.lengths = new Uint16Array(capacity);
    this.sequences = new Float64Array(capacity);
  }

  /** Oldest sequence still held (last + 1 when empty). */
  get first(): number {
    return Math.max(1, this.last - this.capacity + 1);
  }

  store(sequence: number, message: Uint8Array): void {
    if (message.length > this.slotBytes) throw new RangeError(`replay history: message of ${message.length} bytes > slot ${this.slotBytes}`);
    const slot = sequence % this.capacity;
    this.bytes.set(message, slot * this.slotBytes);
    this.lengths[slot] = message.length;
    this.sequences[slot] = sequence;
    if (sequence > this.last) this.last = sequence;
  }

  /** The stored bytes of `sequence`, or null if no longer (or never) held. */
  get(sequence: number): Uint8Array | null {
    const slot = sequence % this.capacity;
    if (sequence < 1 || sequence > this.last || this.sequences[slot] !== sequence) return null;
    const start = slot * this.slotBytes;
    return this.bytes.subarray(start, start + this.lengths[slot]);
  }
}
