/**
 * Order id -> pool slot for live orders.
 *
 * Order ids are a counter, so most live ids are recent and dense: a direct-mapped
 * table indexed by `id & mask` puts neighbouring ids in neighbouring cells (cache
 * friendly, no hashing, no probing). A cell already held by an older live order
 * with the same low bits (a long-resting GTC) sends the newer id to a small hash
 * table instead. Every hit is verified against the pool's own orderId, so a stale
 * cell can never answer for another order.
 */
import { IdTable } from './id-table';
import * as orderPool from './order-pool';
import type { OrderPool } from './order-pool';

/** Module constants, not import bindings: folded into optimized code (see the note in order-pool.ts). */
const { NO_SLOT } = orderPool;

export class OrderIndex {
  private readonly direct: Int32Array;
  private readonly mask: number;
  private readonly overflow: IdTable;
  size = 0;

  constructor(private readonly orders: OrderPool) {
    let cells = 2;
    while (cells < orders.capacity * 2) cells *= 2;
    this.direct = new Int32Array(cells).fill(NO_SLOT);
    this.mask = cells - 1;
    this.overflow = new IdTable(orders.capacity);
  }

  get(orderId: number): number {
    const slot = this.direct[orderId & this.mask];
    if (slot !== NO_SLOT && this.orders.orderId[slot] === orderId) return slot;
    return this.overflow.size === 0 ? NO_SLOT : this.overflow.get(orderId);
  }

  /** Indexes a new live order (its pool slot already carries orderId). */
  set(orderId: number, slot: number): void {
    const cell = orderId & this.mask;
    if (this.direct[cell] === NO_SLOT) this.direct[cell] = slot;
    else if (!this.overflow.set(orderId, slot)) throw new Error(`order index overflow full at order ${orderId}`); // capacity = pool size: cannot happen
    this.size++;
  }

  /** Removes a live order's entry (before its slot is released). */
  delete(orderId: number): void {
    const cell = orderId & this.mask;
    const slot = this.direct[cell];
    if (slot !== NO_SLOT && this.orders.orderId[slot] === orderId) this.direct[cell] = NO_SLOT;
    else if (!this.overflow.delete(orderId)) return;
    this.size--;
  }

  clear(): void {
    this.direct.fill(NO_SLOT);
    this.overflow.clear();
    this.size = 0;
  }
}
