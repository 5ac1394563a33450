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

/**
 * A fixed-capacity set of positive safe-integer keys in one Float64Array: open
 * addressing, linear probing, backward-shift deletion (no tombstones, so lookups
 * never degrade after many deletes). Sized at twice its capacity (a power of two)
 * so probe chains stay short; adding past `capacity` keys returns false instead of
 * growing. 0 marks an empty slot. IdTable adds a value per key on top of it.
 */
export class KeySet {
  readonly capacity: number;
  protected readonly mask: number;
  readonly keys: Float64Array;
  size = 0;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`table capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    let slots = 2;
    while (slots < capacity * 2) slots *= 2;
    this.mask = slots - 1;
    this.keys = new Float64Array(slots);
  }

  /** The slot holding key, or -1. */
  protected slotOf(key: number): number {
    const keys = this.keys;
    for (let i = homeSlot(key, this.mask); ; i = (i + 1) & this.mask) {
      const k = keys[i];
      if (k === key) return i;
      if (k === 0) return -1;
    }
  }

  /** The slot holding key, inserting it if absent; -1 when a new key would exceed capacity. */
  protected claim(key: number): number {
    const keys = this.keys;
    let i = homeSlot(key, this.mask);
    for (; ; i = (i + 1) & this.mask) {
      const k = keys[i];
      if (k === key) return i;
      if (k === 0) break;
    }
    if (this.size >= this.capacity) return -1;
    keys[i] = key;
    this.size++;
    return i;
  }

  /** Called when deletion moves an entry from one slot to another (IdTable moves its value). */
  protected moved(_from: number, _to: number): void {}

  has(key: number): boolean {
    return this.slotOf(key) !== -1;
  }

  /** Adds a key (no-op if present); false when a new key would exceed capacity. */
  add(key: number): boolean {
    return this.claim(key) !== -1;
  }

  /** Removes key if present; returns whether it was. */
  delete(key: number): boolean {
    const i = this.slotOf(key);
    if (i === -1) return false;
    const keys = this.keys;
    const mask = this.mask;
    // Backward shift: pull later entries of the probe chain into the hole when
    // their home slot is not strictly after the hole (cyclically).
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const k = keys[j];
      if (k === 0) break;
      const h = homeSlot(k, mask);
      const between = hole <= j ? hole < h && h <= j : hole < h || h <= j;
      if (!between) {
        keys[hole] = k;
        this.moved(j, hole);
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
 * A fixed-capacity map from a positive safe-integer key to an int32 value: a KeySet
 * with a parallel Int32Array of values. Used for the order index's overflow and for
 * (account, instrument) -> position row.
 */
export class IdTable extends KeySet {
  readonly values: Int32Array;

  constructor(capacity: number) {
    super(capacity);
    this.values = new Int32Array(this.keys.length);
  }

  /** The value stored for key, or -1. */
  get(key: number): number {
    const i = this.slotOf(key);
    return i === -1 ? -1 : this.values[i];
  }

  /** Inserts or overwrites; false when a new key would exceed capacity. */
  set(key: number, value: number): boolean {
    const i = this.claim(key);
    if (i === -1) return false;
    this.values[i] = value;
    return true;
  }

  protected override moved(from: number, to: number): void {
    this.values[to] = this.values[from];
  }

  override clear(): void {
    super.clear();
    this.values.fill(0);
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
