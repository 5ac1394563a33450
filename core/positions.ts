/**
 * Positions: one row per (account, instrument) ever traded or ordered, found through
 * a hash clustered by account (position-index.ts). Rows are never freed (a broker
 * keeps an account's instruments); `maxPositions` bounds them.
 *
 * A row's numbers are interleaved in one Float64Array, POSITION_STRIDE doubles per row
 * at the offsets of PositionField (rows[row * POSITION_STRIDE + PositionField.quantity]):
 * a fill reads and writes ~15 of them, which then sit in two or three cache lines
 * behind one array instead of ~15 arrays (each with its own map, base and bounds
 * check in optimized code). The list links stay Int32Arrays of their own (walked only).
 *
 * Each row is on three singly-linked lists: its account's positions, its
 * instrument's holders (dividends, splits) and, for margin accounts, its
 * instrument's margin holders (splits re-evaluate them); a non-flat margin row is
 * also on its instrument's trigger ladder (margin-triggers.ts), which is what a
 * trade's new mark visits.
 *
 * Settlement buckets: a trade settling on date d adds to bucket d % 3 of the row
 * (its quantity, cash and proceeds at PositionField.pending + 3 * bucket + 0 / 1 / 2;
 * at most T+2, so three buckets never collide); rows with a non-empty bucket are
 * listed per bucket so end of day touches only them.
 */
import * as orderPool from './order-pool';
import { PositionIndex } from './position-index';
import { ImagePart } from './state-image';

/** Module constants, not import bindings: folded into optimized code (see the note in order-pool.ts). */
const { NO_SLOT } = orderPool;
const SETTLEMENT_BUCKETS = 3;
export { SETTLEMENT_BUCKETS };

/**
 * Offsets of a position row's fields in PositionTable.rows. Frozen and re-bound as module
 * constants by its users, so the offsets compile to immediates (see the note in order-pool.ts).
 */
const PositionField = Object.freeze({
  account: 0,
  instrument: 1,
  /** Signed share quantity (negative = short), settled and unsettled. */
  quantity: 2,
  /** Total cost of the open quantity (negative for a short: proceeds received). */
  costBasis: 3,
  realizedPnl: 4,
  /** Open (leaves) quantity of the account's buy / sell orders in the instrument. */
  openBuy: 5,
  openSell: 6,
  /** Long shares held for open sells (the rest of an open sell is a short sale). */
  reservedSell: 7,
  /**
   * Margin rows: the integer mark at which this row must be re-evaluated (long: at or
   * below it; short: at or above), or -/+Infinity for an account evaluated on every
   * move. Armed by the risk engine (risk-engine.ts armAccount, rearmRow).
   */
  trigger: 8,
  /**
   * Margin rows: value minus maintenance (resp. initial) requirement of the position at
   * its trigger mark, the least it can add to its account's equity above that level
   * while its trigger is not crossed. Their sums per account are the account's floors.
   */
  maintenanceFloor: 9,
  initialFloor: 10,
  /** Settlement buckets: quantity, cash and proceeds due, three words per bucket (PENDING_WORDS). */
  pending: 11,
  /** This row's contribution to its account's margin aggregates, kept to subtract exactly. */
  value: 20,
  initial: 21,
  maintenance: 22,
  liquidation: 23,
} as const);
/** Doubles per row in PositionTable.rows (three 64-byte cache lines). */
const POSITION_STRIDE = 24;
/** Words per settlement bucket of a row: quantity, cash, proceeds. */
const PENDING_WORDS = 3;
export { PositionField, POSITION_STRIDE, PENDING_WORDS };
const F = PositionField;

export class PositionTable {
  /** Every row's numbers, POSITION_STRIDE doubles per row at the offsets of PositionField. */
  readonly rows: Float64Array;
  readonly nextInAccount: Int32Array;
  readonly nextInInstrument: Int32Array;
  readonly nextMarginInInstrument: Int32Array;
  /** Rows with something due, per bucket: bucket * capacity + i (dueCount[bucket] of them). */
  readonly dueRows: Int32Array;
  readonly dueCount: Int32Array;
  readonly instrumentHead: Int32Array;
  readonly marginInstrumentHead: Int32Array;
  readonly index: PositionIndex;
  used = 0;

  constructor(readonly capacity: number, maxInstruments: number) {
    this.rows = new Float64Array(capacity * POSITION_STRIDE);
    this.nextInAccount = new Int32Array(capacity);
    this.nextInInstrument = new Int32Array(capacity);
    this.nextMarginInInstrument = new Int32Array(capacity);
    this.dueRows = new Int32Array(capacity * SETTLEMENT_BUCKETS);
    this.dueCount = new Int32Array(SETTLEMENT_BUCKETS);
    this.instrumentHead = new Int32Array(maxInstruments + 1).fill(NO_SLOT);
    this.marginInstrumentHead = new Int32Array(maxInstruments + 1).fill(NO_SLOT);
    this.index = new PositionIndex(capacity);
  }

  find(account: number, instrument: number): number {
    return this.index.get(account, instrument);
  }

  /** The row for (account, instrument), created if needed; NO_SLOT when the table is full. */
  findOrCreate(account: number, instrument: number, accountHead: Int32Array, isMargin: boolean): number {
    const existing = this.find(account, instrument);
    if (existing !== NO_SLOT) return existing;
    if (this.used === this.capacity) return NO_SLOT;
    const row = this.used++;
    this.index.set(account, instrument, row);
    this.rows[row * POSITION_STRIDE + F.account] = account;
    this.rows[row * POSITION_STRIDE + F.instrument] = instrument;
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

  /** A field of a row (PositionField offset); for code off the hot paths. */
  get(row: number, field: number): number {
    return this.rows[row * POSITION_STRIDE + field];
  }

  /** Adds a trade's share and cash movement to the bucket of its settlement date. */
  addPending(row: number, settleDate: number, quantity: number, cash: number, proceeds: number): void {
    const bucket = settleDate % SETTLEMENT_BUCKETS;
    const rows = this.rows;
    const cell = row * POSITION_STRIDE + F.pending + bucket * PENDING_WORDS;
    const wasEmpty = rows[cell] === 0 && rows[cell + 1] === 0 && rows[cell + 2] === 0;
    rows[cell] += quantity;
    rows[cell + 1] += cash;
    rows[cell + 2] += proceeds;
    if (wasEmpty) this.dueRows[bucket * this.capacity + this.dueCount[bucket]++] = row;
  }

  imageParts(): ImagePart[] {
    const n = this.used;
    const parts: ImagePart[] = [
      { name: 'positions.rows', array: this.rows, length: n * POSITION_STRIDE },
      { name: 'positions.nextInAccount', array: this.nextInAccount, length: n },
      { name: 'positions.nextInInstrument', array: this.nextInInstrument, length: n },
      { name: 'positions.nextMarginInInstrument', array: this.nextMarginInInstrument, length: n },
    ];
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
    const rows = this.rows;
    for (let row = 0; row < this.used; row++) {
      const at = row * POSITION_STRIDE;
      this.index.set(rows[at + F.account], rows[at + F.instrument], row);
    }
  }
}
