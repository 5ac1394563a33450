/**
 * The orders of a gateway's read model (account-view.ts): one fixed-stride row of numbers per
 * order in a Float64Array, and two open-addressing indexes (by order id; by account and client
 * order id) in Int32Arrays. No object and no Map entry per order: as JS Maps of order objects,
 * the read model was ~28% of a gateway thread's busy time at 100K orders/s (bench:e2e profile),
 * mostly hashing, cache misses through entries and objects, and the collector.
 *
 * Rows are dense: the orders sit in slots 0..size-1, and removing one moves the last row into
 * its slot (re-pointing that row's index entries). So a gateway checkpoint copies the rows, and a
 * per-slot flag saying which orders their client order id names, with one memory copy each,
 * while its event loop waits (a copy of scattered rows took 6-62 ms under load).
 *
 * Indexes hold slot + 1 (0 = empty) and, beside it, the entry's 32-bit hash; they use linear
 * probing at load <= 1/2 and delete by backward shift (no tombstones). The stored hash lets a
 * probe skip other keys' entries and a backward shift find each entry's home without reading
 * its row: rows are 72 bytes each, spread over megabytes, and reading one per probed entry was
 * most of the table's cost (a cache miss each). The table starts at the capacity it is given
 * (INITIAL_ORDER_VIEWS by default) and doubles up to ORDER_VIEWS_MAX; an insert beyond that is
 * refused (insert returns -1) and the caller counts it.
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
  /** STRIDE numbers per slot (ORDER_VIEW_FIELDS); slots 0..size-1 hold orders. */
  rows: Float64Array;
  /** Per slot: 1 when the client index names it (the newest order with its client order id), else 0. */
  clientEntry: Float64Array;
  /** Index by order id: slot + 1 per position, and the entry's idHash. */
  private byId: Int32Array;
  private byIdHash: Int32Array;
  /** Index by (account, client order id): slot + 1 per position, and the entry's clientHash. */
  private byClient: Int32Array;
  private byClientHash: Int32Array;
  private mask: number;
  size = 0;

  /** `capacity`: rows to start with, a power of two up to ORDER_VIEWS_MAX (the indexes mask with it). */
  constructor(private capacity = INITIAL_ORDER_VIEWS) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > ORDER_VIEWS_MAX || (capacity & (capacity - 1)) !== 0) {
      throw new RangeError(`order view table: capacity must be a power of two in 1..${ORDER_VIEWS_MAX}, got ${capacity}`);
    }
    this.rows = new Float64Array(capacity * STRIDE);
    this.clientEntry = new Float64Array(capacity);
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
   * order, and makes it the one its client order id names. Returns its slot (valid until the next
   * remove), or -1 when the table is at ORDER_VIEWS_MAX.
   */
  insert(values: ArrayLike<number>): number {
    let slot = this.find(values[ORDER_ID]!);
    if (slot < 0) {
      if (this.size === this.capacity && !this.grow()) return -1;
      slot = this.size++;
      setIndex(this.byId, this.byIdHash, this.mask, idHash(values[ORDER_ID]!), slot);
    } else {
      this.unlinkClient(slot);
    }
    const row = slot * STRIDE;
    for (let f = 0; f < STRIDE; f++) this.rows[row + f] = values[f]!;
    this.linkClient(slot);
    return slot;
  }

  /** Removes the order in `slot`; the last order moves into it (slots held across a remove are stale). */
  remove(slot: number): void {
    if (slot < 0 || slot >= this.size) return;
    this.unlinkClient(slot);
    const rows = this.rows;
    deleteIndex(this.byId, this.byIdHash, this.mask, idHash(rows[slot * STRIDE + ORDER_ID]!), slot);
    const last = --this.size;
    if (slot === last) return;
    const from = last * STRIDE;
    const to = slot * STRIDE;
    for (let f = 0; f < STRIDE; f++) rows[to + f] = rows[from + f]!;
    repoint(this.byId, this.mask, idHash(rows[to + ORDER_ID]!), last, slot);
    if (this.clientEntry[last] === 1) repoint(this.byClient, this.mask, clientHash(rows[to + ACCOUNT]!, rows[to + CLIENT_ORDER_ID]!), last, slot);
    this.clientEntry[slot] = this.clientEntry[last]!;
    this.clientEntry[last] = 0;
  }

  /**
   * Fills an empty table with saved rows (STRIDE numbers each) and their client-entry flags,
   * exactly: the same orders, and the same one named by each client order id. Returns the rows
   * loaded (fewer than given only beyond ORDER_VIEWS_MAX).
   */
  load(rows: Float64Array, clientEntries: Float64Array): number {
    if (this.size !== 0) throw new Error('order view table: load into a used table');
    const count = clientEntries.length;
    if (rows.length !== count * STRIDE) throw new RangeError(`order view table: ${rows.length} numbers are not ${count} rows`);
    while (this.capacity < count && this.grow());
    const loaded = Math.min(count, this.capacity);
    this.rows.set(rows.subarray(0, loaded * STRIDE));
    this.clientEntry.set(clientEntries.subarray(0, loaded));
    for (let slot = 0; slot < loaded; slot++) {
      const flag = this.clientEntry[slot]!;
      if (flag !== 0 && flag !== 1) throw new RangeError(`order view table: client-entry flag ${flag} at row ${slot}`);
      if (this.find(this.rows[slot * STRIDE + ORDER_ID]!) >= 0) throw new RangeError(`order view table: order ${this.rows[slot * STRIDE + ORDER_ID]} saved twice`);
      setIndex(this.byId, this.byIdHash, this.mask, idHash(this.rows[slot * STRIDE + ORDER_ID]!), slot);
      this.size = slot + 1;
      if (flag === 1) {
        if (this.findByClient(this.rows[slot * STRIDE + ACCOUNT]!, this.rows[slot * STRIDE + CLIENT_ORDER_ID]!) >= 0) {
          throw new RangeError(`order view table: two saved orders named by one client order id (row ${slot})`);
        }
        setIndex(this.byClient, this.byClientHash, this.mask, this.clientHashOf(slot), slot);
      }
    }
    return loaded;
  }

  /** Makes the order in `slot` the one its client order id names. */
  linkClient(slot: number): void {
    if (this.clientEntry[slot] === 1) return;
    const hash = this.clientHashOf(slot);
    const row = slot * STRIDE;
    const existing = this.findByClient(this.rows[row + ACCOUNT]!, this.rows[row + CLIENT_ORDER_ID]!);
    if (existing >= 0) { // the newer order takes the id
      deleteIndex(this.byClient, this.byClientHash, this.mask, hash, existing);
      this.clientEntry[existing] = 0;
    }
    setIndex(this.byClient, this.byClientHash, this.mask, hash, slot);
    this.clientEntry[slot] = 1;
  }

  private unlinkClient(slot: number): void {
    // Only if the index names this slot: a newer order may have taken the client order id.
    if (this.clientEntry[slot] !== 1) return;
    deleteIndex(this.byClient, this.byClientHash, this.mask, this.clientHashOf(slot), slot);
    this.clientEntry[slot] = 0;
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
    const clientEntry = new Float64Array(capacity);
    clientEntry.set(this.clientEntry);
    this.capacity = capacity;
    this.rows = rows;
    this.clientEntry = clientEntry;
    this.byId = new Int32Array(2 * capacity);
    this.byIdHash = new Int32Array(2 * capacity);
    this.byClient = new Int32Array(2 * capacity);
    this.byClientHash = new Int32Array(2 * capacity);
    this.mask = 2 * capacity - 1;
    for (let slot = 0; slot < this.size; slot++) {
      setIndex(this.byId, this.byIdHash, this.mask, idHash(rows[slot * STRIDE + ORDER_ID]!), slot);
      if (clientEntry[slot] === 1) setIndex(this.byClient, this.byClientHash, this.mask, this.clientHashOf(slot), slot);
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

/** The entry of `from` (searched from its hash's home) now names slot `to`. */
function repoint(index: Int32Array, mask: number, hash: number, from: number, to: number): void {
  for (let i = hash & mask; index[i] !== 0; i = (i + 1) & mask) {
    if (index[i] === from + 1) {
      index[i] = to + 1;
      return;
    }
  }
  throw new Error(`order view table: slot ${from} is not in its index`); // a broken invariant, not bad input
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
