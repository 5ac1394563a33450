/**
 * Outbound ring: one producer (the matcher), several consumers (journal, each
 * gateway, snapshot writer), every consumer sees every record, in order.
 *
 * Shared buffer, Int32Array `cells` over the header, Float64Array `words` over slots:
 *   line 0  magic, layout version, capacity, recordWords, consumerCount (read-only)
 *   line 1  CURSOR: end of the published records (exclusive)       (producer)
 *   line 2  CONSUMER_WAITERS: consumers blocked on CURSOR          (wait protocol)
 *   line 3  PRODUCER_WAITERS: producer blocked on a consumer       (wait protocol)
 *   line 4+i  consumer i's position: records before it are released (consumer i)
 *   slots: capacity x recordWords float64, cache-line aligned
 *
 * Events are fixed-size records, one per slot; a batch is many records. The producer
 * claims n slots (gated on the slowest consumer: end + n - slowest <= capacity),
 * writes them with plain stores and publishes the batch with ONE Atomics.store of
 * CURSOR, which orders all those writes before any consumer's read of CURSOR. A
 * consumer reads the contiguous range [position, cursor) and releases it with one
 * Atomics.store of its position, which orders its reads before the producer reuses
 * the slots. All positions are int32 and compared by distance (see sequence.ts).
 */

import {
  CACHE_LINE_BYTES, CACHE_LINE_INT32, RingError, alignUp, assertCapacity, assertCount, assertInitialSequence,
  assertRecordWords, assertTimeout, checkHeader, ringBytes,
} from './sequence';
import { AsyncBlockingWait, AsyncWaitStrategy, WaitStrategy, defaultWaitStrategy } from './wait-strategy';

const SPMC_MAGIC = 0x53504d43; // "SPMC"
const SPMC_LAYOUT_VERSION = 1;
const CONSUMER_COUNT_INDEX = 4;
const CURSOR_INDEX = CACHE_LINE_INT32;
const CONSUMER_WAITERS_INDEX = 2 * CACHE_LINE_INT32;
const PRODUCER_WAITERS_INDEX = 3 * CACHE_LINE_INT32;
const CONSUMERS_INDEX = 4 * CACHE_LINE_INT32;

/** Most consumers one outbound ring serves; the producer scans them all when gated. */
export const CONSUMER_COUNT_MAX = 64;

export interface SpmcRingOptions {
  waitStrategy?: WaitStrategy;
  asyncWaitStrategy?: AsyncWaitStrategy;
}

export interface SpmcCreateOptions extends SpmcRingOptions {
  /** First sequence (default 0); tests start near 2^32 to cross the wrap. */
  initialSequence?: number;
}

/** Views and geometry shared by the producer and consumer handles. */
class SpmcLayout {
  readonly capacity: number;
  readonly recordWords: number;
  readonly consumerCount: number;
  readonly cells: Int32Array;
  readonly words: Float64Array;
  readonly mask: number;
  constructor(readonly buffer: SharedArrayBuffer) {
    if (!(buffer instanceof SharedArrayBuffer)) {
      throw new RingError('ERR_RING_BUFFER', 'SPMC ring needs a SharedArrayBuffer from SpmcRing.create(...).buffer');
    }
    const header = new Int32Array(buffer, 0, Math.min(CACHE_LINE_INT32, buffer.byteLength >> 2));
    checkHeader(header, SPMC_MAGIC, 'SPMC', SPMC_LAYOUT_VERSION);
    this.capacity = header[2];
    this.recordWords = header[3];
    this.consumerCount = header[CONSUMER_COUNT_INDEX];
    assertConsumerCount(this.consumerCount);
    const headerBytes = headerInts(this.consumerCount) * 4;
    if (buffer.byteLength !== ringBytes(headerBytes, this.capacity, this.recordWords)) {
      throw new RingError('ERR_RING_BUFFER', `SPMC buffer is ${buffer.byteLength} bytes, its header describes another size`);
    }
    this.cells = new Int32Array(buffer, 0, headerInts(this.consumerCount));
    this.words = new Float64Array(buffer, alignUp(headerBytes, CACHE_LINE_BYTES), this.capacity * this.recordWords);
    this.mask = this.capacity - 1;
  }
}

function headerInts(consumerCount: number): number {
  return CONSUMERS_INDEX + consumerCount * CACHE_LINE_INT32;
}

function assertConsumerCount(consumerCount: number): void {
  if (!Number.isInteger(consumerCount) || consumerCount < 1 || consumerCount > CONSUMER_COUNT_MAX) {
    throw new RingError('ERR_RING_ARGUMENT', `consumerCount must be an integer in 1..${CONSUMER_COUNT_MAX}, got ${consumerCount}`);
  }
}

/**
 * The producer handle. Exactly one handle publishes (the matcher attaches its own);
 * the creator's handle may still read occupancy() for metrics.
 */
export class SpmcRing {
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  readonly recordWords: number;
  readonly consumerCount: number;
  /** The slots; write a claimed record at claimedOffset(i). */
  readonly words: Float64Array;
  private readonly layout: SpmcLayout;
  private readonly cells: Int32Array;
  private readonly wait: WaitStrategy;
  // All int32 ring positions (they wrap; compared by distance, see sequence.ts), so
  // every field stays a small integer and nothing on the publish path is boxed.
  private cursor: number; // end of published records
  private claimCount = 0; // slots claimed after the cursor, not yet published
  private gate: number; // slowest consumer's position when last read (positions only grow)
  private slowest = 0; // index of that consumer, the one to wait on

  static create(capacity: number, recordWords: number, consumerCount: number, options: SpmcCreateOptions = {}): SpmcRing {
    assertCapacity(capacity);
    assertRecordWords(recordWords);
    assertConsumerCount(consumerCount);
    const initialSequence = options.initialSequence ?? 0;
    assertInitialSequence(initialSequence);
    const buffer = new SharedArrayBuffer(ringBytes(headerInts(consumerCount) * 4, capacity, recordWords));
    const cells = new Int32Array(buffer, 0, headerInts(consumerCount));
    cells[0] = SPMC_MAGIC;
    cells[1] = SPMC_LAYOUT_VERSION;
    cells[2] = capacity;
    cells[3] = recordWords;
    cells[CONSUMER_COUNT_INDEX] = consumerCount;
    cells[CURSOR_INDEX] = initialSequence | 0;
    for (let i = 0; i < consumerCount; i++) cells[CONSUMERS_INDEX + i * CACHE_LINE_INT32] = initialSequence | 0;
    return new SpmcRing(buffer, options);
  }

  /** Opens the producer side of a ring made by create() (e.g. in the matcher worker). */
  static attach(buffer: SharedArrayBuffer, options: SpmcRingOptions = {}): SpmcRing {
    return new SpmcRing(buffer, options);
  }

  private constructor(buffer: SharedArrayBuffer, options: SpmcRingOptions) {
    this.layout = new SpmcLayout(buffer);
    this.buffer = buffer;
    this.capacity = this.layout.capacity;
    this.recordWords = this.layout.recordWords;
    this.consumerCount = this.layout.consumerCount;
    this.words = this.layout.words;
    this.cells = this.layout.cells;
    this.wait = options.waitStrategy ?? defaultWaitStrategy();
    this.cursor = Atomics.load(this.cells, CURSOR_INDEX);
    this.gate = this.cursor;
    this.refreshGate();
  }

  /** Claims `count` slots after the cursor, waiting up to timeoutMs for the slowest consumer. */
  tryClaim(count: number, timeoutMs: number): boolean {
    assertCount('claim count', count, this.capacity);
    assertTimeout(timeoutMs);
    if (this.claimCount !== 0) {
      throw new RingError('ERR_RING_STATE', `tryClaim: the previous claim of ${this.claimCount} slot(s) is not published yet`);
    }
    // Fits when every consumer is at most capacity - count behind the cursor.
    if (((this.cursor + count - this.gate) | 0) > this.capacity) this.refreshGate();
    let deadlineMs = -1;
    while (((this.cursor + count - this.gate) | 0) > this.capacity) {
      if (timeoutMs === 0) return false;
      const nowMs = performance.now();  // clock-ok: a wait deadline, never matcher state
      if (deadlineMs < 0) deadlineMs = nowMs + timeoutMs;
      if (nowMs >= deadlineMs) return false;
      const index = CONSUMERS_INDEX + this.slowest * CACHE_LINE_INT32;
      this.wait.waitWhileEqual(this.cells, index, this.gate, PRODUCER_WAITERS_INDEX, deadlineMs - nowMs);
      this.refreshGate();
    }
    this.claimCount = count;
    return true;
  }

  /** Word offset of the index-th slot of the current claim. */
  claimedOffset(index: number): number {
    return ((this.cursor + index) & this.layout.mask) * this.recordWords;
  }

  /** Publishes the whole claim with one store of the cursor. */
  publish(): void {
    if (this.claimCount === 0) throw new RingError('ERR_RING_STATE', 'publish: nothing claimed');
    this.cursor = (this.cursor + this.claimCount) | 0;
    this.claimCount = 0;
    Atomics.store(this.cells, CURSOR_INDEX, this.cursor);
    if (Atomics.load(this.cells, CONSUMER_WAITERS_INDEX) !== 0) Atomics.notify(this.cells, CURSOR_INDEX);
  }

  /**
   * Records published and not yet released by the slowest consumer (0..capacity).
   * Reads only shared cells, so any handle (e.g. the creator's, for metrics) is exact.
   */
  occupancy(): number {
    const cursor = Atomics.load(this.cells, CURSOR_INDEX);
    let lagMax = 0;
    for (let i = 0; i < this.consumerCount; i++) {
      const lag = (cursor - Atomics.load(this.cells, CONSUMERS_INDEX + i * CACHE_LINE_INT32)) | 0;
      if (lag > lagMax) lagMax = lag;
    }
    return lagMax;
  }

  /** Reads every consumer's position; the one furthest behind the cursor is the gate. */
  private refreshGate(): void {
    let lagMax = -1;
    for (let i = 0; i < this.consumerCount; i++) {
      const position = Atomics.load(this.cells, CONSUMERS_INDEX + i * CACHE_LINE_INT32);
      const lag = (this.cursor - position) | 0;
      if (lag > lagMax) {
        lagMax = lag;
        this.slowest = i;
        this.gate = position;
      }
    }
  }
}

/**
 * One consumer's handle; exactly one thread uses each consumer index.
 *
 * Sequences seen by a consumer are JS numbers counting from the ring's initial
 * sequence (exact to 2^53); the shared cell holds `position | 0`. The exchange's
 * global event sequence travels inside the record.
 */
export class SpmcConsumer {
  readonly consumerIndex: number;
  readonly capacity: number;
  readonly recordWords: number;
  /** The slots; read sequence s at offsetOf(s). */
  readonly words: Float64Array;
  private readonly cells: Int32Array;
  private readonly mask: number;
  private readonly positionIndex: number;
  private readonly wait: WaitStrategy;
  private readonly asyncWait: AsyncWaitStrategy;
  private position: number; // first sequence not yet released

  static attach(buffer: SharedArrayBuffer, consumerIndex: number, options: SpmcRingOptions = {}): SpmcConsumer {
    return new SpmcConsumer(new SpmcLayout(buffer), consumerIndex, options);
  }

  private constructor(layout: SpmcLayout, consumerIndex: number, options: SpmcRingOptions) {
    if (!Number.isInteger(consumerIndex) || consumerIndex < 0 || consumerIndex >= layout.consumerCount) {
      throw new RingError('ERR_RING_ARGUMENT', `consumerIndex must be an integer in 0..${layout.consumerCount - 1}, got ${consumerIndex}`);
    }
    this.consumerIndex = consumerIndex;
    this.capacity = layout.capacity;
    this.recordWords = layout.recordWords;
    this.words = layout.words;
    this.cells = layout.cells;
    this.mask = layout.mask;
    this.positionIndex = CONSUMERS_INDEX + consumerIndex * CACHE_LINE_INT32;
    this.wait = options.waitStrategy ?? defaultWaitStrategy();
    this.asyncWait = options.asyncWaitStrategy ?? new AsyncBlockingWait();
    this.position = Atomics.load(this.cells, this.positionIndex) >>> 0;
  }

  /** First sequence not yet released: the next record this consumer reads. */
  get nextSequence(): number {
    return this.position;
  }

  /** End (exclusive) of the published records: [nextSequence, available()) are readable. */
  available(): number {
    return this.position + this.readable();
  }

  /** Waits up to timeoutMs until `sequence` is published; returns available() (> sequence on success). */
  waitFor(sequence: number, timeoutMs: number): number {
    const needed = this.assertWaitable(sequence, timeoutMs);
    let cursor = Atomics.load(this.cells, CURSOR_INDEX);
    if (((cursor - this.position) | 0) < needed) {
      const deadlineMs = performance.now() + timeoutMs;  // clock-ok: a wait deadline, never matcher state
      for (;;) {
        const remainingMs = deadlineMs - performance.now();  // clock-ok: a wait deadline, never matcher state
        if (remainingMs <= 0) break;
        this.wait.waitWhileEqual(this.cells, CURSOR_INDEX, cursor, CONSUMER_WAITERS_INDEX, remainingMs);
        cursor = Atomics.load(this.cells, CURSOR_INDEX);
        if (((cursor - this.position) | 0) >= needed) break;
      }
    }
    return this.position + ((cursor - this.position) | 0);
  }

  /** waitFor for an event-loop consumer (a gateway worker). */
  async waitForAsync(sequence: number, timeoutMs: number): Promise<number> {
    const needed = this.assertWaitable(sequence, timeoutMs);
    const deadlineMs = performance.now() + timeoutMs;  // clock-ok: a wait deadline, never matcher state
    let cursor = Atomics.load(this.cells, CURSOR_INDEX);
    while (((cursor - this.position) | 0) < needed) {
      const remainingMs = deadlineMs - performance.now();  // clock-ok: a wait deadline, never matcher state
      if (remainingMs <= 0) break;
      await this.asyncWait.waitWhileEqual(this.cells, CURSOR_INDEX, cursor, CONSUMER_WAITERS_INDEX, remainingMs);
      cursor = Atomics.load(this.cells, CURSOR_INDEX);
    }
    return this.position + ((cursor - this.position) | 0);
  }

  /** Word offset of sequence's slot; valid for nextSequence <= sequence < available(). */
  offsetOf(sequence: number): number {
    return (sequence & this.mask) * this.recordWords;
  }

  /** Releases every record before `upTo` to the producer (one store, one optional notify). */
  release(upTo: number): void {
    const count = upTo - this.position;
    if (!Number.isInteger(count) || count < 0 || count > this.readable()) {
      throw new RingError('ERR_RING_ARGUMENT', `release(${upTo}): expected an integer in ${this.position}..available() (${this.available()})`);
    }
    this.position = upTo;
    Atomics.store(this.cells, this.positionIndex, upTo | 0);
    if (Atomics.load(this.cells, PRODUCER_WAITERS_INDEX) !== 0) Atomics.notify(this.cells, this.positionIndex);
  }

  /** Records readable now: 0..capacity (the int32 distance cursor - position). */
  private readable(): number {
    return (Atomics.load(this.cells, CURSOR_INDEX) - this.position) | 0;
  }

  /** Checks a waitFor argument; returns how many records must be readable. */
  private assertWaitable(sequence: number, timeoutMs: number): number {
    assertTimeout(timeoutMs);
    const needed = sequence - this.position + 1;
    if (!Number.isInteger(sequence) || needed < 1 || needed > this.capacity) {
      throw new RingError('ERR_RING_ARGUMENT', `waitFor(${sequence}): expected an integer in ${this.position}..${this.position + this.capacity - 1} (nextSequence + capacity - 1)`);
    }
    return needed;
  }
}
