/**
 * The status channel: an instrument's trading state. One message when it is added
 * (InstrumentAdded: previousState 0, reason 0), then one per InstrumentStateChanged.
 */
import { EventHeader, Events, unpackSymbol } from '../../core/schema';
import type { MessageSink, StatusMessage } from './messages';

export class StatusFeed {
  private readonly last: (StatusMessage | undefined)[] = [];

  constructor(private readonly emit: MessageSink) {}

  onInstrumentAdded(words: Float64Array, offset: number): void {
    const A = Events.InstrumentAdded.at;
    const instrument = words[offset + A.instrument];
    const symbol = unpackSymbol(words[offset + A.symbolHead], words[offset + A.symbolTail]);
    this.publish(instrument, symbol, words[offset + A.state], 0, 0, words[offset + EventHeader.timestamp]);
  }

  onStateChanged(words: Float64Array, offset: number): void {
    const A = Events.InstrumentStateChanged.at;
    const instrument = words[offset + A.instrument];
    this.publish(
      instrument, this.last[instrument]?.symbol ?? '', words[offset + A.state], words[offset + A.previousState], words[offset + A.reason],
      words[offset + EventHeader.timestamp],
    );
  }

  /** The last status message of an instrument (undefined before InstrumentAdded). */
  current(instrument: number): StatusMessage | undefined {
    return this.last[instrument];
  }

  private publish(instrument: number, symbol: string, state: number, previousState: number, reason: number, timestamp: number): void {
    const message: StatusMessage = {
      channel: 'status', type: 'status', instrument, sequence: (this.last[instrument]?.sequence ?? 0) + 1, timestamp, symbol, state,
      previousState, reason,
    };
    while (this.last.length < instrument) this.last.push(undefined);
    this.last[instrument] = message;
    this.emit(message);
  }
}
