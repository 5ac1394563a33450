/**
 * Every instrument's book, rebuilt from the matcher's event records alone
 * (docs/matching.md gives the semantics this follows; docs/market-data.md).
 *
 * Orders are tracked from OrderAccepted to the event that ends them:
 *   - LIMIT and MARKET orders are the *aggressor* from OrderAccepted until the next
 *     order starts (OrderAccepted, StopTriggered, OrderReplaced) or the command ends
 *     (endCommand). Then a limit order with leaves > 0 that was not canceled rests at
 *     the back of its level; anything else is forgotten (a market order never rests).
 *   - STOP and STOP_LIMIT wait off-book until StopTriggered; then a stop-limit is an
 *     aggressor limit order at its limit price, a stop-market an aggressor market order.
 *   - Trade reduces the maker (removed at 0 leaves) and the taker.
 *   - OrderCanceled removes the order wherever it is.
 *   - OrderReplaced: priorityKept 1 resizes in place (or changes a pending stop's
 *     terms); priorityKept 0 takes the order off the book and makes it the aggressor
 *     with its new terms.
 *
 * Storage is struct-of-arrays pools (orders, levels) with free lists, grown by
 * doubling, plus a typed-array hash table from order id to slot (core/id-table):
 * in steady state applying an event allocates nothing. Each side of an instrument is a
 * ladder of levels sorted by key (price for bids, −price for asks), best at the end,
 * as in the engine.
 *
 * Changes to the visible book are reported, as they happen, to an optional
 * BookListener (the order-level feed) with primitive arguments; instruments whose
 * levels changed are collected in `dirty` for the per-command L2/BBO diff.
 */
import { OrderType, Side } from '../../core/codes';
import { IdTable } from '../../core/id-table';
import { EventHeader, Events, unpackSymbol } from '../../core/schema';
import type { L2Level, OrderEntry } from './messages';

const NONE = -1;

/** Order slot states. */
const FREE = 0;
const PENDING_STOP = 1;
const AGGRESSOR = 2;
const RESTING = 3;

/** Receives the changes of the visible (resting) book, in event order. */
export interface BookListener {
  /** An order starts resting (an aggressor's remainder, at the end of its matching). */
  orderAdded(instrument: number, orderId: number, side: number, price: number, quantity: number, timestamp: number): void;
  /** A resting order traded as maker. */
  orderExecuted(
    instrument: number, orderId: number, side: number, price: number, quantity: number, leaves: number, tradeId: number, timestamp: number,
  ): void;
  /** A visible order was canceled (it leaves the book). */
  orderCanceled(
    instrument: number, orderId: number, side: number, price: number, canceledQuantity: number, reason: number, timestamp: number,
  ): void;
  /** A visible order's terms changed; priorityKept false: it rested again at the back of `price` without trading. */
  orderReplaced(
    instrument: number, orderId: number, side: number, oldPrice: number, oldQuantity: number, price: number, quantity: number,
    priorityKept: boolean, timestamp: number,
  ): void;
  /** A visible order left the book without a cancel (a replace that lost priority, then traded on re-entry). */
  orderDeleted(instrument: number, orderId: number, side: number, price: number, timestamp: number): void;
}

export interface OrderView {
  readonly orderId: number;
  readonly instrument: number;
  readonly side: number;
  /** OrderType code; a triggered stop shows the type it entered as (LIMIT or MARKET). */
  readonly orderType: number;
  /** Limit price (0 for market and stop-market orders). */
  readonly price: number;
  readonly leaves: number;
  readonly status: 'pending-stop' | 'aggressor' | 'resting';
}

function grownF64(a: Float64Array, size: number): Float64Array {
  const b = new Float64Array(size);
  b.set(a);
  return b;
}
function grownI32(a: Int32Array, size: number): Int32Array {
  const b = new Int32Array(size);
  b.set(a);
  return b;
}
function grownU8(a: Uint8Array, size: number): Uint8Array {
  const b = new Uint8Array(size);
  b.set(a);
  return b;
}

/** One side of one instrument: level slots sorted by key ascending, the best level last. */
class Ladder {
  keys: Float64Array;
  slots: Int32Array;
  count = 0;

  constructor(readonly side: number, capacity = 16) {
    this.keys = new Float64Array(capacity);
    this.slots = new Int32Array(capacity);
  }

  key(price: number): number {
    return this.side === Side.Buy ? price : -price;
  }

  /** Index of price, or −(insertion point) − 1. */
  search(price: number): number {
    const key = this.key(price);
    let lo = 0;
    let hi = this.count - 1;
    const keys = this.keys;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = keys[mid];
      if (k < key) lo = mid + 1;
      else if (k > key) hi = mid - 1;
      else return mid;
    }
    return -lo - 1;
  }

  insertAt(index: number, price: number, slot: number): void {
    if (this.count === this.keys.length) {
      this.keys = grownF64(this.keys, this.count * 2);
      this.slots = grownI32(this.slots, this.count * 2);
    }
    this.keys.copyWithin(index + 1, index, this.count);
    this.slots.copyWithin(index + 1, index, this.count);
    this.keys[index] = this.key(price);
    this.slots[index] = slot;
    this.count++;
  }

  removeAt(index: number): void {
    this.keys.copyWithin(index, index + 1, this.count);
    this.slots.copyWithin(index, index + 1, this.count);
    this.count--;
  }
}

class InstrumentBook {
  readonly bids = new Ladder(Side.Buy);
  readonly asks = new Ladder(Side.Sell);
  state = 0;
  symbol = '';
  tickSize = 0;
  lotSize = 0;
  dirty = false;
  constructor(readonly instrument: number) {}
  ladder(side: number): Ladder {
    return side === Side.Buy ? this.bids : this.asks;
  }
}

export class OrderBookView {
  listener: BookListener | null = null;

  // ---- orders (struct of arrays)
  private orderCapacity: number;
  private oId: Float64Array;
  private oInstrument: Int32Array;
  private oSide: Uint8Array;
  private oType: Uint8Array;
  private oState: Uint8Array;
  private oPrice: Float64Array;
  private oLeaves: Float64Array;
  private oLevel: Int32Array;
  private oPrev: Int32Array;
  private oNext: Int32Array;
  /** 1 while an aggressor is a visible order that a replace took off the book and nothing was published yet. */
  private oReplaced: Uint8Array;
  private oOldPrice: Float64Array;
  private oOldLeaves: Float64Array;
  private orderFree = NONE;
  private orderUsed = 0;
  /** order id -> slot (the engine's typed-array hash table, rebuilt twice as large when full). */
  private index: IdTable;

  // ---- levels (struct of arrays)
  private levelCapacity: number;
  private lPrice: Float64Array;
  private lQuantity: Float64Array;
  private lCount: Int32Array;
  private lHead: Int32Array;
  private lTail: Int32Array;
  private levelFree = NONE;
  private levelUsed = 0;

  private readonly books: (InstrumentBook | undefined)[] = [];
  private aggressor = NONE;
  /** Timestamp (µs) of the last event applied. */
  timestamp = 0;

  /** Instruments whose levels changed since clearDirty(), in first-change order. */
  dirty: Int32Array = new Int32Array(16);
  dirtyCount = 0;

  constructor(options: { initialOrders?: number; initialLevels?: number } = {}) {
    const n = Math.max(16, options.initialOrders ?? 1024);
    this.orderCapacity = n;
    this.oId = new Float64Array(n);
    this.oInstrument = new Int32Array(n);
    this.oSide = new Uint8Array(n);
    this.oType = new Uint8Array(n);
    this.oState = new Uint8Array(n);
    this.oPrice = new Float64Array(n);
    this.oLeaves = new Float64Array(n);
    this.oLevel = new Int32Array(n);
    this.oPrev = new Int32Array(n);
    this.oNext = new Int32Array(n);
    this.oReplaced = new Uint8Array(n);
    this.oOldPrice = new Float64Array(n);
    this.oOldLeaves = new Float64Array(n);
    this.index = new IdTable(n);
    const m = Math.max(16, options.initialLevels ?? 256);
    this.levelCapacity = m;
    this.lPrice = new Float64Array(m);
    this.lQuantity = new Float64Array(m);
    this.lCount = new Int32Array(m);
    this.lHead = new Int32Array(m);
    this.lTail = new Int32Array(m);
  }

  // ------------------------------------------------------------------ input

  /**
   * Applies one event record (16 words at offset). Events that do not touch books
   * are ignored; so are references to orders it never saw (a view started mid-stream).
   */
  apply(words: Float64Array, offset: number): void {
    const code = words[offset + EventHeader.type];
    this.timestamp = words[offset + EventHeader.timestamp];
    switch (code) {
      case Events.OrderAccepted.code: return this.accepted(words, offset);
      case Events.Trade.code: return this.trade(words, offset);
      case Events.OrderCanceled.code: return this.canceled(words, offset);
      case Events.OrderReplaced.code: return this.replaced(words, offset);
      case Events.StopTriggered.code: return this.stopTriggered(words[offset + Events.StopTriggered.at.orderId]);
      case Events.InstrumentAdded.code: return this.instrumentAdded(words, offset);
      case Events.InstrumentStateChanged.code: {
        const A = Events.InstrumentStateChanged.at;
        this.book(words[offset + A.instrument]).state = words[offset + A.state];
        return;
      }
      default: return;
    }
  }

  /** The command is complete: the last aggressor rests if it may. */
  endCommand(): void {
    this.finishAggressor();
  }

  clearDirty(): void {
    for (let i = 0; i < this.dirtyCount; i++) {
      const book = this.books[this.dirty[i]];
      if (book !== undefined) book.dirty = false;
    }
    this.dirtyCount = 0;
  }

  // ------------------------------------------------------------------ queries

  hasInstrument(instrument: number): boolean {
    return this.books[instrument] !== undefined;
  }

  /** Known instrument ids, ascending. */
  instruments(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.books.length; i++) if (this.books[i] !== undefined) out.push(i);
    return out;
  }

  state(instrument: number): number {
    return this.books[instrument]?.state ?? 0;
  }

  symbol(instrument: number): string {
    return this.books[instrument]?.symbol ?? '';
  }

  /** Live orders (resting, pending stops and the current aggressor). */
  get orderCount(): number {
    return this.index.size;
  }

  /** Number of price levels on a side. */
  levelCount(instrument: number, side: number): number {
    return this.books[instrument]?.ladder(side).count ?? 0;
  }

  /**
   * Copies the best `max` levels of a side, best first, into the arrays (no
   * allocation); returns how many were written.
   */
  readLevels(instrument: number, side: number, max: number, prices: Float64Array, quantities: Float64Array, counts: Float64Array): number {
    const book = this.books[instrument];
    if (book === undefined) return 0;
    const ladder = book.ladder(side);
    const n = Math.min(max, ladder.count);
    for (let i = 0; i < n; i++) {
      const level = ladder.slots[ladder.count - 1 - i];
      prices[i] = this.lPrice[level];
      quantities[i] = this.lQuantity[level];
      counts[i] = this.lCount[level];
    }
    return n;
  }

  /** Best price / its total quantity on a side (0 when the side is empty). */
  bestPrice(instrument: number, side: number): number {
    const ladder = this.books[instrument]?.ladder(side);
    return ladder === undefined || ladder.count === 0 ? 0 : this.lPrice[ladder.slots[ladder.count - 1]];
  }

  bestQuantity(instrument: number, side: number): number {
    const ladder = this.books[instrument]?.ladder(side);
    return ladder === undefined || ladder.count === 0 ? 0 : this.lQuantity[ladder.slots[ladder.count - 1]];
  }

  /** L2 levels of a side, best first (allocates: snapshots, tests). */
  levels(instrument: number, side: number, depth = Infinity): L2Level[] {
    const out: L2Level[] = [];
    const ladder = this.books[instrument]?.ladder(side);
    if (ladder === undefined) return out;
    for (let i = ladder.count - 1; i >= 0 && out.length < depth; i--) {
      const level = ladder.slots[i];
      out.push({ price: this.lPrice[level], quantity: this.lQuantity[level], count: this.lCount[level] });
    }
    return out;
  }

  /** Resting orders of a side: best price first, time priority within a price (allocates). */
  restingOrders(instrument: number, side: number): OrderEntry[] {
    const out: OrderEntry[] = [];
    const ladder = this.books[instrument]?.ladder(side);
    if (ladder === undefined) return out;
    for (let i = ladder.count - 1; i >= 0; i--) {
      for (let s = this.lHead[ladder.slots[i]]; s !== NONE; s = this.oNext[s]) {
        out.push({ orderId: this.oId[s], price: this.oPrice[s], quantity: this.oLeaves[s] });
      }
    }
    return out;
  }

  /** The live order with that id, or undefined. */
  order(orderId: number): OrderView | undefined {
    const s = this.slotOf(orderId);
    if (s === NONE) return undefined;
    const state = this.oState[s];
    return {
      orderId, instrument: this.oInstrument[s], side: this.oSide[s], orderType: this.oType[s], price: this.oPrice[s],
      leaves: this.oLeaves[s], status: state === PENDING_STOP ? 'pending-stop' : state === AGGRESSOR ? 'aggressor' : 'resting',
    };
  }

  // ------------------------------------------------------------------ events

  private instrumentAdded(words: Float64Array, offset: number): void {
    const A = Events.InstrumentAdded.at;
    const book = this.book(words[offset + A.instrument]);
    book.state = words[offset + A.state];
    book.symbol = unpackSymbol(words[offset + A.symbolHead], words[offset + A.symbolTail]);
    book.tickSize = words[offset + A.tickSize];
    book.lotSize = words[offset + A.lotSize];
  }

  private accepted(words: Float64Array, offset: number): void {
    this.finishAggressor();
    const A = Events.OrderAccepted.at;
    const orderId = words[offset + A.orderId];
    if (!(orderId >= 1) || this.index.has(orderId)) return;
    const instrument = words[offset + A.instrument];
    this.book(instrument);
    const type = words[offset + A.orderType];
    const s = this.allocOrder(orderId);
    this.oInstrument[s] = instrument;
    this.oSide[s] = words[offset + A.side];
    this.oType[s] = type;
    this.oPrice[s] = words[offset + A.price];
    this.oLeaves[s] = words[offset + A.quantity];
    if (type === OrderType.Stop || type === OrderType.StopLimit) {
      this.oState[s] = PENDING_STOP;
    } else {
      this.oState[s] = AGGRESSOR;
      this.aggressor = s;
    }
  }

  private stopTriggered(orderId: number): void {
    this.finishAggressor();
    const s = this.slotOf(orderId);
    if (s === NONE || this.oState[s] !== PENDING_STOP) return;
    this.oType[s] = this.oType[s] === OrderType.StopLimit ? OrderType.Limit : OrderType.Market;
    this.oState[s] = AGGRESSOR;
    this.aggressor = s;
  }

  private trade(words: Float64Array, offset: number): void {
    const A = Events.Trade.at;
    const price = words[offset + A.price];
    const quantity = words[offset + A.quantity];
    const taker = this.slotOf(words[offset + A.takerOrderId]);
    if (taker !== NONE) {
      if (taker !== this.aggressor) {
        this.finishAggressor();
        if (this.oState[taker] === AGGRESSOR) this.aggressor = taker;
      }
      if (this.oReplaced[taker] === 1) {
        // The replaced order left its old place and trades: publish its removal before the fills.
        this.oReplaced[taker] = 0;
        this.listener?.orderDeleted(this.oInstrument[taker], this.oId[taker], this.oSide[taker], this.oOldPrice[taker], this.timestamp);
      }
      this.oLeaves[taker] = words[offset + A.takerLeaves];
    }
    const maker = this.slotOf(words[offset + A.makerOrderId]);
    if (maker === NONE || this.oState[maker] !== RESTING) return;
    const leaves = words[offset + A.makerLeaves];
    const level = this.oLevel[maker];
    this.lQuantity[level] -= this.oLeaves[maker] - leaves;
    this.oLeaves[maker] = leaves;
    this.markDirty(this.oInstrument[maker]);
    this.listener?.orderExecuted(
      this.oInstrument[maker], this.oId[maker], this.oSide[maker], price, quantity, leaves, words[offset + EventHeader.sequence], this.timestamp,
    );
    if (leaves <= 0) {
      this.unlink(maker);
      this.freeOrder(maker);
    }
  }

  private canceled(words: Float64Array, offset: number): void {
    const A = Events.OrderCanceled.at;
    const s = this.slotOf(words[offset + A.orderId]);
    if (s === NONE) return;
    const state = this.oState[s];
    if (state === RESTING) {
      this.unlink(s);
      this.listener?.orderCanceled(
        this.oInstrument[s], this.oId[s], this.oSide[s], this.oPrice[s], words[offset + A.canceledQuantity], words[offset + A.reason], this.timestamp,
      );
    } else if (state === AGGRESSOR && this.oReplaced[s] === 1) {
      // Still visible to order-level subscribers at its old place.
      this.listener?.orderCanceled(
        this.oInstrument[s], this.oId[s], this.oSide[s], this.oOldPrice[s], words[offset + A.canceledQuantity], words[offset + A.reason], this.timestamp,
      );
    }
    if (s === this.aggressor) this.aggressor = NONE;
    this.freeOrder(s);
  }

  private replaced(words: Float64Array, offset: number): void {
    const A = Events.OrderReplaced.at;
    const s = this.slotOf(words[offset + A.orderId]);
    if (s !== this.aggressor) this.finishAggressor();
    if (s === NONE) return;
    const price = words[offset + A.price];
    const leaves = words[offset + A.leavesQuantity];
    const state = this.oState[s];
    if (state !== RESTING) {
      // A pending stop changes its terms in place (an aggressor cannot be replaced; tolerated the same way).
      this.oPrice[s] = price;
      this.oLeaves[s] = leaves;
      return;
    }
    const oldPrice = this.oPrice[s];
    const oldLeaves = this.oLeaves[s];
    if (words[offset + A.priorityKept] === 1 && price === oldPrice) {
      this.lQuantity[this.oLevel[s]] += leaves - oldLeaves;
      this.oLeaves[s] = leaves;
      this.markDirty(this.oInstrument[s]);
      this.listener?.orderReplaced(this.oInstrument[s], this.oId[s], this.oSide[s], oldPrice, oldLeaves, price, leaves, true, this.timestamp);
      return;
    }
    // Loses priority: off the book, and the aggressor with its new terms.
    this.unlink(s);
    this.oPrice[s] = price;
    this.oLeaves[s] = leaves;
    this.oState[s] = AGGRESSOR;
    this.oReplaced[s] = 1;
    this.oOldPrice[s] = oldPrice;
    this.oOldLeaves[s] = oldLeaves;
    this.aggressor = s;
  }

  /** The current aggressor is done: a limit order with leaves rests at the back of its level. */
  private finishAggressor(): void {
    const s = this.aggressor;
    if (s === NONE) return;
    this.aggressor = NONE;
    if (this.oState[s] !== AGGRESSOR) return;
    const instrument = this.oInstrument[s];
    if (this.oType[s] === OrderType.Limit && this.oLeaves[s] > 0) {
      this.rest(s);
      if (this.oReplaced[s] === 1) {
        this.oReplaced[s] = 0;
        this.listener?.orderReplaced(
          instrument, this.oId[s], this.oSide[s], this.oOldPrice[s], this.oOldLeaves[s], this.oPrice[s], this.oLeaves[s], false, this.timestamp,
        );
      } else {
        this.listener?.orderAdded(instrument, this.oId[s], this.oSide[s], this.oPrice[s], this.oLeaves[s], this.timestamp);
      }
      return;
    }
    if (this.oReplaced[s] === 1) this.listener?.orderDeleted(instrument, this.oId[s], this.oSide[s], this.oOldPrice[s], this.timestamp);
    this.freeOrder(s);
  }

  // ------------------------------------------------------------------ book structure

  private book(instrument: number): InstrumentBook {
    let book = this.books[instrument];
    if (book === undefined) {
      book = new InstrumentBook(instrument);
      while (this.books.length < instrument) this.books.push(undefined);
      this.books[instrument] = book;
    }
    return book;
  }

  private markDirty(instrument: number): void {
    const book = this.books[instrument]!;
    if (book.dirty) return;
    book.dirty = true;
    if (this.dirtyCount === this.dirty.length) this.dirty = grownI32(this.dirty, this.dirty.length * 2);
    this.dirty[this.dirtyCount++] = instrument;
  }

  /** Appends an order at the back of its price level (created if needed). */
  private rest(s: number): void {
    const instrument = this.oInstrument[s];
    const ladder = this.book(instrument).ladder(this.oSide[s]);
    const price = this.oPrice[s];
    let at = ladder.search(price);
    let level: number;
    if (at >= 0) {
      level = ladder.slots[at];
    } else {
      level = this.allocLevel(price);
      at = -at - 1;
      ladder.insertAt(at, price, level);
    }
    const tail = this.lTail[level];
    this.oPrev[s] = tail;
    this.oNext[s] = NONE;
    if (tail === NONE) this.lHead[level] = s;
    else this.oNext[tail] = s;
    this.lTail[level] = s;
    this.lCount[level]++;
    this.lQuantity[level] += this.oLeaves[s];
    this.oLevel[s] = level;
    this.oState[s] = RESTING;
    this.markDirty(instrument);
  }

  /** Takes a resting order out of its level (removing the level when it empties). */
  private unlink(s: number): void {
    const level = this.oLevel[s];
    const prev = this.oPrev[s];
    const next = this.oNext[s];
    if (prev === NONE) this.lHead[level] = next;
    else this.oNext[prev] = next;
    if (next === NONE) this.lTail[level] = prev;
    else this.oPrev[next] = prev;
    this.lQuantity[level] -= this.oLeaves[s];
    this.lCount[level]--;
    this.oLevel[s] = NONE;
    this.oState[s] = AGGRESSOR; // off the book; callers set the final state
    const instrument = this.oInstrument[s];
    this.markDirty(instrument);
    if (this.lCount[level] === 0) {
      const ladder = this.books[instrument]!.ladder(this.oSide[s]);
      const at = ladder.search(this.lPrice[level]);
      if (at >= 0) ladder.removeAt(at);
      this.freeLevel(level);
    }
  }

  private slotOf(orderId: number): number {
    return orderId >= 1 ? this.index.get(orderId) : NONE;
  }

  private allocOrder(orderId: number): number {
    let s = this.orderFree;
    if (s !== NONE) {
      this.orderFree = this.oNext[s];
    } else {
      if (this.orderUsed === this.orderCapacity) this.growOrders();
      s = this.orderUsed++;
    }
    this.oId[s] = orderId;
    this.oLevel[s] = NONE;
    this.oPrev[s] = NONE;
    this.oNext[s] = NONE;
    this.oReplaced[s] = 0;
    if (!this.index.set(orderId, s)) {
      const bigger = new IdTable(this.index.capacity * 2);
      const keys = this.index.keys;
      const values = this.index.values;
      for (let i = 0; i < keys.length; i++) if (keys[i] !== 0) bigger.set(keys[i], values[i]);
      bigger.set(orderId, s);
      this.index = bigger;
    }
    return s;
  }

  private freeOrder(s: number): void {
    this.index.delete(this.oId[s]);
    this.oState[s] = FREE;
    this.oReplaced[s] = 0;
    this.oNext[s] = this.orderFree;
    this.orderFree = s;
  }

  private growOrders(): void {
    const n = this.orderCapacity * 2;
    this.oId = grownF64(this.oId, n);
    this.oInstrument = grownI32(this.oInstrument, n);
    this.oSide = grownU8(this.oSide, n);
    this.oType = grownU8(this.oType, n);
    this.oState = grownU8(this.oState, n);
    this.oPrice = grownF64(this.oPrice, n);
    this.oLeaves = grownF64(this.oLeaves, n);
    this.oLevel = grownI32(this.oLevel, n);
    this.oPrev = grownI32(this.oPrev, n);
    this.oNext = grownI32(this.oNext, n);
    this.oReplaced = grownU8(this.oReplaced, n);
    this.oOldPrice = grownF64(this.oOldPrice, n);
    this.oOldLeaves = grownF64(this.oOldLeaves, n);
    this.orderCapacity = n;
  }

  private allocLevel(price: number): number {
    let level = this.levelFree;
    if (level !== NONE) {
      this.levelFree = this.lHead[level];
    } else {
      if (this.levelUsed === this.levelCapacity) this.growLevels();
      level = this.levelUsed++;
    }
    this.lPrice[level] = price;
    this.lQuantity[level] = 0;
    this.lCount[level] = 0;
    this.lHead[level] = NONE;
    this.lTail[level] = NONE;
    return level;
  }

  private freeLevel(level: number): void {
    this.lHead[level] = this.levelFree;
    this.levelFree = level;
  }

  private growLevels(): void {
    const n = this.levelCapacity * 2;
    this.lPrice = grownF64(this.lPrice, n);
    this.lQuantity = grownF64(this.lQuantity, n);
    this.lCount = grownI32(this.lCount, n);
    this.lHead = grownI32(this.lHead, n);
    this.lTail = grownI32(this.lTail, n);
    this.levelCapacity = n;
  }
}
