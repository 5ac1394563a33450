/**
 * Inbound ring: many producers (gateway workers), one consumer (the matcher).
 *
 * Shared buffer, one Int32Array view `cells` over the header and markers and one
 * Float64Array view `words` over the slots:
 *   line 0  magic, layout version, capacity, recordWords          (read-only)
 *   line 1  CLAIM: next sequence to hand out                       (producers, CAS)
 *   line 2  CONSUMER: next sequence the consumer will read         (consumer)
 *   line 3  CONSUMER_WAITERS: consumer blocked on a marker         (wait protocol)
 *   line 4  PRODUCER_WAITERS: producers blocked on space           (wait protocol)
 *   MARKERS[capacity]: sequence last published into each slot (its lap, see sequence.ts)
 *   slots: capacity x recordWords float64, cache-line aligned
 *
 * Producer: check space and claim with one compare-and-swap on CLAIM (a plain
 * Atomics.add would commit the claim before knowing the slot is free, and a claim
 * that then times out would leave a hole the consumer waits on forever), write the
 * record with plain stores, publish by Atomics.store of the sequence into the slot's
 * marker. Consumer: a slot is readable when its marker equals the expected sequence;
 * the sequentially consistent store/load pair orders the record's plain writes
 * before the consumer's plain reads. The consumer stores CONSUMER after reading a
 * batch, which orders its reads before any producer's reuse of those slots.
 *
 * Roles: any number of threads may call the producer methods (each on its own
 * attached MpscRing); exactly one thread may call the consumer methods.
 */

import {
  CACHE_LINE_INT32, RingError, alignUp, assertCapacity, assertCount, assertInitialSequence, assertRecordWords,
  assertTimeout, checkHeader, ringBytes, CACHE_LINE_BYTES,
} from './sequence';
import { AsyncBlockingWait, AsyncWaitStrategy, WaitStrategy, defaultWaitStrategy } from './wait-strategy';

const MPSC_MAGIC = 0x4d505343; // "MPSC"
const MPSC_LAYOUT_VERSION = 1;
const CLAIM_INDEX = CACHE_LINE_INT32;
const CONSUMER_INDEX = 2 * CACHE_LINE_INT32;
const CONSUMER_WAITERS_INDEX = 3 * CACHE_LINE_INT32;
const PRODUCER_WAITERS_INDEX = 4 * CACHE_LINE_INT32;
const MARKERS_INDEX = 5 * CACHE_LINE_INT32;

/** tryClaim's answer when the ring stayed full for the whole timeout (gateway: SYSTEM_BUSY). */
export const RING_FULL = -1;

/** Called once per record; `offset` is the record's first word in `words`. */
export type RecordHandler = (words: Float64Array, offset: number) => void;

export interface MpscRingOptions {
  waitStrategy?: WaitStrategy;
  asyncWaitStrategy?: AsyncWaitStrategy;
}

export interface MpscCreateOptions extends MpscRingOptions {
  /** First sequence (default 0); tests start near 2^32 to cross the wrap. */
  initialSequence?: number;
}

export class MpscRing {
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  readonly recordWords: number;
  /** The slots; a record starts at the offset tryClaim/claimedOffset/poll give. */
  readonly words: Float64Array;
  private readonly cells: Int32Array;
  private readonly mask: number;
  private readonly wait: WaitStrategy;
  private readonly asyncWait: AsyncWaitStrategy;
  private claimFirst = 0; // producer: first sequence of the unpublished claim
  private claimCount = 0; // producer: slots claimed, not yet published
  private consumerNext: number; // consumer: next sequence to read (int32, wraps)

  static create(capacity: number, recordWords: number, options: MpscCreateOptions = {}): MpscRing {
    assertCapacity(capacity);
    assertRecordWords(recordWords);
    const initialSequence = options.initialSequence ?? 0;
    assertInitialSequence(initialSequence);
    const buffer = new SharedArrayBuffer(ringBytes((MARKERS_INDEX + capacity) * 4, capacity, recordWords));
    const cells = new Int32Array(buffer, 0, MARKERS_INDEX + capacity);
    cells[0] = MPSC_MAGIC;
    cells[1] = MPSC_LAYOUT_VERSION;
    cells[2] = capacity;
    cells[3] = recordWords;
    cells[CLAIM_INDEX] = initialSequence | 0;
    cells[CONSUMER_INDEX] = initialSequence | 0;
    for (let i = 0; i < capacity; i++) {
      // "Previous lap": the first sequence that lands in each slot is not yet published.
      const sequence = (initialSequence + i) | 0;
      cells[MARKERS_INDEX + (sequence & (capacity - 1))] = (sequence - capacity) | 0;
    }
    return new MpscRing(buffer, options);
  }

  /** Opens a ring made by create(), e.g. inside a worker that got `buffer` via workerData. */
  static attach(buffer: SharedArrayBuffer, options: MpscRingOptions = {}): MpscRing {
    return new MpscRing(buffer, options);
  }

  private constructor(buffer: SharedArrayBuffer, options: MpscRingOptions) {
    if (!(buffer instanceof SharedArrayBuffer)) {
      throw new RingError('ERR_RING_BUFFER', 'MpscRing needs a SharedArrayBuffer from MpscRing.create(...).buffer');
    }
    const header = new Int32Array(buffer, 0, Math.min(CACHE_LINE_INT32, buffer.byteLength >> 2));
    checkHeader(header, MPSC_MAGIC, 'MPSC', MPSC_LAYOUT_VERSION);
    this.capacity = header[2];
    this.recordWords = header[3];
    const markersBytes = (MARKERS_INDEX + this.capacity) * 4;
    if (buffer.byteLength !== ringBytes(markersBytes, this.capacity, this.recordWords)) {
      throw new RingError('ERR_RING_BUFFER', `MPSC buffer is ${buffer.byteLength} bytes, its header describes another size`);
    }
    this.buffer = buffer;
    this.cells = new Int32Array(buffer, 0, MARKERS_INDEX + this.capacity);
    this.words = new Float64Array(buffer, alignUp(markersBytes, CACHE_LINE_BYTES), this.capacity * this.recordWords);
    this.mask = this.capacity - 1;
    this.wait = options.waitStrategy ?? defaultWaitStrategy();
    this.asyncWait = options.asyncWaitStrategy ?? new AsyncBlockingWait();
    this.consumerNext = Atomics.load(this.cells, CONSUMER_INDEX);
  }

  // ---- producer side -------------------------------------------------------------

  /** Claims one slot. Returns its word offset, or RING_FULL if no slot freed up in timeoutMs. */
  tryClaim(timeoutMs: number): number {
    if (!this.tryClaimBatch(1, timeoutMs)) return RING_FULL;
    return (this.claimFirst & this.mask) * this.recordWords;
  }

  /** Claims `count` consecutive slots, waiting up to timeoutMs for space. False = full. */
  tryClaimBatch(count: number, timeoutMs: number): boolean {
    assertCount('claim count', count, this.capacity);
    assertTimeout(timeoutMs);
    if (this.claimCount !== 0) {
      throw new RingError('ERR_RING_STATE', `tryClaim: the previous claim of ${this.claimCount} slot(s) is not published yet`);
    }
    const cells = this.cells;
    let deadlineMs = -1;
    for (;;) {
      const consumed = Atomics.load(cells, CONSUMER_INDEX); // before CLAIM: see sequence.ts rule 4
      const claimed = Atomics.load(cells, CLAIM_INDEX);
      const usedAfter = (claimed + count - consumed) | 0;
      if (usedAfter <= this.capacity && usedAfter >= count) {
        if (Atomics.compareExchange(cells, CLAIM_INDEX, claimed, (claimed + count) | 0) === claimed) {
          this.claimFirst = claimed;
          this.claimCount = count;
          return true;
        }
        continue; // another producer claimed first: re-read, no waiting
      }
      if (timeoutMs === 0) return false;
      const nowMs = performance.now();  // clock-ok: a wait deadline, never matcher state
      if (deadlineMs < 0) deadlineMs = nowMs + timeoutMs;
      if (nowMs >= deadlineMs) return false;
      this.wait.waitWhileEqual(cells, CONSUMER_INDEX, consumed, PRODUCER_WAITERS_INDEX, deadlineMs - nowMs);
    }
  }

  /** Word offset of the index-th slot of the current claim (0 <= index < claim count). */
  claimedOffset(index: number): number {
    return ((this.claimFirst + index) & this.mask) * this.recordWords;
  }

  /** Makes every slot of the current claim visible to the consumer, and wakes it if it sleeps. */
  publish(): void {
    this.publishQuietly();
    this.wakeConsumer();
  }

  /**
   * publish() without the wake-up, for an event-loop producer that publishes several claims
   * in one turn (one per WebSocket frame) and then wakes the consumer once (wakeConsumer):
   * each wake-up is a futex syscall, ~9% of a gateway thread at 50K orders/s. A consumer that
   * is not woken still sees the records at its next poll or block slice (BLOCK_SLICE_MS_DEFAULT).
   */
  publishQuietly(): void {
    const count = this.claimCount;
    if (count === 0) throw new RingError('ERR_RING_STATE', 'publish: nothing claimed');
    const cells = this.cells;
    const mask = this.mask;
    const first = this.claimFirst;
    // Last to first: the consumer sees the batch's first slot only once the whole batch
    // is visible, so a consumer blocked inside this batch is blocked on `first`.
    for (let i = count - 1; i >= 0; i--) {
      const sequence = (first + i) | 0;
      Atomics.store(cells, MARKERS_INDEX + (sequence & mask), sequence);
    }
    this.claimCount = 0;
  }

  /** Wakes a consumer blocked on its next record (it waits on that record's marker cell). */
  wakeConsumer(): void {
    const cells = this.cells;
    if (Atomics.load(cells, CONSUMER_WAITERS_INDEX) !== 0) Atomics.notify(cells, MARKERS_INDEX + (Atomics.load(cells, CONSUMER_INDEX) & this.mask));
  }

  /** For event-loop producers: resolves true once `count` slots look free (then tryClaimBatch(count, 0)). */
  async waitForSpaceAsync(count: number, timeoutMs: number): Promise<boolean> {
    assertCount('space count', count, this.capacity);
    assertTimeout(timeoutMs);
    const deadlineMs = performance.now() + timeoutMs;  // clock-ok: a wait deadline, never matcher state
    for (;;) {
      const consumed = Atomics.load(this.cells, CONSUMER_INDEX);
      const usedAfter = (Atomics.load(this.cells, CLAIM_INDEX) + count - consumed) | 0;
      if (usedAfter <= this.capacity && usedAfter >= count) return true;
      const remainingMs = deadlineMs - performance.now();  // clock-ok: a wait deadline, never matcher state
      if (remainingMs <= 0) return false;
      await this.asyncWait.waitWhileEqual(this.cells, CONSUMER_INDEX, consumed, PRODUCER_WAITERS_INDEX, remainingMs);
    }
  }

  // ---- consumer side (one thread) -----------------------------------------------

  /**
   * Hands every published record, in sequence order, to `handler`, at most maxBatch,
   * then releases them to producers at once. Never waits. Returns the count read.
   * A handler that throws releases nothing: the batch is handed out again.
   */
  poll(handler: RecordHandler, maxBatch: number): number {
    assertCount('maxBatch', maxBatch, this.capacity);
    const cells = this.cells;
    const words = this.words;
    const mask = this.mask;
    const recordWords = this.recordWords;
    let next = this.consumerNext;
    let count = 0;
    while (count < maxBatch) {
      const slot = next & mask;
      if (Atomics.load(cells, MARKERS_INDEX + slot) !== next) break;
      handler(words, slot * recordWords);
      next = (next + 1) | 0;
      count++;
    }
    if (count > 0) {
      this.consumerNext = next;
      Atomics.store(cells, CONSUMER_INDEX, next);
      if (Atomics.load(cells, PRODUCER_WAITERS_INDEX) !== 0) Atomics.notify(cells, CONSUMER_INDEX);
    }
    return count;
  }

  /** Waits up to timeoutMs for the next record to be published. True = poll() has work. */
  waitForRecords(timeoutMs: number): boolean {
    assertTimeout(timeoutMs);
    const next = this.consumerNext;
    const slot = next & this.mask;
    return this.wait.waitWhileEqual(this.cells, MARKERS_INDEX + slot, (next - this.capacity) | 0, CONSUMER_WAITERS_INDEX, timeoutMs);
  }

  /** waitForRecords for an event-loop consumer. */
  waitForRecordsAsync(timeoutMs: number): Promise<boolean> {
    assertTimeout(timeoutMs);
    const next = this.consumerNext;
    const slot = next & this.mask;
    return this.asyncWait.waitWhileEqual(this.cells, MARKERS_INDEX + slot, (next - this.capacity) | 0, CONSUMER_WAITERS_INDEX, timeoutMs);
  }

  /** Slots claimed and not yet released by the consumer (0..capacity); for metrics. */
  occupancy(): number {
    const consumed = Atomics.load(this.cells, CONSUMER_INDEX);
    return (Atomics.load(this.cells, CLAIM_INDEX) - consumed) | 0;
  }
}
