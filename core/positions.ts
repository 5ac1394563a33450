/**
 * Positions: one row per (account, instrument) ever traded or ordered, in typed
 * arrays, found through a hash of the packed key. Rows are never freed (a broker
 * keeps an account's instruments); `maxPositions` bounds them.
 *
 * Each row is on three singly-linked lists: its account's positions, its
 * instrument's holders (dividends, splits) and, for margin accounts, its
 * instrument's margin holders (splits re-evaluate them); a non-flat margin row is
 * also on its instrument's trigger ladder (margin-triggers.ts), which is what a
 * trade's new mark visits.
 *
 * Settlement buckets: a trade settling on date d adds to bucket d % 3 of the row
 * (cell row * 3 + bucket; at most T+2, so three buckets never collide); rows with a
 * non-empty bucket are listed per bucket so end of day touches only them.
 */
import { IdTable } from './id-table';
import * as orderPool from './order-pool';
import { ImagePart } from './state-image';

/** Module constants, not import bindings: folded into optimized code (see the note in order-pool.ts). */
const { NO_SLOT } = orderPool;
const SETTLEMENT_BUCKETS = 3;
export { SETTLEMENT_BUCKETS };
const INSTRUMENT_KEY_SPACE = 65536;

export class PositionTable {
  readonly account: Int32Array;
  readonly instrument: Int32Array;
  /** Signed share quantity (negative = short), settled and unsettled. */
  readonly quantity: Float64Array;
  /** Total cost of the open quantity (negative for a short: proceeds received). */
  readonly costBasis: Float64Array;
  readonly realizedPnl: Float64Array;
  /** Open (leaves) quantity of the account's buy / sell orders in the instrument. */
  readonly openBuy: Float64Array;
  readonly openSell: Float64Array;
  /** Long shares held for open sells (the rest of an open sell is a short sale). */
  readonly reservedSell: Float64Array;
  /** This row's contribution to its account's margin aggregates, kept to subtract exactly. */
  readonly value: Float64Array;
  readonly initial: Float64Array;
  readonly maintenance: Float64Array;
  readonly liquidation: Float64Array;
  /**
   * Margin rows: the integer mark at which this row must be re-evaluated (long: at or
   * below it; short: at or above), or -/+Infinity for an account evaluated on every
   * move. Armed by the risk engine (risk-engine.ts armAccount, rearmRow).
   */
  readonly trigger: Float64Array;
  /**
   * Margin rows: value minus maintenance (resp. initial) requirement of the position at
   * its trigger mark, the least it can add to its account's equity above that level
   * while its trigger is not crossed. Their sums per account are the account's floors.
   */
  readonly maintenanceFloor: Float64Array;
  readonly initialFloor: Float64Array;
  readonly nextInAccount: Int32Array;
  readonly nextInInstrument: Int32Array;
  readonly nextMarginInInstrument: Int32Array;
  readonly pendingQuantity: Float64Array;
  readonly pendingCash: Float64Array;
  readonly pendingProceeds: Float64Array;
  /** Rows with something due, per bucket: bucket * capacity + i (dueCount[bucket] of them). */
  readonly dueRows: Int32Array;
  readonly dueCount: Int32Array;
  readonly instrumentHead: Int32Array;
  readonly marginInstrumentHead: Int32Array;
  readonly index: IdTable;
  used = 0;

  constructor(readonly capacity: number, maxInstruments: number) {
    this.account = new Int32Array(capacity);
    this.instrument = new Int32Array(capacity);
    this.quantity = new Float64Array(capacity);
    this.costBasis = new Float64Array(capacity);
    this.realizedPnl = new Float64Array(capacity);
    this.openBuy = new Float64Array(capacity);
    this.openSell = new Float64Array(capacity);
    this.reservedSell = new Float64Array(capacity);
    this.value = new Float64Array(capacity);
    this.initial = new Float64Array(capacity);
    this.maintenance = new Float64Array(capacity);
    this.liquidation = new Float64Array(capacity);
    this.trigger = new Float64Array(capacity);
    this.maintenanceFloor = new Float64Array(capacity);
    this.initialFloor = new Float64Array(capacity);
    this.nextInAccount = new Int32Array(capacity);
    this.nextInInstrument = new Int32Array(capacity);
    this.nextMarginInInstrument = new Int32Array(capacity);
    this.pendingQuantity = new Float64Array(capacity * SETTLEMENT_BUCKETS);
    this.pendingCash = new Float64Array(capacity * SETTLEMENT_BUCKETS);
    this.pendingProceeds = new Float64Array(capacity * SETTLEMENT_BUCKETS);
    this.dueRows = new Int32Array(capacity * SETTLEMENT_BUCKETS);
    this.dueCount = new Int32Array(SETTLEMENT_BUCKETS);
    this.instrumentHead = new Int32Array(maxInstruments + 1).fill(NO_SLOT);
    this.marginInstrumentHead = new Int32Array(maxInstruments + 1).fill(NO_SLOT);
    this.index = new IdTable(capacity);
  }

  static key(account: number, instrument: number): number {
    return account * INSTRUMENT_KEY_SPACE + instrument;
  }

  find(account: number, instrument: number): number {
    return this.index.get(PositionTable.key(account, instrument));
  }

  /** The row for (account, instrument), created if needed; NO_SLOT when the table is full. */
  findOrCreate(account: number, instrument: number, accountHead: Int32Array, isMargin: boolean): number {
    const existing = this.find(account, instrument);
    if (existing !== NO_SLOT) return existing;
    if (this.used === this.capacity) return NO_SLOT;
    const row = this.used++;
    this.index.set(PositionTable.key(account, instrument), row);
    this.account[row] = account;
    this.instrument[row] = instrument;
    this.nextInAccount[row] = accountHead[account];
    accountHead[account] = row;
    this.nextInInstrument[row] = this.instrumentHead[instrument];
    this.instrumentHead[instrument] = row;
    this.nextMarginInInstrument[row] = NO_SLOT;
    if (isMargin) {
      this.nextMarginInInstrument[row] = this.marginInstrumentHead[instrument];
      this.marginInstrumentHead[instrument] = row;
    }
    return row;
  }

  /** Adds a trade's share and cash movement to the bucket of its settlement date. */
  addPending(row: number, settleDate: number, quantity: number, cash: number, proceeds: number): void {
    const bucket = settleDate % SETTLEMENT_BUCKETS;
    const cell = row * SETTLEMENT_BUCKETS + bucket;
    const wasEmpty = this.pendingQuantity[cell] === 0 && this.pendingCash[cell] === 0 && this.pendingProceeds[cell] === 0;
    this.pendingQuantity[cell] += quantity;
    this.pendingCash[cell] += cash;
    this.pendingProceeds[cell] += proceeds;
    if (wasEmpty) this.dueRows[bucket * this.capacity + this.dueCount[bucket]++] = row;
  }

  imageParts(): ImagePart[] {
    const n = this.used;
    const rows: Array<[string, Float64Array | Int32Array]> = [
      ['account', this.account], ['instrument', this.instrument], ['quantity', this.quantity], ['costBasis', this.costBasis],
      ['realizedPnl', this.realizedPnl], ['openBuy', this.openBuy], ['openSell', this.openSell], ['reservedSell', this.reservedSell],
      ['value', this.value], ['initial', this.initial], ['maintenance', this.maintenance], ['liquidation', this.liquidation],
      ['trigger', this.trigger], ['maintenanceFloor', this.maintenanceFloor], ['initialFloor', this.initialFloor],
      ['nextInAccount', this.nextInAccount], ['nextInInstrument', this.nextInInstrument], ['nextMarginInInstrument', this.nextMarginInInstrument],
    ];
    const parts: ImagePart[] = rows.map(([name, array]) => ({ name: `positions.${name}`, array, length: n }));
    const cells = n * SETTLEMENT_BUCKETS;
    parts.push({ name: 'positions.pendingQuantity', array: this.pendingQuantity, length: cells });
    parts.push({ name: 'positions.pendingCash', array: this.pendingCash, length: cells });
    parts.push({ name: 'positions.pendingProceeds', array: this.pendingProceeds, length: cells });
    for (let bucket = 0; bucket < SETTLEMENT_BUCKETS; bucket++) {
      // dueCount travels in the scalars, so these views have their lengths before the copy.
      const start = bucket * this.capacity;
      parts.push({ name: `positions.dueRows.${bucket}`, array: this.dueRows.subarray(start, start + this.dueCount[bucket]), length: this.dueCount[bucket] });
    }
    parts.push({ name: 'positions.instrumentHead', array: this.instrumentHead, length: this.instrumentHead.length });
    parts.push({ name: 'positions.marginInstrumentHead', array: this.marginInstrumentHead, length: this.marginInstrumentHead.length });
    return parts;
  }

  rebuildIndex(): void {
    this.index.clear();
    for (let row = 0; row < this.used; row++) this.index.set(PositionTable.key(this.account[row], this.instrument[row]), row);
  }
}
