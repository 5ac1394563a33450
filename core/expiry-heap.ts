/**
 * Indexed min-heap of GTD order slots by (expire time, order id), so a Clock
 * command expires due orders in O(k log n) and a cancel removes its entry in
 * O(log n). Each slot's heap position lives in OrderPool.expiryIndex. Capacity is
 * the order pool's: a heap entry exists only for a live GTD order.
 */
import * as orderPool from './order-pool';
import type { OrderPool } from './order-pool';

/** Module constants, not import bindings: folded into optimized code (see the note in order-pool.ts). */
const { NO_SLOT } = orderPool;

export class ExpiryHeap {
  readonly slots: Int32Array;
  size = 0;

  constructor(private readonly orders: OrderPool) {
    this.slots = new Int32Array(orders.capacity);
  }

  private before(a: number, b: number): boolean {
    const o = this.orders;
    const ta = o.expireTime[a];
    const tb = o.expireTime[b];
    return ta < tb || (ta === tb && o.orderId[a] < o.orderId[b]);
  }

  private place(index: number, slot: number): void {
    this.slots[index] = slot;
    this.orders.expiryIndex[slot] = index;
  }

  private siftUp(index: number): void {
    const slot = this.slots[index];
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const parentSlot = this.slots[parent];
      if (!this.before(slot, parentSlot)) break;
      this.place(index, parentSlot);
      index = parent;
    }
    this.place(index, slot);
  }

  private siftDown(index: number): void {
    const slot = this.slots[index];
    const size = this.size;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= size) break;
      if (child + 1 < size && this.before(this.slots[child + 1], this.slots[child])) child++;
      if (!this.before(this.slots[child], slot)) break;
      this.place(index, this.slots[child]);
      index = child;
    }
    this.place(index, slot);
  }

  push(slot: number): void {
    this.place(this.size, slot);
    this.size++;
    this.siftUp(this.size - 1);
  }

  /** Slot with the earliest expiry, or NO_SLOT. */
  peek(): number {
    return this.size === 0 ? NO_SLOT : this.slots[0];
  }

  remove(slot: number): void {
    const index = this.orders.expiryIndex[slot];
    if (index === NO_SLOT) return;
    this.orders.expiryIndex[slot] = NO_SLOT;
    const last = --this.size;
    if (index === last) return;
    const moved = this.slots[last];
    this.place(index, moved);
    this.siftDown(index);
    this.siftUp(this.orders.expiryIndex[moved]);
  }
}
