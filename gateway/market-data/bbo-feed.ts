/**
 * The BBO channel: best bid and best ask with their total quantities, published
 * after a command when any of the four values changed for an instrument (order
 * count changes alone do not publish). An empty side is price 0, quantity 0.
 */
import { Side } from '../../core/codes';
import type { BboMessage, MessageSink } from './messages';
import type { OrderBookView } from './order-book-view';

export class BboFeed {
  private readonly last: (BboMessage | undefined)[] = [];

  constructor(
    private readonly view: OrderBookView,
    private readonly emit: MessageSink,
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
      const last = this.last[instrument];
      if (last !== undefined) {
        if (last.bidPrice === bidPrice && last.bidQuantity === bidQuantity && last.askPrice === askPrice && last.askQuantity === askQuantity) continue;
      } else if (bidPrice === 0 && askPrice === 0) {
        continue; // still the initial empty book
      }
      const message: BboMessage = {
        channel: 'bbo', type: 'bbo', instrument, sequence: (last?.sequence ?? 0) + 1, timestamp, bidPrice, bidQuantity, askPrice, askQuantity,
      };
      while (this.last.length < instrument) this.last.push(undefined);
      this.last[instrument] = message;
      this.emit(message);
    }
  }

  /** The last published BBO (sequence 0 and an empty book before the first one). */
  current(instrument: number): BboMessage {
    return this.last[instrument] ?? {
      channel: 'bbo', type: 'bbo', instrument, sequence: 0, timestamp: 0, bidPrice: 0, bidQuantity: 0, askPrice: 0, askQuantity: 0,
    };
  }
}
