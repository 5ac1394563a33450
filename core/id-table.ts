/**
 * A fixed-capacity hash map from a positive safe-integer key to an int32 value,
 * in typed arrays: open addressing, linear probing, backward-shift deletion (no
 * tombstones, so lookups never degrade after many deletes).
 *
 * Used for order id -> pool slot and (account, client order id) -> seen. The table
 * is sized at twice its entry capacity (rounded to a power of two) so probe chains
 * stay short; inserting past `capacity` entries returns false instead of growing.
 */
/** Slot of a positive safe-integer key in a table of mask + 1 slots (both halves of the key mixed). */
export function homeSlot(key: number, mask: number): number {
  const low = key >>> 0;
  const high = (key / 4294967296) >>> 0;
  let h = Math.imul(low ^ Math.imul(high, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 13;
  return h & mask;
}

export class IdTable {
  readonly capacity: number;
  private readonly mask: number;
  readonly keys: Float64Array;
  readonly values: Int32Array;
  size = 0;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`IdTable capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    let slots = 2;
    while (slots < capacity * 2) slots *= 2;
    this.mask = slots - 1;
    this.keys = new Float64Array(slots); // 0 marks an empty slot: keys are >= 1
    this.values = new Int32Array(slots);
  }

  private home(key: number): number {
    return homeSlot(key, this.mask);
  }

  /** The value stored for key, or -1. */
  get(key: number): number {
    const keys = this.keys;
    let i = this.home(key);
    for (;;) {
      const k = keys[i];
      if (k === key) return this.values[i];
      if (k === 0) return -1;
      i = (i + 1) & this.mask;
    }
  }

  has(key: number): boolean {
    return this.get(key) !== -1;
  }

  /** Inserts or overwrites; false when a new key would exceed capacity. */
  set(key: number, value: number): boolean {
    const keys = this.keys;
    let i = this.home(key);
    for (;;) {
      const k = keys[i];
      if (k === key) {
        this.values[i] = value;
        return true;
      }
      if (k === 0) break;
      i = (i + 1) & this.mask;
    }
    if (this.size >= this.capacity) return false;
    keys[i] = key;
    this.values[i] = value;
    this.size++;
    return true;
  }

  /** Removes key if present; returns whether it was. */
  delete(key: number): boolean {
    const keys = this.keys;
    const mask = this.mask;
    let i = this.home(key);
    for (;;) {
      const k = keys[i];
      if (k === 0) return false;
      if (k === key) break;
      i = (i + 1) & mask;
    }
    // Backward shift: pull later entries of the probe chain into the hole when
    // their home slot is not strictly after the hole (cyclically).
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const k = keys[j];
      if (k === 0) break;
      const h = this.home(k);
      const between = hole <= j ? hole < h && h <= j : hole < h || h <= j;
      if (!between) {
        keys[hole] = k;
        this.values[hole] = this.values[j];
        hole = j;
      }
    }
    keys[hole] = 0;
    this.values[hole] = 0;
    this.size--;
    return true;
  }

  clear(): void {
    this.keys.fill(0);
    this.values.fill(0);
    this.size = 0;
  }
}

/**
 * A fixed-capacity set of positive safe-integer keys: IdTable without values, so a
 * membership test touches one array (one cache line) per probe.
 */
export class KeySet {
  private readonly mask: number;
  readonly keys: Float64Array;
  size = 0;

  constructor(readonly capacity: number) {
    let slots = 2;
    while (slots < capacity * 2) slots *= 2;
    this.mask = slots - 1;
    this.keys = new Float64Array(slots);
  }

  private home(key: number): number {
    return homeSlot(key, this.mask);
  }

  has(key: number): boolean {
    const keys = this.keys;
    for (let i = this.home(key); ; i = (i + 1) & this.mask) {
      const k = keys[i];
      if (k === key) return true;
      if (k === 0) return false;
    }
  }

  /** Adds a key (no-op if present); false when a new key would exceed capacity. */
  add(key: number): boolean {
    const keys = this.keys;
    let i = this.home(key);
    for (; ; i = (i + 1) & this.mask) {
      const k = keys[i];
      if (k === key) return true;
      if (k === 0) break;
    }
    if (this.size >= this.capacity) return false;
    keys[i] = key;
    this.size++;
    return true;
  }

  delete(key: number): boolean {
    const keys = this.keys;
    const mask = this.mask;
    let i = this.home(key);
    for (; ; i = (i + 1) & mask) {
      const k = keys[i];
      if (k === 0) return false;
      if (k === key) break;
    }
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const k = keys[j];
      if (k === 0) break;
      const h = this.home(k);
      const between = hole <= j ? hole < h && h <= j : hole < h || h <= j;
      if (!between) {
        keys[hole] = k;
        hole = j;
      }
    }
    keys[hole] = 0;
    this.size--;
    return true;
  }

  clear(): void {
    this.keys.fill(0);
    this.size = 0;
  }
}

/**
 * A bounded set of recently seen keys: when full, inserting forgets the oldest.
 * This is the "still remembered" window of client order ids and cash references.
 */
export class RecentKeyWindow {
  readonly table: KeySet;
  readonly ring: Float64Array;
  head = 0;
  count = 0;
  /** One past the highest ring index written since the last clear (snapshots copy below it). */
  written = 0;

  constructor(readonly capacity: number) {
    this.table = new KeySet(capacity);
    this.ring = new Float64Array(capacity);
  }

  has(key: number): boolean {
    return this.table.has(key);
  }

  /** Remembers key (assumed absent), forgetting the oldest key if the window is full. */
  add(key: number): void {
    if (this.count === this.capacity) {
      this.table.delete(this.ring[this.head]);
      this.head = (this.head + 1) % this.capacity;
      this.count--;
    }
    const index = (this.head + this.count) % this.capacity;
    this.ring[index] = key;
    if (index >= this.written) this.written = index + 1;
    this.count++;
    this.table.add(key);
  }

  clear(): void {
    this.table.clear();
    this.ring.fill(0, 0, this.written);
    this.head = 0;
    this.count = 0;
    this.written = 0;
  }

  /** Re-inserts the ring's live keys into the hash table (after a snapshot restore). */
  rebuild(): void {
    this.table.clear();
    for (let i = 0; i < this.count; i++) this.table.add(this.ring[(this.head + i) % this.capacity]);
  }
}
