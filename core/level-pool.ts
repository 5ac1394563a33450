/**
 * Storage of price levels, shared by every book side and stop ladder: per level
 * its price, total open quantity, and the head/tail of its FIFO of order slots.
 * Recycled through a free list (chained through `head`).
 */
import * as orderPool from './order-pool';

/** Module constants, not import bindings: folded into optimized code (see the note in order-pool.ts). */
const { NO_SLOT } = orderPool;

export class LevelPool {
  readonly capacity: number;
  readonly price: Float64Array;
  /** Sum of the leaves of the level's orders (book levels) or of their quantities (stop levels). */
  readonly quantity: Float64Array;
  readonly head: Int32Array;
  readonly tail: Int32Array;
  readonly orderCount: Int32Array;
  freeHead = 0;
  used = 0;
  /** One past the highest level ever allocated. */
  highWater = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.price = new Float64Array(capacity);
    this.quantity = new Float64Array(capacity);
    this.head = new Int32Array(capacity);
    this.tail = new Int32Array(capacity).fill(NO_SLOT);
    this.orderCount = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.head[i] = i + 1 < capacity ? i + 1 : NO_SLOT;
  }

  /** A fresh empty level at price, or NO_SLOT when the pool is exhausted. */
  allocate(price: number): number {
    const level = this.freeHead;
    if (level === NO_SLOT) return NO_SLOT;
    this.freeHead = this.head[level];
    this.used++;
    if (level >= this.highWater) this.highWater = level + 1;
    this.price[level] = price;
    this.quantity[level] = 0;
    this.head[level] = NO_SLOT;
    this.tail[level] = NO_SLOT;
    this.orderCount[level] = 0;
    return level;
  }

  release(level: number): void {
    this.price[level] = 0;
    this.quantity[level] = 0;
    this.tail[level] = NO_SLOT;
    this.orderCount[level] = 0;
    this.head[level] = this.freeHead;
    this.freeHead = level;
    this.used--;
  }
}
