/**
 * The order-level feed (ITCH-like): every change of the visible book as it
 * happens — add, execute, cancel, replace, delete — with a per-instrument sequence.
 *
 * It is the OrderBookView's listener, so messages come in exactly the order the
 * events imply: an aggressor's executions against resting orders first, then its
 * `add` when its remainder rests (at the end of its matching). Pending stops and
 * aggressors are invisible; market orders never appear.
 */
import { ALWAYS_WATCHED, MessageSink, OrderBookSnapshot, Watching } from './messages';
import type { BookListener, OrderBookView } from './order-book-view';
import { Side } from '../../core/codes';

export class OrderFeed implements BookListener {
  private readonly sequences: number[] = [];

  constructor(
    private readonly view: OrderBookView,
    private readonly emit: MessageSink,
    private readonly watching: Watching = ALWAYS_WATCHED,
  ) {}

  /** Last order-feed sequence of an instrument (0: nothing yet). */
  sequence(instrument: number): number {
    return this.sequences[instrument] ?? 0;
  }

  /**
   * Every resting order, with the sequence it is valid at. Only meaningful between
   * commands (the publisher checks this).
   */
  snapshot(instrument: number): OrderBookSnapshot {
    return {
      channel: 'orders', type: 'snapshot', instrument, sequence: this.sequence(instrument), timestamp: this.view.timestamp,
      bids: this.view.restingOrders(instrument, Side.Buy), asks: this.view.restingOrders(instrument, Side.Sell),
    };
  }

  private next(instrument: number): number {
    const sequence = (this.sequences[instrument] ?? 0) + 1;
    while (this.sequences.length < instrument) this.sequences.push(0);
    this.sequences[instrument] = sequence;
    return sequence;
  }

  orderAdded(instrument: number, orderId: number, side: number, price: number, quantity: number, timestamp: number): void {
    if (!this.watching(instrument)) return void this.next(instrument);
    this.emit({ channel: 'orders', type: 'add', instrument, sequence: this.next(instrument), timestamp, orderId, side, price, quantity });
  }

  orderExecuted(
    instrument: number, orderId: number, side: number, price: number, quantity: number, leaves: number, tradeId: number, timestamp: number,
  ): void {
    if (!this.watching(instrument)) return void this.next(instrument);
    this.emit({
      channel: 'orders', type: 'execute', instrument, sequence: this.next(instrument), timestamp, orderId, side, price, quantity, leaves, tradeId,
    });
  }

  orderCanceled(
    instrument: number, orderId: number, side: number, price: number, canceledQuantity: number, reason: number, timestamp: number,
  ): void {
    if (!this.watching(instrument)) return void this.next(instrument);
    this.emit({
      channel: 'orders', type: 'cancel', instrument, sequence: this.next(instrument), timestamp, orderId, side, price, canceledQuantity, reason,
    });
  }

  orderReplaced(
    instrument: number, orderId: number, side: number, oldPrice: number, oldQuantity: number, price: number, quantity: number,
    priorityKept: boolean, timestamp: number,
  ): void {
    if (!this.watching(instrument)) return void this.next(instrument);
    this.emit({
      channel: 'orders', type: 'replace', instrument, sequence: this.next(instrument), timestamp, orderId, side, oldPrice, oldQuantity, price,
      quantity, priorityKept,
    });
  }

  orderDeleted(instrument: number, orderId: number, side: number, price: number, timestamp: number): void {
    if (!this.watching(instrument)) return void this.next(instrument);
    this.emit({ channel: 'orders', type: 'delete', instrument, sequence: this.next(instrument), timestamp, orderId, side, price });
  }
}
