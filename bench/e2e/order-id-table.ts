/**
 * The load generator's bookkeeping of order ids, without allocating per request: JS Maps of
 * order ids churned ~20 MB of old-generation garbage per second in each load-generator thread at
 * 200K orders/s, and their mark-compact collections (1-21 ms, one every 0.5-1.5 s per thread)
 * stopped the thread that stamps answers: the client's pauses showed up as the exchange's latency
 * tail (bench:e2e, 2026-11-26).
 *
 * OrderIdTable: order id -> number, open addressing with linear probing at load <= 1/2, deletion
 * by backward shift (no tombstones), a fixed capacity: a full table refuses the insert (the caller
 * counts it), it never grows.
 * OldestFirst: a set of order ids that hands out its oldest member (insertion order), like the
 * first key of a Map: a table for membership plus a FIFO ring; members deleted out of order stay
 * in the ring until they reach its head and are skipped there.
 */

const EMPTY = 0; // order ids are >= 1

function hashOf(orderId: number): number {
  const low = orderId >>> 0;
  const high = (orderId / 4294967296) | 0;
  return Math.imul(low ^ Math.imul(high, 0x85ebca6b), 0x9e3779b1) >>> 0;
}

export class OrderIdTable {
  private readonly keys: Float64Array;
  private readonly values: Float64Array;
  private readonly mask: number;
  /** Members; at most capacity. */
  size = 0;

  /** `capacity`: most members, a power of two (the table has twice as many slots). */
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || (capacity & (capacity - 1)) !== 0) {
      throw new RangeError(`order id table: capacity must be a power of two, got ${capacity}`);
    }
    this.keys = new Float64Array(2 * capacity);
    this.values = new Float64Array(2 * capacity);
    this.mask = 2 * capacity - 1;
  }

  /** The value of orderId, or NaN when absent. */
  get(orderId: number): number {
    const keys = this.keys;
    for (let i = hashOf(orderId) & this.mask; ; i = (i + 1) & this.mask) {
      const key = keys[i]!;
      if (key === orderId) return this.values[i]!;
      if (key === EMPTY) return NaN;
    }
  }

  has(orderId: number): boolean {
    return !Number.isNaN(this.get(orderId));
  }

  /** Sets orderId's value (values are numbers, not NaN); false when the table is full. */
  set(orderId: number, value: number): boolean {
    const keys = this.keys;
    let i = hashOf(orderId) & this.mask;
    for (; keys[i] !== EMPTY; i = (i + 1) & this.mask) {
      if (keys[i] === orderId) {
        this.values[i] = value;
        return true;
      }
    }
    if (this.size === this.capacity) return false;
    keys[i] = orderId;
    this.values[i] = value;
    this.size++;
    return true;
  }

  /** Removes orderId; whether it was there. */
  delete(orderId: number): boolean {
    const keys = this.keys;
    const values = this.values;
    const mask = this.mask;
    let i = hashOf(orderId) & mask;
    while (keys[i] !== orderId) {
      if (keys[i] === EMPTY) return false;
      i = (i + 1) & mask;
    }
    for (let j = (i + 1) & mask; keys[j] !== EMPTY; j = (j + 1) & mask) {
      const home = hashOf(keys[j]!) & mask;
      // Move the entry at j into the hole at i unless its home lies cyclically in (i, j].
      const inRange = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!inRange) {
        keys[i] = keys[j]!;
        values[i] = values[j]!;
        i = j;
      }
    }
    keys[i] = EMPTY;
    this.size--;
    return true;
  }
}

export class OldestFirst {
  private readonly members: OrderIdTable;
  private readonly ring: Float64Array;
  private head = 0;
  private tail = 0;

  /** `capacity`: most members and most ring entries (members plus those deleted behind the head), a power of two. */
  constructor(readonly capacity: number) {
    this.members = new OrderIdTable(capacity);
    this.ring = new Float64Array(capacity);
  }

  get size(): number {
    return this.members.size;
  }

  /** Adds a new member (order ids are never re-added); false when full. */
  add(orderId: number): boolean {
    if (this.tail - this.head === this.capacity) this.skipDeleted();
    if (this.tail - this.head === this.capacity || !this.members.set(orderId, 1)) return false;
    this.ring[this.tail % this.capacity] = orderId;
    this.tail++;
    return true;
  }

  delete(orderId: number): boolean {
    return this.members.delete(orderId);
  }

  /** Removes and returns the oldest member, or 0 when empty. */
  takeOldest(): number {
    this.skipDeleted();
    if (this.head === this.tail) return 0;
    const orderId = this.ring[this.head % this.capacity]!;
    this.head++;
    this.members.delete(orderId);
    return orderId;
  }

  /** Drops ring entries at the head whose order ids are no longer members. */
  private skipDeleted(): void {
    while (this.head < this.tail && !this.members.has(this.ring[this.head % this.capacity]!)) this.head++;
  }
}
