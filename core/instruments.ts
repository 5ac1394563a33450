/**
 * The instrument table: static terms (tick, lot, band, limits, settlement cycle),
 * trading state, last/reference price with the price band derived from it, and
 * each instrument's four ladders (bids, asks, buy stops, sell stops). Indexed by
 * instrument id (1..maxInstruments). Ladders are allocated when an instrument is
 * added, which is configuration time, not the hot path.
 */
import * as codes from './codes';
import { LevelPool } from './level-pool';
import { PriceLadder } from './price-ladder';

/** Prices and quantities are bounded so every product the engine forms stays a safe integer. */
const MAX_PRICE = 2 ** 36;
const MAX_QUANTITY = 2 ** 36;
const BASIS_POINTS = 10_000;
export { BASIS_POINTS, MAX_PRICE, MAX_QUANTITY };
/** Module constants, not import bindings: folded into optimized code (see the note in order-pool.ts). */
const { InstrumentState } = codes;

export class InstrumentTable {
  readonly exists: Uint8Array;
  readonly state: Uint8Array;
  readonly tickSize: Float64Array;
  readonly lotSize: Float64Array;
  readonly bandBasisPoints: Float64Array;
  readonly maxOrderQuantity: Float64Array;
  readonly maxOrderNotional: Float64Array;
  readonly settlementDays: Uint8Array;
  /** Last trade price, or the configured reference before the first trade: the band's centre. */
  readonly referencePrice: Float64Array;
  /** Last trade price (0 before the first trade): what stops compare against. */
  readonly lastPrice: Float64Array;
  readonly bandLow: Float64Array;
  readonly bandHigh: Float64Array;
  readonly symbolHead: Float64Array;
  readonly symbolTail: Float64Array;
  readonly currency: Float64Array;
  readonly symbol: string[];
  readonly bids: PriceLadder[] = [];
  readonly asks: PriceLadder[] = [];
  /** Buy stops trigger when last >= stop: lowest stop is next, so it sits at the end (direction -1). */
  readonly buyStops: PriceLadder[] = [];
  /** Sell stops trigger when last <= stop: highest stop is next (direction +1). */
  readonly sellStops: PriceLadder[] = [];
  readonly bySymbol = new Map<string, number>();
  count = 0;

  constructor(
    readonly maxInstruments: number,
    private readonly levelsPerSide: number,
    private readonly levels: LevelPool,
  ) {
    const n = maxInstruments + 1;
    this.exists = new Uint8Array(n);
    this.state = new Uint8Array(n);
    this.tickSize = new Float64Array(n);
    this.lotSize = new Float64Array(n);
    this.bandBasisPoints = new Float64Array(n);
    this.maxOrderQuantity = new Float64Array(n);
    this.maxOrderNotional = new Float64Array(n);
    this.settlementDays = new Uint8Array(n);
    this.referencePrice = new Float64Array(n);
    this.lastPrice = new Float64Array(n);
    this.bandLow = new Float64Array(n);
    this.bandHigh = new Float64Array(n);
    this.symbolHead = new Float64Array(n);
    this.symbolTail = new Float64Array(n);
    this.currency = new Float64Array(n);
    this.symbol = new Array<string>(n).fill('');
  }

  isValidId(instrument: number): boolean {
    return Number.isInteger(instrument) && instrument >= 1 && instrument <= this.maxInstruments;
  }

  has(instrument: number): boolean {
    return this.isValidId(instrument) && this.exists[instrument] === 1;
  }

  add(instrument: number, symbol: string): void {
    this.exists[instrument] = 1;
    this.symbol[instrument] = symbol;
    this.bySymbol.set(symbol, instrument);
    this.bids[instrument] = new PriceLadder(this.levelsPerSide, 1, this.levels);
    this.asks[instrument] = new PriceLadder(this.levelsPerSide, -1, this.levels);
    this.buyStops[instrument] = new PriceLadder(this.levelsPerSide, -1, this.levels);
    this.sellStops[instrument] = new PriceLadder(this.levelsPerSide, 1, this.levels);
    this.count++;
  }

  /** Re-centres the band on a new reference price (each trade, or a corporate action). */
  setReference(instrument: number, reference: number): void {
    this.referencePrice[instrument] = reference;
    this.bandLow[instrument] = this.bandLowAt(instrument, reference);
    this.bandHigh[instrument] = this.bandHighAt(instrument, reference);
  }

  /** The band's lower edge around a given reference (also used to simulate fills, e.g. FOK). */
  bandLowAt(instrument: number, reference: number): number {
    const bps = this.bandBasisPoints[instrument];
    // Exact: reference <= 2^36 and bps <= 10^4 keep the products far below 2^53.
    return bps === 0 ? 1 : Math.max(1, Math.ceil((reference * (BASIS_POINTS - bps)) / BASIS_POINTS));
  }

  bandHighAt(instrument: number, reference: number): number {
    const bps = this.bandBasisPoints[instrument];
    return bps === 0 ? MAX_PRICE : Math.floor((reference * (BASIS_POINTS + bps)) / BASIS_POINTS);
  }

  isOpen(instrument: number): boolean {
    return this.state[instrument] === InstrumentState.Open;
  }
}
