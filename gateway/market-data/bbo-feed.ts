/**
 * The BBO channel: best bid and best ask with their total quantities, published
 * after a command when any of the four values changed for an instrument (order
 * count changes alone do not publish). An empty side is price 0, quantity 0.
 *
 * The last published values are kept as numbers per instrument; a message object is
 * built only for a watched instrument or when current() is asked (a subscription's
 * snapshot), so an unwatched book costs four comparisons per command.
 */
import { Side } from '../../core/codes';
import { ALWAYS_WATCHED, BboMessage, MessageSink, Watching } from './messages';
import type { OrderBookView } from './order-book-view';

/** Numbers kept per instrument, in this order. */
const SEQUENCE = 0;
const TIMESTAMP = 1;
const BID_PRICE = 2;
const BID_QUANTITY = 3;
const ASK_PRICE = 4;
const ASK_QUANTITY = 5;
const FIELDS = 6;

export class BboFeed {
  /** FIELDS numbers per instrument (all 0: nothing published yet). */
  private last = new Float64Array(0);

  constructor(
    private readonly view: OrderBookView,
    private readonly emit: MessageSink,
    private readonly watching: Watching = ALWAYS_WATCHED,
  ) {}

  /** Publishes the instruments whose best levels changed in this command. */
  endCommand(timestamp: number): void {
    const view = this.view;
    for (let i = 0; i < view.dirtyCount; i++) {
      const instrument = view.dirty[i];
      const bidPrice = view.bestPrice(instrument, Side.Buy);
      const bidQuantity = view.bestQuantity(instrument, Side.Buy);
      const askPrice = view.bestPrice(instrument, Side.Sell);
      const askQuantity = view.bestQuantity(instrument, Side.Sell);
      if (instrument * FIELDS >= this.last.length) this.grow(instrument);
      const last = this.last;
      const at = instrument * FIELDS;
      // Unchanged, or still the initial empty book (never published: sequence 0, all zero).
      if (last[at + BID_PRICE] === bidPrice && last[at + BID_QUANTITY] === bidQuantity
        && last[at + ASK_PRICE] === askPrice && last[at + ASK_QUANTITY] === askQuantity) continue;
      last[at + SEQUENCE]++;
      last[at + TIMESTAMP] = timestamp;
      last[at + BID_PRICE] = bidPrice;
      last[at + BID_QUANTITY] = bidQuantity;
      last[at + ASK_PRICE] = askPrice;
      last[at + ASK_QUANTITY] = askQuantity;
      if (this.watching(instrument)) this.emit(this.current(instrument));
    }
  }

  /** The last published BBO (sequence 0 and an empty book before the first one). */
  current(instrument: number): BboMessage {
    const at = instrument * FIELDS;
    if (at >= this.last.length) {
      return { channel: 'bbo', type: 'bbo', instrument, sequence: 0, timestamp: 0, bidPrice: 0, bidQuantity: 0, askPrice: 0, askQuantity: 0 };
    }
    const last = this.last;
    return {
      channel: 'bbo', type: 'bbo', instrument, sequence: last[at + SEQUENCE], timestamp: last[at + TIMESTAMP],
      bidPrice: last[at + BID_PRICE], bidQuantity: last[at + BID_QUANTITY], askPrice: last[at + ASK_PRICE], askQuantity: last[at + ASK_QUANTITY],
    };
  }

  /** Room for `instrument` (instrument ids are small: the core's instrument table bounds them). */
  private grow(instrument: number): void {
    const grown = new Float64Array(Math.max(2 * this.last.length, (instrument + 1) * FIELDS));
    grown.set(this.last);
    this.last = grown;
  }
}
