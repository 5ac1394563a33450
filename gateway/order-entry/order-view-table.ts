/**
 * The orders of a gateway's read model (account-view.ts): one fixed-stride row of numbers per
 * order in a Float64Array, and two open-addressing indexes (by order id; by account and client
 * order id) in Int32Arrays. No object and no Map entry per order: as JS Maps of order objects,
 * the read model was ~28% of a gateway thread's busy time at 100K orders/s (bench:e2e profile),
 * mostly hashing, cache misses through entries and objects, and the collector.
 *
 * Rows are slots 0..capacity-1; a removed row's slot is reused. Indexes hold slot + 1 (0 = empty)
 * and, beside it, the entry's 32-bit hash; they use linear probing at load <= 1/2 and delete by
 * backward shift (no tombstones). The stored hash lets a probe skip other keys' entries and a
 * backward shift find each entry's home without reading its row: rows are 72 bytes each, spread
 * over megabytes, and reading one per probed entry was most of the table's cost (a cache miss each). The table starts
 * at INITIAL_ORDER_VIEWS rows and doubles up to ORDER_VIEWS_MAX; an insert beyond that is refused
 * (insert returns -1) and the caller counts it.
 */

/** Numbers per row, in this order. */
export const ORDER_VIEW_FIELDS = ['orderId', 'account', 'instrument', 'clientOrderId', 'side', 'price', 'quantity', 'leaves', 'status'] as const;
export const OrderViewField = { orderId: 0, account: 1, instrument: 2, clientOrderId: 3, side: 4, price: 5, quantity: 6, leaves: 7, status: 8 } as const;
const STRIDE = ORDER_VIEW_FIELDS.length;
const ORDER_ID = OrderViewField.orderId;
const ACCOUNT = OrderViewField.account;
const CLIENT_ORDER_ID = OrderViewField.clientOrderId;

export const INITIAL_ORDER_VIEWS = 1 << 12;
/** Most orders one read model holds: the core's live orders (maxOrders, 2^20 by default) plus the finished ones it remembers. */
export const ORDER_VIEWS_MAX = 1 << 21;

const TWO_POW_32 = 2 ** 32;

function idHash(orderId: number): number {
  const low = orderId >>> 0;
  const high = (orderId / TWO_POW_32) | 0;
  return Math.imul(low ^ Math.imul(high, 0x85ebca6b), 0x9e3779b1); // int32, as the index stores it
}

function clientHash(account: number, clientOrderId: number): number {
  return Math.imul(account >>> 0, 0x9e3779b1) ^ Math.imul(clientOrderId >>> 0, 0x85ebca6b) ^ ((clientOrderId / TWO_POW_32) | 0); // int32
}

export class OrderViewTable {
  /** STRIDE numbers per slot (ORDER_VIEW_FIELDS). */
  rows: Float64Array;
  private used: Uint8Array;
  /** Index by order id: slot + 1 per position, and the entry's idHash. */
  private byId: Int32Array;
  private byIdHash: Int32Array;
  /** Index by (account, client order id): slot + 1 per position, and the entry's clientHash. */
  private byClient: Int32Array;
  private byClientHash: Int32Array;
  private mask: number;
  private free: Int32Array;
  private freeCount = 0;
  /** Slots handed out so far (all below it are used or free). */
  private highWater = 0;
  /** Scratch of copyClientIdsInto: which slots the client index names. */
  private clientMarks = new Uint8Array(0);
  size = 0;

  /** `capacity`: rows to start with, a power of two up to ORDER_VIEWS_MAX (the indexes mask with it). */
  constructor(private capacity = INITIAL_ORDER_VIEWS) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > ORDER_VIEWS_MAX || (capacity & (capacity - 1)) !== 0) {
      throw new RangeError(`order view table: capacity must be a power of two in 1..${ORDER_VIEWS_MAX}, got ${capacity}`);
    }
    this.rows = new Float64Array(capacity * STRIDE);
    this.used = new Uint8Array(capacity);
    this.free = new Int32Array(capacity);
    this.byId = new Int32Array(2 * capacity);
    this.byIdHash = new Int32Array(2 * capacity);
    this.byClient = new Int32Array(2 * capacity);
    this.byClientHash = new Int32Array(2 * capacity);
    this.mask = 2 * capacity - 1;
  }

  /** The slot of an order id, or -1. */
  find(orderId: number): number {
    const index = this.byId;
    const hashes = this.byIdHash;
    const mask = this.mask;
    const hash = idHash(orderId);
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const entry = index[i]!;
      if (entry === 0) return -1;
      if (hashes[i] === hash && this.rows[(entry - 1) * STRIDE + ORDER_ID] === orderId) return entry - 1;
    }
  }

  /** The slot the account's client order id names (its newest order with that id), or -1. */
  findByClient(account: number, clientOrderId: number): number {
    const index = this.byClient;
    const hashes = this.byClientHash;
    const mask = this.mask;
    const hash = clientHash(account, clientOrderId);
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const entry = index[i]!;
      if (entry === 0) return -1;
      if (hashes[i] !== hash) continue;
      const row = (entry - 1) * STRIDE;
      if (this.rows[row + ACCOUNT] === account && this.rows[row + CLIENT_ORDER_ID] === clientOrderId) return entry - 1;
    }
  }

  /**
   * Adds an order (or overwrites the row of the same order id) with `values` in ORDER_VIEW_FIELDS
   * order, and makes it the one its client order id names. Returns its slot, or -1 when the table
   * is at ORDER_VIEWS_MAX.
   */
  insert(values: ArrayLike<number>): number {
    let slot = this.find(values[ORDER_ID]!);
    if (slot < 0) {
      if (this.freeCount === 0 && this.highWater === this.capacity && !this.grow()) return -1;
      slot = this.freeCount > 0 ? this.free[--this.freeCount]! : this.highWater++;
      this.used[slot] = 1;
      this.size++;
      setIndex(this.byId, this.byIdHash, this.mask, idHash(values[ORDER_ID]!), slot);
    } else {
      this.unlinkClient(slot);
    }
    const row = slot * STRIDE;
    for (let f = 0; f < STRIDE; f++) this.rows[row + f] = values[f]!;
    this.linkClient(slot);
    return slot;
  }

  /** Removes the order in `slot`. */
  remove(slot: number): void {
    if (this.used[slot] !== 1) return;
    this.unlinkClient(slot);
    deleteIndex(this.byId, this.byIdHash, this.mask, idHash(this.rows[slot * STRIDE + ORDER_ID]!), slot);
    this.used[slot] = 0;
    this.free[this.freeCount++] = slot;
    this.size--;
  }

  /** Used slots in ascending order. */
  *slots(): Generator<number> {
    for (let slot = 0; slot < this.highWater; slot++) if (this.used[slot] === 1) yield slot;
  }

  /** Numbers copyRowsInto writes. */
  get savedRowsLength(): number {
    return this.size * STRIDE;
  }

  /**
   * Copies the rows of every order, back to back in slot order, into `out` (at least
   * savedRowsLength long); returns the numbers written. A running gateway checkpoints from this
   * on its event loop, so it is one pass of plain copies into a buffer it reuses: with a fresh
   * array, per-row views and a generator, a capture of ~67K orders stopped a gateway for 27-62 ms
   * under load (bench:e2e at 200K orders/s, p99 spikes every checkpoint).
   */
  copyRowsInto(out: Float64Array): number {
    if (out.length < this.size * STRIDE) throw new RangeError(`order view table: ${out.length} numbers cannot hold ${this.size} rows`);
    const rows = this.rows;
    const used = this.used;
    let o = 0;
    for (let slot = 0; slot < this.highWater; slot++) {
      if (used[slot] !== 1) continue;
      const row = slot * STRIDE;
      for (let f = 0; f < STRIDE; f++) out[o + f] = rows[row + f]!;
      o += STRIDE;
    }
    return o;
  }

  /** Most numbers copyClientIdsInto writes (2 per order). */
  get savedClientIdsLength(): number {
    return 2 * this.size;
  }

  /**
   * Copies (account * 2^32 + client order id, order id) for each order its client order id names
   * into `out` (at least savedClientIdsLength long), in slot order; returns the numbers written.
   */
  copyClientIdsInto(out: Float64Array): number {
    if (out.length < 2 * this.size) throw new RangeError(`order view table: ${out.length} numbers cannot hold ${this.size} client ids`);
    // Two linear passes (mark the slots the client index names, then walk the slots) instead of a
    // probe of the index per slot.
    if (this.clientMarks.length < this.highWater) this.clientMarks = new Uint8Array(this.capacity);
    const marks = this.clientMarks;
    marks.fill(0, 0, this.highWater);
    const index = this.byClient;
    for (let i = 0; i < index.length; i++) if (index[i] !== 0) marks[index[i]! - 1] = 1;
    const rows = this.rows;
    let o = 0;
    for (let slot = 0; slot < this.highWater; slot++) {
      if (marks[slot] !== 1) continue;
      const row = slot * STRIDE;
      out[o] = rows[row + ACCOUNT]! * TWO_POW_32 + rows[row + CLIENT_ORDER_ID]!;
      out[o + 1] = rows[row + ORDER_ID]!;
      o += 2;
    }
    return o;
  }

  /** Whether the client index names this slot (not a newer order that reused the client order id). */
  isClientEntry(slot: number): boolean {
    const row = slot * STRIDE;
    return this.findByClient(this.rows[row + ACCOUNT]!, this.rows[row + CLIENT_ORDER_ID]!) === slot;
  }

  /** Makes the order in `slot` the one its client order id names. */
  linkClient(slot: number): void {
    const hash = this.clientHashOf(slot);
    const row = slot * STRIDE;
    const existing = this.findByClient(this.rows[row + ACCOUNT]!, this.rows[row + CLIENT_ORDER_ID]!);
    if (existing === slot) return;
    if (existing >= 0) deleteIndex(this.byClient, this.byClientHash, this.mask, hash, existing); // the newer order takes the id
    setIndex(this.byClient, this.byClientHash, this.mask, hash, slot);
  }

  private unlinkClient(slot: number): void {
    // Only if the index names this slot: a newer order may have taken the client order id.
    deleteIndex(this.byClient, this.byClientHash, this.mask, this.clientHashOf(slot), slot);
  }

  private clientHashOf(slot: number): number {
    const row = slot * STRIDE;
    return clientHash(this.rows[row + ACCOUNT]!, this.rows[row + CLIENT_ORDER_ID]!);
  }

  /** Doubles the capacity (rows copied, indexes rebuilt); false at ORDER_VIEWS_MAX. */
  private grow(): boolean {
    if (this.capacity >= ORDER_VIEWS_MAX) return false;
    const capacity = this.capacity * 2;
    const rows = new Float64Array(capacity * STRIDE);
    rows.set(this.rows);
    const used = new Uint8Array(capacity);
    used.set(this.used);
    const free = new Int32Array(capacity);
    free.set(this.free.subarray(0, this.freeCount));
    const oldClient = this.byClient;
    const oldClientHash = this.byClientHash;
    this.capacity = capacity;
    this.rows = rows;
    this.used = used;
    this.free = free;
    this.byId = new Int32Array(2 * capacity);
    this.byIdHash = new Int32Array(2 * capacity);
    this.byClient = new Int32Array(2 * capacity);
    this.byClientHash = new Int32Array(2 * capacity);
    this.mask = 2 * capacity - 1;
    for (let slot = 0; slot < this.highWater; slot++) {
      if (used[slot] === 1) setIndex(this.byId, this.byIdHash, this.mask, idHash(rows[slot * STRIDE + ORDER_ID]!), slot);
    }
    for (let i = 0; i < oldClient.length; i++) {
      if (oldClient[i] !== 0) setIndex(this.byClient, this.byClientHash, this.mask, oldClientHash[i]!, oldClient[i]! - 1);
    }
    return true;
  }
}

/** Puts slot (with its hash) at the first free position from its home. */
function setIndex(index: Int32Array, hashes: Int32Array, mask: number, hash: number, slot: number): void {
  let i = hash & mask;
  while (index[i] !== 0) i = (i + 1) & mask;
  index[i] = slot + 1;
  hashes[i] = hash;
}

/** Removes slot's entry (if indexed) from a linear-probing index by backward shift (no tombstones). */
function deleteIndex(index: Int32Array, hashes: Int32Array, mask: number, hash: number, slot: number): void {
  let i = hash & mask;
  while (index[i] !== slot + 1) {
    if (index[i] === 0) return; // not indexed
    i = (i + 1) & mask;
  }
  for (let j = (i + 1) & mask; index[j] !== 0; j = (j + 1) & mask) {
    const home = hashes[j]! & mask;
    // Move the entry at j into the hole at i unless its home lies cyclically in (i, j].
    const inRange = i <= j ? home > i && home <= j : home > i || home <= j;
    if (!inRange) {
      index[i] = index[j]!;
      hashes[i] = hashes[j]!;
      i = j;
    }
  }
  index[i] = 0;
}
