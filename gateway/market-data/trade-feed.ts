/**
 * The trades channel: one message per Trade event, in event order, with a
 * per-instrument sequence. The trade id is the Trade event's global sequence number.
 */
import { EventHeader, Events } from '../../core/schema';
import { ALWAYS_WATCHED, MessageSink, Watching } from './messages';

export class TradeFeed {
  private readonly sequences: number[] = [];

  constructor(private readonly emit: MessageSink, private readonly watching: Watching = ALWAYS_WATCHED) {}

  /** Last trades sequence of an instrument (0: nothing yet). */
  sequence(instrument: number): number {
    return this.sequences[instrument] ?? 0;
  }

  /** A Trade event record at offset. */
  onTrade(words: Float64Array, offset: number): void {
    const A = Events.Trade.at;
    const instrument = words[offset + A.instrument];
    const sequence = (this.sequences[instrument] ?? 0) + 1;
    while (this.sequences.length < instrument) this.sequences.push(0);
    this.sequences[instrument] = sequence;
    if (!this.watching(instrument)) return;
    this.emit({
      channel: 'trades', type: 'trade', instrument, sequence, timestamp: words[offset + EventHeader.timestamp],
      tradeId: words[offset + EventHeader.sequence], price: words[offset + A.price], quantity: words[offset + A.quantity],
      aggressorSide: words[offset + A.aggressorSide], makerOrderId: words[offset + A.makerOrderId], takerOrderId: words[offset + A.takerOrderId],
    });
  }
}
