/**
 * (account, instrument) -> position row: a fixed-capacity, insert-only hash table
 * whose entries are clustered by account.
 *
 * Why clustered: the pre-trade check of every new order looks its row up, and the
 * accounts are many while each trades a few instruments. With the packed key hashed
 * as a whole (the generic IdTable), an account's rows sit at unrelated slots and the
 * lookup was a cache miss on most orders (perf annotate of bench:core's risk flow:
 * ~23% of the pre-trade check's samples on that one load). Here an entry's home slot is the hash of the account and the
 * instrument's block of eight ids, plus the instrument's place in the block, so an
 * account's entries for instruments of one block are neighbours: the line it needs is
 * the one its last orders already brought in. Blocks (not the whole instrument range)
 * keep runs of correlated entries at most eight long, so an account holding hundreds of
 * instruments does not make long probe chains for its neighbours in the table.
 *
 * Open addressing with linear probing, at most half full (the table has a power of two
 * slots, at least twice the capacity). Rows are never freed (positions.ts), so there
 * is no deletion; `clear` + `set` rebuild it from the rows after a snapshot restore.
 * Each entry is four int32 words (account, instrument, row, unused): 16 bytes, four
 * per cache line. Account 0 marks an empty slot (account ids start at 1).
 */
import * as orderPool from './order-pool';

/** Module constants, not import bindings: folded into optimized code (see the note in order-pool.ts). */
const { NO_SLOT } = orderPool;
const ENTRY_WORDS = 4;

export class PositionIndex {
  readonly capacity: number;
  private readonly mask: number;
  /** 32 - log2(slots): a home slot is the top bits of a multiplicative hash. */
  private readonly shift: number;
  readonly entries: Int32Array;
  size = 0;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > 2 ** 28) throw new RangeError(`position index capacity must be an integer in 1..2^28, got ${capacity}`);
    this.capacity = capacity;
    let bits = 1;
    while (2 ** bits < capacity * 2) bits++;
    this.mask = 2 ** bits - 1;
    this.shift = 32 - bits;
    this.entries = new Int32Array(2 ** bits * ENTRY_WORDS);
  }

  /**
   * The first slot probed for (account, instrument): the hash of the account and the
   * instrument's block of eight ids, plus the instrument's place in its block.
   */
  private home(account: number, instrument: number): number {
    const block = Math.imul(account, 0x9e3779b1) ^ Math.imul(instrument >>> 3, 0x85ebca6b);
    return ((block >>> this.shift) + (instrument & 7)) & this.mask;
  }

  /** The row of (account, instrument), or NO_SLOT. */
  get(account: number, instrument: number): number {
    const e = this.entries;
    for (let i = this.home(account, instrument); ; i = (i + 1) & this.mask) {
      const at = i * ENTRY_WORDS;
      const a = e[at];
      if (a === account && e[at + 1] === instrument) return e[at + 2];
      if (a === 0) return NO_SLOT;
    }
  }

  /** Adds (account, instrument) -> row for a key not yet present; false when the table is at capacity. */
  set(account: number, instrument: number, row: number): boolean {
    if (this.size >= this.capacity) return false;
    const e = this.entries;
    let i = this.home(account, instrument);
    while (e[i * ENTRY_WORDS] !== 0) i = (i + 1) & this.mask;
    const at = i * ENTRY_WORDS;
    e[at] = account;
    e[at + 1] = instrument;
    e[at + 2] = row;
    this.size++;
    return true;
  }

  clear(): void {
    this.entries.fill(0);
    this.size = 0;
  }
}
