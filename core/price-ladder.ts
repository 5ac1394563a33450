/**
 * One sorted side of a book (or of a stop ladder): the level slots in price
 * order, kept in a typed array with the BEST level at the END, so the hot
 * operations (look at the best, remove the best, add near the top) touch the tail
 * and rarely shift anything. A parallel array of sort keys keeps the binary search
 * cache-friendly.
 *
 * key = direction * price, ascending. Bids use direction +1 (highest price last);
 * asks use -1 (lowest price last). Stop ladders use the direction that puts the
 * next stop to trigger last.
 */
import { LevelPool } from './level-pool';
import * as orderPool from './order-pool';

/** Module constants, not import bindings: folded into optimized code (see the note in order-pool.ts). */
const { NO_SLOT } = orderPool;

export class PriceLadder {
  readonly levels: Int32Array;
  readonly keys: Float64Array;
  count = 0;

  constructor(
    readonly capacity: number,
    readonly direction: 1 | -1,
    private readonly pool: LevelPool,
  ) {
    this.levels = new Int32Array(capacity);
    this.keys = new Float64Array(capacity);
  }

  /** Best level slot, or NO_SLOT when empty. */
  best(): number {
    return this.count === 0 ? NO_SLOT : this.levels[this.count - 1];
  }

  /** Index of the first key >= key (binary search). */
  private lowerBound(key: number): number {
    let low = 0;
    let high = this.count;
    const keys = this.keys;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (keys[mid] < key) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** The level at price, or NO_SLOT. */
  find(price: number): number {
    const key = this.direction * price;
    // Fast path: most activity is at the top of the book.
    const top = this.count - 1;
    if (top >= 0 && this.keys[top] === key) return this.levels[top];
    const i = this.lowerBound(key);
    return i < this.count && this.keys[i] === key ? this.levels[i] : NO_SLOT;
  }

  /**
   * The level at price, created if absent. NO_SLOT when creating it would exceed
   * this ladder's capacity or the level pool (the caller rejects the order).
   */
  findOrCreate(price: number): number {
    const key = this.direction * price;
    const count = this.count;
    let i: number;
    if (count === 0 || this.keys[count - 1] < key) {
      i = count; // new best: append, no shift
    } else {
      i = this.lowerBound(key);
      if (this.keys[i] === key) return this.levels[i];
    }
    if (count === this.capacity) return NO_SLOT;
    const level = this.pool.allocate(price);
    if (level === NO_SLOT) return NO_SLOT;
    if (i < count) {
      this.levels.copyWithin(i + 1, i, count);
      this.keys.copyWithin(i + 1, i, count);
    }
    this.levels[i] = level;
    this.keys[i] = key;
    this.count = count + 1;
    return level;
  }

  /** Removes an (empty) level from the ladder and returns it to the pool. */
  remove(level: number): void {
    const count = this.count;
    let i = count - 1;
    if (this.levels[i] !== level) {
      i = this.lowerBound(this.direction * this.pool.price[level]);
      if (i >= count || this.levels[i] !== level) throw new Error(`PriceLadder.remove: level ${level} is not in this ladder`);
      this.levels.copyWithin(i, i + 1, count);
      this.keys.copyWithin(i, i + 1, count);
    }
    this.count = count - 1;
    this.pool.release(level);
  }
}
