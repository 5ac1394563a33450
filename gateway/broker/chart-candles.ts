/**
 * Chart candles for the web terminal: OHLCV per instrument and interval (1s, 1m, 1h).
 *
 * They are built by the market-data `CandleBuilder` — the code of the market-data
 * `candles` channel — from the same Trade events on their timestamps, as the broker
 * applies them (outbound ring, or the journal at catch-up), and ClockAdvanced closes
 * due candles; so a closed candle here equals the channel's. Unlike the channel
 * (which sends a candle when it closes and keeps no history), the broker keeps the
 * candles in broker.db — the closed ones and the open one, written in the transaction
 * of the events that changed them — so the chart gets history on subscribe, sees the
 * open candle move, and a restart resumes where it stopped.
 *
 * Limits: at most `kept` candles per (instrument, interval) in broker.db (older ones
 * are deleted when a candle closes); at most CLOSED_PER_PUSH closed candles waiting
 * per series between two live pushes (older ones are dropped from the push, not from
 * broker.db: a client that resubscribes gets them).
 */
import { CANDLE_INTERVALS_DEFAULT, CandleBuilder, CandleValues, intervalName } from '../market-data/candles';
import type { CandleMessage, MarketDataMessage } from '../market-data/messages';
import type { BrokerStore, CandleRow } from './store';

/** Closed candles kept per series for the next live push (a push is every 250 ms; a 1 s series closes ~1 per push). */
export const CLOSED_PER_PUSH = 16;

/** One candle as the API and the WebSocket send it: `time` is the start, epoch milliseconds. */
export interface CandleView {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  trades: number;
  closed: boolean;
}

/** Candles of one series changed since the last push: closed ones (oldest first), then the open one. */
export interface CandleUpdate {
  instrument: number;
  intervalMicros: number;
  candles: CandleView[];
}

interface Pending {
  instrument: number;
  intervalMicros: number;
  closed: CandleView[];
  openChanged: boolean;
}

function view(c: CandleValues, closed: boolean): CandleView {
  return { time: c.start / 1000, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume, trades: c.trades, closed };
}

export class ChartCandles {
  readonly intervals: readonly number[];
  private readonly byName = new Map<string, number>();
  private readonly builder: CandleBuilder;
  /** Series whose open candle changed since the last `persist` (key instrument * 2^8 + interval index). */
  private readonly dirty = new Map<number, { instrument: number; intervalMicros: number }>();
  /** Series changed since the last `takeUpdates`. */
  private pending = new Map<number, Pending>();

  constructor(private readonly store: BrokerStore, readonly kept: number, intervals: readonly number[] = CANDLE_INTERVALS_DEFAULT) {
    if (!Number.isSafeInteger(kept) || kept < 1) throw new RangeError(`candlesKept must be a positive integer, got ${kept}`);
    if (intervals.length > 255) throw new RangeError('at most 255 candle intervals');
    this.builder = new CandleBuilder((m) => this.onClosed(m), intervals);
    this.intervals = this.builder.intervals;
    for (const i of this.intervals) this.byName.set(intervalName(i), i);
    for (const row of store.openCandles()) {
      if (this.intervals.includes(row.interval_us)) this.builder.restoreOpen(row.instrument, row.interval_us, { ...row, start: row.start_us });
    }
  }

  /** Interval length (µs) for a name such as `1m`; undefined if the broker keeps no such series. */
  interval(name: unknown): number | undefined {
    return typeof name === 'string' ? this.byName.get(name) : undefined;
  }

  get intervalNames(): string[] {
    return [...this.byName.keys()];
  }

  onTrade(instrument: number, price: number, quantity: number, timestampMicros: number): void {
    this.builder.onTrade(instrument, price, quantity, timestampMicros);
    for (let k = 0; k < this.intervals.length; k++) {
      const key = instrument * 256 + k;
      if (!this.dirty.has(key)) this.dirty.set(key, { instrument, intervalMicros: this.intervals[k] });
      this.pendingOf(instrument, this.intervals[k], k).openChanged = true;
    }
  }

  /** Time passed (ClockAdvanced): candles whose end is at or before it close. */
  onClock(timestampMicros: number): void {
    this.builder.flush(timestampMicros);
  }

  /** Writes the open candles changed since the last call; call inside the transaction of the events applied. */
  persist(): void {
    for (const { instrument, intervalMicros } of this.dirty.values()) {
      const open = this.builder.openCandle(instrument, intervalMicros);
      if (open !== undefined) this.store.putCandle(row(instrument, intervalMicros, open, 0));
    }
    this.dirty.clear();
  }

  /** What changed since the last call, per series: for the live push. */
  takeUpdates(): CandleUpdate[] {
    if (this.pending.size === 0) return [];
    const updates: CandleUpdate[] = [];
    for (const p of this.pending.values()) {
      const candles = [...p.closed];
      const open = p.openChanged ? this.builder.openCandle(p.instrument, p.intervalMicros) : undefined;
      if (open !== undefined) candles.push(view(open, false));
      if (candles.length > 0) updates.push({ instrument: p.instrument, intervalMicros: p.intervalMicros, candles });
    }
    this.pending = new Map();
    return updates;
  }

  /** The newest `limit` candles of a series, oldest first; the last may be open. */
  history(instrument: number, intervalMicros: number, limit: number): CandleView[] {
    return this.store.candles(instrument, intervalMicros, Math.min(limit, this.kept)).map((r) => view({ ...r, start: r.start_us }, r.closed === 1));
  }

  private onClosed(message: MarketDataMessage): void {
    const m = message as CandleMessage;
    const k = this.intervals.indexOf(m.intervalMicros);
    this.store.putCandle(row(m.instrument, m.intervalMicros, m, 1));
    this.store.pruneCandles(m.instrument, m.intervalMicros, m.start - (this.kept - 1) * m.intervalMicros);
    const pending = this.pendingOf(m.instrument, m.intervalMicros, k);
    pending.closed.push(view(m, true));
    if (pending.closed.length > CLOSED_PER_PUSH) pending.closed.shift();
  }

  private pendingOf(instrument: number, intervalMicros: number, k: number): Pending {
    const key = instrument * 256 + k;
    let p = this.pending.get(key);
    if (p === undefined) {
      p = { instrument, intervalMicros, closed: [], openChanged: false };
      this.pending.set(key, p);
    }
    return p;
  }
}

function row(instrument: number, intervalMicros: number, c: CandleValues, closed: number): CandleRow {
  return {
    instrument, interval_us: intervalMicros, start_us: c.start, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume,
    notional: c.notional, trades: c.trades, closed,
  };
}
