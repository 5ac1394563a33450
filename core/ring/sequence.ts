/**
 * Ring sequences: 32-bit shared counters that wrap, compared by distance only.
 *
 * WHY 32 BITS. Atomics on a BigInt64Array would give counters that never wrap, but
 * every Atomics.load/add on one returns a BigInt, which V8 allocates on the heap:
 * one allocation per claim on the hot path. Int32 Atomics allocate nothing and
 * compile to single instructions. So shared sequences are int32 cells that wrap
 * modulo 2^32 (after 4.3e9 records: every ~43 s at 100M records/s). Wrapping is
 * the normal case, not an error, and the rules below make it harmless.
 *
 * WHY WRAPPING IS SAFE.
 * 1. Slot index = sequence & (capacity - 1). capacity is a power of two <= 2^30,
 *    so it divides 2^32: a sequence maps to the same slot before and after a wrap.
 * 2. Raw sequences are never compared with < or >. Code compares the DISTANCE
 *    `(ahead - behind) | 0` of two sequences whose true distance is known to lie in
 *    [0, capacity]. Because capacity <= 2^30 < 2^31, the int32 difference equals
 *    the true difference. The bound holds by construction: producers never claim
 *    more than `capacity` past the slowest consumer (the gate), and a consumer never
 *    passes the published cursor.
 * 3. The MPSC availability marker of a slot holds the (wrapped) sequence last
 *    published into it; it is the slot's "lap" and index in one word
 *    (lap = marker >>> log2(capacity)). A consumer expecting sequence s reads the
 *    marker of slot s & mask; by rule 2 it can only hold s - capacity (previous lap,
 *    not yet published) or s (published), because nobody can claim s + capacity
 *    before the consumer has released s. An older marker could alias s only after
 *    2^32 / capacity laps, and at most one lap is ever outstanding, so `marker === s`
 *    is exact.
 * 4. Stale reads. A thread reads the consumer cell BEFORE the claim cell, so the
 *    distance it computes can only be too large (conservative: it waits or re-reads),
 *    never too small. The one assumption: no thread is descheduled between two
 *    adjacent loads while 2^31 records (21 s at 100M/s) pass through the ring; the
 *    claim compare-and-swap could only suffer ABA after exactly 2^32 claims during
 *    such a pause. Both are far outside any scheduler's behaviour.
 *
 * Single-thread positions (the SPMC producer cursor, each SPMC consumer's position)
 * are plain JS numbers, exact up to 2^53 (2.8 years at 100M records/s), stored into
 * the shared int32 cell as `position | 0`. A reader rebuilds a full number from its
 * own full position plus the int32 distance of rule 2.
 */

/** Largest ring capacity. Rule 2 needs <= 2^30; 2^24 slots bounds the memory too. */
export const CAPACITY_MAX = 1 << 24;
/** Smallest ring capacity: one slot cannot tell "empty" from "full" by marker laps. */
export const CAPACITY_MIN = 2;
/** Largest record, in float64 words (4 KiB). Commands and events use 16. */
export const RECORD_WORDS_MAX = 512;
/** Largest shared buffer a ring may allocate (slots plus header). */
export const RING_BYTES_MAX = 1024 * 1024 * 1024;
/** Int32 words per cache line: every hot shared counter gets its own line. */
export const CACHE_LINE_INT32 = 16;
/** Bytes per cache line, for aligning the slot area. */
export const CACHE_LINE_BYTES = 64;

/** Ring error codes; every ring error is a RingError with one of these. */
export type RingErrorCode =
  | 'ERR_RING_CAPACITY'
  | 'ERR_RING_RECORD_WORDS'
  | 'ERR_RING_SIZE'
  | 'ERR_RING_ARGUMENT'
  | 'ERR_RING_BUFFER'
  | 'ERR_RING_STATE';

export class RingError extends Error {
  readonly code: RingErrorCode;
  constructor(code: RingErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'RingError';
    this.code = code;
  }
}

export function assertCapacity(capacity: number): void {
  if (!Number.isInteger(capacity) || capacity < CAPACITY_MIN || capacity > CAPACITY_MAX) {
    throw new RingError('ERR_RING_CAPACITY', `capacity must be an integer in ${CAPACITY_MIN}..${CAPACITY_MAX}, got ${capacity}`);
  }
  if ((capacity & (capacity - 1)) !== 0) {
    throw new RingError('ERR_RING_CAPACITY', `capacity must be a power of two (slot = sequence & (capacity - 1)), got ${capacity}`);
  }
}

export function assertRecordWords(recordWords: number): void {
  if (!Number.isInteger(recordWords) || recordWords < 1 || recordWords > RECORD_WORDS_MAX) {
    throw new RingError('ERR_RING_RECORD_WORDS', `recordWords must be an integer in 1..${RECORD_WORDS_MAX}, got ${recordWords}`);
  }
}

/** Checks a claim or batch size: 1..capacity (more could never fit). */
export function assertCount(what: string, count: number, capacity: number): void {
  if (!Number.isInteger(count) || count < 1 || count > capacity) {
    throw new RingError('ERR_RING_ARGUMENT', `${what} must be an integer in 1..${capacity} (the ring capacity), got ${count}`);
  }
}

/** Timeouts are milliseconds >= 0; Infinity means "until it happens". */
export function assertTimeout(timeoutMs: number): void {
  if (!(timeoutMs >= 0)) {
    throw new RingError('ERR_RING_ARGUMENT', `timeoutMs must be a number >= 0 (or Infinity), got ${timeoutMs}`);
  }
}

/** Initial sequence (tests start near 2^31 or 2^32 to exercise the wrap). */
export function assertInitialSequence(initialSequence: number): void {
  if (!Number.isInteger(initialSequence) || initialSequence < 0 || initialSequence >= 2 ** 32) {
    throw new RingError('ERR_RING_ARGUMENT', `initialSequence must be an integer in 0..2^32-1, got ${initialSequence}`);
  }
}

/** Bytes of the slot area, checked against RING_BYTES_MAX together with the header. */
export function ringBytes(headerBytes: number, capacity: number, recordWords: number): number {
  const slotOffset = alignUp(headerBytes, CACHE_LINE_BYTES);
  const total = slotOffset + capacity * recordWords * Float64Array.BYTES_PER_ELEMENT;
  if (total > RING_BYTES_MAX) {
    throw new RingError('ERR_RING_SIZE', `ring of ${capacity} x ${recordWords} words needs ${total} bytes, above RING_BYTES_MAX ${RING_BYTES_MAX}`);
  }
  return total;
}

export function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/** Reads and checks the header words every ring starts with (magic, layout, geometry). */
export function checkHeader(cells: Int32Array, magic: number, kind: string, layoutVersion: number): void {
  if (cells.length < CACHE_LINE_INT32 || cells[0] !== magic) {
    throw new RingError('ERR_RING_BUFFER', `buffer is not a ${kind} ring (magic ${cells.length > 0 ? cells[0] : 'missing'}, expected ${magic})`);
  }
  if (cells[1] !== layoutVersion) {
    throw new RingError('ERR_RING_BUFFER', `${kind} ring layout version ${cells[1]} is not the supported ${layoutVersion}`);
  }
  assertCapacity(cells[2]);
  assertRecordWords(cells[3]);
}
