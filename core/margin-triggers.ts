/**
 * Margin trigger ladders: per instrument, the non-flat margin position rows ordered by
 * the mark at which each must be re-evaluated (its trigger), so a new mark visits only
 * the rows it crosses instead of every holder of the instrument.
 *
 * A long row is crossed when mark <= trigger (the highest trigger fires first), a short
 * row when mark >= trigger (the lowest first). Both are kept as min-heaps on one key:
 * -trigger for longs, trigger for shorts; a row is crossed when its key <= -mark (long)
 * or <= mark (short). A trigger of +Infinity (long) or -Infinity (short) is crossed by
 * every mark: rows of accounts evaluated on every move.
 *
 * Storage is intrusive, like the order pool's lists: pairing heaps whose links live in
 * typed arrays indexed by position row, so every instrument's ladders share memory sized
 * by maxPositions (one binary-heap array per instrument would need maxAccounts slots per
 * instrument). Pairing heap: insert O(1), removal of any row O(log n) amortized.
 *
 * The order in which rows sit in a heap is not state: the risk engine sorts what a mark
 * crosses by row before acting, and a restored engine rebuilds the heaps from the rows'
 * triggers.
 */
import * as orderPool from './order-pool';

/** Module constants, not import bindings: folded into optimized code (see the note in order-pool.ts). */
const { NO_SLOT } = orderPool;

/** Heap ids: two per instrument. */
const LONG = 0;
const SHORT = 1;
/** `heapOf` value of a row that is in no heap. */
const NO_HEAP = -1;

export class MarginTriggerLadders {
  /** Min-heap key per row: -trigger (long) or trigger (short). */
  readonly key: Float64Array;
  /** First child, next sibling, and previous sibling (or parent, for a first child). */
  readonly child: Int32Array;
  readonly sibling: Int32Array;
  readonly previous: Int32Array;
  /** Heap (instrument * 2 + LONG | SHORT) holding the row, or NO_HEAP. */
  readonly heapOf: Int32Array;
  /** Root row of each heap, or NO_SLOT. */
  readonly root: Int32Array;
  /** Scratch for the pairing passes (at most one entry per row). */
  private readonly pairs: Int32Array;
  size = 0;

  constructor(maxPositions: number, maxInstruments: number) {
    this.key = new Float64Array(maxPositions);
    this.child = new Int32Array(maxPositions).fill(NO_SLOT);
    this.sibling = new Int32Array(maxPositions).fill(NO_SLOT);
    this.previous = new Int32Array(maxPositions).fill(NO_SLOT);
    this.heapOf = new Int32Array(maxPositions).fill(NO_HEAP);
    this.root = new Int32Array((maxInstruments + 1) * 2).fill(NO_SLOT);
    this.pairs = new Int32Array(maxPositions);
  }

  /** Places (or moves) a row on its instrument's ladder for its side with a new trigger. */
  set(row: number, instrument: number, isLong: boolean, trigger: number): void {
    if (this.heapOf[row] !== NO_HEAP) this.remove(row);
    const heap = instrument * 2 + (isLong ? LONG : SHORT);
    this.key[row] = isLong ? -trigger : trigger;
    this.heapOf[row] = heap;
    this.root[heap] = this.meld(this.root[heap], row);
    this.size++;
  }

  /** Takes a row off its ladder (no-op if it is on none). */
  remove(row: number): void {
    const heap = this.heapOf[row];
    if (heap === NO_HEAP) return;
    const merged = this.mergePairs(this.child[row]);
    if (this.root[heap] === row) {
      this.root[heap] = merged;
    } else {
      // Detach row: it is its parent's first child or some row's next sibling.
      const before = this.previous[row];
      const after = this.sibling[row];
      if (this.child[before] === row) this.child[before] = after;
      else this.sibling[before] = after;
      if (after !== NO_SLOT) this.previous[after] = before;
      this.root[heap] = this.meld(this.root[heap], merged);
    }
    this.child[row] = NO_SLOT;
    this.sibling[row] = NO_SLOT;
    this.previous[row] = NO_SLOT;
    this.heapOf[row] = NO_HEAP;
    this.size--;
  }

  /**
   * Removes every row of the instrument that `mark` crosses (longs with trigger >= mark,
   * shorts with trigger <= mark) and appends them to `out` from `count`; returns the new count.
   */
  takeCrossed(instrument: number, mark: number, out: Int32Array, count: number): number {
    let n = count;
    const longHeap = instrument * 2 + LONG;
    for (let top = this.root[longHeap]; top !== NO_SLOT && this.key[top] <= -mark; top = this.root[longHeap]) {
      this.remove(top);
      out[n++] = top;
    }
    const shortHeap = instrument * 2 + SHORT;
    for (let top = this.root[shortHeap]; top !== NO_SLOT && this.key[top] <= mark; top = this.root[shortHeap]) {
      this.remove(top);
      out[n++] = top;
    }
    return n;
  }

  /** Whether the row is on a ladder, on the long side (isLong) or the short side. */
  holds(row: number, isLong: boolean): boolean {
    const heap = this.heapOf[row];
    return heap !== NO_HEAP && (heap & 1) === (isLong ? LONG : SHORT);
  }

  /** The row next to fire on one side of an instrument, or NO_SLOT (tests, verification). */
  top(instrument: number, isLong: boolean): number {
    return this.root[instrument * 2 + (isLong ? LONG : SHORT)];
  }

  clear(): void {
    this.child.fill(NO_SLOT);
    this.sibling.fill(NO_SLOT);
    this.previous.fill(NO_SLOT);
    this.heapOf.fill(NO_HEAP);
    this.root.fill(NO_SLOT);
    this.size = 0;
  }

  /** Links two heap roots (either may be NO_SLOT); returns the root of the result. */
  private meld(a: number, b: number): number {
    if (a === NO_SLOT) return this.asRoot(b);
    if (b === NO_SLOT) return this.asRoot(a);
    if (this.key[b] < this.key[a]) {
      const t = a;
      a = b;
      b = t;
    }
    // b becomes a's first child.
    const first = this.child[a];
    this.sibling[b] = first;
    if (first !== NO_SLOT) this.previous[first] = b;
    this.previous[b] = a;
    this.child[a] = b;
    return this.asRoot(a);
  }

  private asRoot(row: number): number {
    if (row !== NO_SLOT) {
      this.sibling[row] = NO_SLOT;
      this.previous[row] = NO_SLOT;
    }
    return row;
  }

  /** Standard two-pass pairing of a sibling list: meld pairs left to right, then fold right to left. */
  private mergePairs(first: number): number {
    if (first === NO_SLOT) return NO_SLOT;
    const pairs = this.pairs;
    let n = 0;
    let a = first;
    while (a !== NO_SLOT) {
      const b = this.sibling[a];
      if (b === NO_SLOT) {
        pairs[n++] = this.asRoot(a);
        break;
      }
      const next = this.sibling[b];
      pairs[n++] = this.meld(this.asRoot(a), this.asRoot(b));
      a = next;
    }
    let merged = pairs[--n];
    while (n > 0) merged = this.meld(pairs[--n], merged);
    return merged;
  }
}
