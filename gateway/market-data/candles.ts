/**
 * OHLCV candles from Trade events, per instrument and interval (1s, 1m, 1h by
 * default), on the event timestamps (microseconds).
 *
 * A candle covers [start, start + interval) with start a multiple of the interval
 * (epoch-aligned). It is emitted when it closes: at the first trade whose timestamp
 * is at or after its end, or at flush(time) with time at or after its end. Intervals
 * without trades produce no candle. A trade stamped before the open candle's start
 * (command timestamps are not required to be monotonic) is counted in the open candle.
 */
import type { CandleMessage, MessageSink } from './messages';

export const SECOND_MICROS = 1_000_000;
export const MINUTE_MICROS = 60 * SECOND_MICROS;
export const HOUR_MICROS = 60 * MINUTE_MICROS;
export const CANDLE_INTERVALS_DEFAULT: readonly number[] = [SECOND_MICROS, MINUTE_MICROS, HOUR_MICROS];

export function intervalName(micros: number): string {
  if (micros % HOUR_MICROS === 0) return `${micros / HOUR_MICROS}h`;
  if (micros % MINUTE_MICROS === 0) return `${micros / MINUTE_MICROS}m`;
  if (micros % SECOND_MICROS === 0) return `${micros / SECOND_MICROS}s`;
  return `${micros}us`;
}

/** One candle's values (times in µs), as read from or restored into a builder. */
export interface CandleValues {
  start: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  notional: number;
  trades: number;
}

/** Open candles of one instrument, one slot per interval; start NaN = no open candle. */
class OpenCandles {
  readonly start: Float64Array;
  readonly open: Float64Array;
  readonly high: Float64Array;
  readonly low: Float64Array;
  readonly close: Float64Array;
  readonly volume: Float64Array;
  readonly notional: Float64Array;
  readonly trades: Float64Array;
  sequence = 0;
  constructor(n: number) {
    this.start = new Float64Array(n).fill(NaN);
    this.open = new Float64Array(n);
    this.high = new Float64Array(n);
    this.low = new Float64Array(n);
    this.close = new Float64Array(n);
    this.volume = new Float64Array(n);
    this.notional = new Float64Array(n);
    this.trades = new Float64Array(n);
  }
}

export class CandleBuilder {
  readonly intervals: readonly number[];
  private readonly names: readonly string[];
  private readonly books: (OpenCandles | undefined)[] = [];

  constructor(
    private readonly emit: MessageSink,
    intervals: readonly number[] = CANDLE_INTERVALS_DEFAULT,
  ) {
    for (const i of intervals) if (!Number.isSafeInteger(i) || i <= 0) throw new RangeError(`candle interval must be a positive integer of microseconds, got ${i}`);
    this.intervals = [...intervals].sort((a, b) => a - b);
    this.names = this.intervals.map(intervalName);
  }

  /** Last candles sequence of an instrument (0: nothing yet). */
  sequence(instrument: number): number {
    return this.books[instrument]?.sequence ?? 0;
  }

  onTrade(instrument: number, price: number, quantity: number, timestamp: number): void {
    const c = this.candles(instrument);
    for (let k = 0; k < this.intervals.length; k++) {
      const length = this.intervals[k];
      if (!Number.isNaN(c.start[k]) && timestamp >= c.start[k] + length) this.close(instrument, c, k, timestamp);
      if (Number.isNaN(c.start[k])) {
        c.start[k] = Math.floor(timestamp / length) * length;
        c.open[k] = price;
        c.high[k] = price;
        c.low[k] = price;
        c.close[k] = price;
        c.volume[k] = quantity;
        c.notional[k] = price * quantity;
        c.trades[k] = 1;
      } else {
        if (price > c.high[k]) c.high[k] = price;
        if (price < c.low[k]) c.low[k] = price;
        c.close[k] = price;
        c.volume[k] += quantity;
        c.notional[k] += price * quantity;
        c.trades[k]++;
      }
    }
  }

  /** Closes (emits) every open candle whose end is at or before `time` (µs). */
  flush(time: number): void {
    for (let instrument = 0; instrument < this.books.length; instrument++) {
      const c = this.books[instrument];
      if (c === undefined) continue;
      for (let k = 0; k < this.intervals.length; k++) {
        if (!Number.isNaN(c.start[k]) && time >= c.start[k] + this.intervals[k]) this.close(instrument, c, k, time);
      }
    }
  }

  /** The candle still open for `instrument` and `intervalMicros` (undefined: none open). */
  openCandle(instrument: number, intervalMicros: number): CandleValues | undefined {
    const k = this.intervals.indexOf(intervalMicros);
    const c = this.books[instrument];
    if (k < 0 || c === undefined || Number.isNaN(c.start[k])) return undefined;
    return { start: c.start[k], open: c.open[k], high: c.high[k], low: c.low[k], close: c.close[k], volume: c.volume[k], notional: c.notional[k], trades: c.trades[k] };
  }

  /**
   * Re-opens a candle kept elsewhere, so a read model that stores its open candles
   * (the broker's chart) resumes after a restart exactly where it stopped.
   */
  restoreOpen(instrument: number, intervalMicros: number, candle: CandleValues): void {
    const k = this.intervals.indexOf(intervalMicros);
    if (k < 0) throw new RangeError(`no candle interval of ${intervalMicros} µs`);
    if (candle.start % intervalMicros !== 0) throw new RangeError(`candle start ${candle.start} is not a multiple of ${intervalMicros}`);
    const c = this.candles(instrument);
    c.start[k] = candle.start;
    c.open[k] = candle.open;
    c.high[k] = candle.high;
    c.low[k] = candle.low;
    c.close[k] = candle.close;
    c.volume[k] = candle.volume;
    c.notional[k] = candle.notional;
    c.trades[k] = candle.trades;
  }

  private candles(instrument: number): OpenCandles {
    let c = this.books[instrument];
    if (c === undefined) {
      c = new OpenCandles(this.intervals.length);
      while (this.books.length < instrument) this.books.push(undefined);
      this.books[instrument] = c;
    }
    return c;
  }

  private close(instrument: number, c: OpenCandles, k: number, timestamp: number): void {
    const length = this.intervals[k];
    const message: CandleMessage = {
      channel: 'candles', type: 'candle', instrument, sequence: ++c.sequence, timestamp, interval: this.names[k], intervalMicros: length,
      start: c.start[k], end: c.start[k] + length, open: c.open[k], high: c.high[k], low: c.low[k], close: c.close[k], volume: c.volume[k],
      notional: c.notional[k], trades: c.trades[k],
    };
    c.start[k] = NaN;
    this.emit(message);
  }
}
