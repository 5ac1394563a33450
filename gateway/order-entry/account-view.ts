/**
 * A gateway-side read model of the accounts whose keys this gateway serves, built
 * from the event stream alone: live and recently finished orders, cash and holds,
 * positions. It answers OrderStatus, AccountSummary and Positions requests without
 * touching the matcher thread. Finished orders are remembered up to a bound.
 *
 * Equity and the maintenance requirement are the core's (core/risk-engine.ts, margin.ts),
 * recomputed from the same events: each instrument's mark is its reference price, then
 * every trade's price, and after a split the split-adjusted reference, as the core marks it;
 * maintenance is ceil(|quantity| x mark x basis points / 10000) per position of a margin
 * account, with the basis points of MarginParametersSet (instrument 0: the default).
 */
import { AccountStatus, AccountType, CorporateActionKind, OrderType } from '../../core/codes';
import { DEFAULT_MAINTENANCE_BPS } from '../../core/margin';
import { BASIS_POINTS } from '../../core/instruments';
import { mulDivCeil, mulDivFloor } from '../../core/integer-math';
import { Events } from '../../core/schema';
import { OrderStatusCode } from '../protocol/session-schema';
import { ENGINE_SEMANTICS_LATEST, EngineSemantics } from '../../core/engine-semantics';
import { ORDER_VIEW_FIELDS, OrderViewField, OrderViewTable } from './order-view-table';

export const FINISHED_ORDERS_REMEMBERED = 65_536;
/**
 * Order rows allocated at start: the finished orders remembered plus as many live ones (~14 MB).
 * Growing the table while trading stops the gateway 2.5-14 ms per doubling (copy and re-index),
 * five doublings on the way to this size in a gateway's first seconds of load.
 */
export const ORDER_VIEWS_AT_START = 2 * FINISHED_ORDERS_REMEMBERED;

export interface OrderView {
  orderId: number;
  account: number;
  instrument: number;
  clientOrderId: number;
  side: number;
  price: number;
  quantity: number;
  leaves: number;
  status: number;
}

export interface PositionView {
  instrument: number;
  quantity: number;
  costBasis: number;
  realizedPnl: number;
}

export interface AccountView {
  cash: number;
  reserved: number;
  positions: Map<number, PositionView>;
  /** AccountType code (0 before its AccountOpened was seen). */
  type: number;
  /** AccountStatus code (0 before its AccountOpened was seen). */
  status: number;
}

/** An account's value at the current marks. */
export interface AccountValuation {
  equity: number;
  maintenanceRequirement: number;
}

/**
 * Event codes and field offsets as module constants: read through `Events` (tsc's CommonJS exports
 * object) every case of apply()'s switch was a chain of property loads V8 does not fold, per
 * event, in each gateway (bench:e2e profile at 100K orders/s: apply ~15% of a gateway's busy time).
 */
const ACCOUNT_OPENED = Events.AccountOpened.code;
const ACCOUNT_STATUS_CHANGED = Events.AccountStatusChanged.code;
const CASH_DEPOSITED = Events.CashDeposited.code;
const CASH_RELEASED = Events.CashReleased.code;
const CASH_RESERVED = Events.CashReserved.code;
const CASH_WITHDRAWN = Events.CashWithdrawn.code;
const CORPORATE_ACTION_APPLIED = Events.CorporateActionApplied.code;
const INSTRUMENT_ADDED = Events.InstrumentAdded.code;
const MARGIN_PARAMETERS_SET = Events.MarginParametersSet.code;
const ORDER_ACCEPTED = Events.OrderAccepted.code;
const ORDER_CANCELED = Events.OrderCanceled.code;
const ORDER_REPLACED = Events.OrderReplaced.code;
const POSITION_CHANGED = Events.PositionChanged.code;
const STOP_TRIGGERED = Events.StopTriggered.code;
const TRADE = Events.Trade.code;
const ACCOUNT_OPENED_AT = Events.AccountOpened.at;
const ACCOUNT_STATUS_CHANGED_AT = Events.AccountStatusChanged.at;
const CASH_DEPOSITED_AT = Events.CashDeposited.at;
const CASH_RESERVED_AT = Events.CashReserved.at;
const CORPORATE_ACTION_APPLIED_AT = Events.CorporateActionApplied.at;
const INSTRUMENT_ADDED_AT = Events.InstrumentAdded.at;
const MARGIN_PARAMETERS_SET_AT = Events.MarginParametersSet.at;
const ORDER_ACCEPTED_AT = Events.OrderAccepted.at;
const ORDER_CANCELED_AT = Events.OrderCanceled.at;
const ORDER_REPLACED_AT = Events.OrderReplaced.at;
const POSITION_CHANGED_AT = Events.PositionChanged.at;
const STOP_TRIGGERED_AT = Events.StopTriggered.at;
const TRADE_AT = Events.Trade.at;

/** An order view's fields in a saved state (and a table row), ORDER_FIELDS numbers per order. */
const ORDER_FIELDS = ORDER_VIEW_FIELDS satisfies ReadonlyArray<keyof OrderView>;
const STRIDE = ORDER_FIELDS.length;
const F = OrderViewField;

/**
 * The read model as plain data (gateway checkpoints, order-entry/gateway-checkpoint.ts). The
 * large parts are flat Float64Arrays: a running gateway copies up to ~100K orders between two
 * ring batches, and a loop over numbers costs a few ms where objects and JSON cost ~100 ms.
 */
export interface SavedAccountViews {
  /** ORDER_FIELDS.length numbers per order. */
  orders: Float64Array;
  /** Per order: 1 when its client order id names it (the newest order with that id), else 0. */
  clientEntries: Float64Array;
  finished: Float64Array;
  finishedCount: number;
  finishedHead: number;
  accounts: Array<[number, { cash: number; reserved: number; type: number; status: number; positions: PositionView[] }]>;
  marks: Array<[number, { mark: number; tick: number }]>;
  maintenanceBps: Array<[number, number]>;
}

/**
 * The arrays a save copies the order table into. A running gateway keeps one set for its periodic
 * checkpoints (one capture at a time: the next starts after the previous one is written), so a
 * capture writes into memory already mapped instead of megabytes of fresh pages.
 */
export class SaveBuffers {
  rows: Float64Array = new Float64Array(0);
  clientEntries: Float64Array = new Float64Array(0);
  finished: Float64Array = new Float64Array(0);
}

/** `array` if it holds `length` numbers, else a new array with room to spare. */
function atLeast(array: Float64Array, length: number): Float64Array {
  return array.length >= length ? array : new Float64Array(Math.max(length, Math.ceil(array.length * 1.5)));
}

export class AccountViews {
  private readonly orders = new OrderViewTable(ORDER_VIEWS_AT_START);
  /** Orders not tracked because the table was at ORDER_VIEWS_MAX (their queries answer "unknown"). */
  untrackedOrders = 0;
  /** Scratch row for an insert. */
  private readonly row = new Float64Array(STRIDE);
  /** Ring of the most recently finished order ids (oldest forgotten first). */
  private readonly finished = new Float64Array(FINISHED_ORDERS_REMEMBERED);
  private finishedCount = 0;
  private finishedHead = 0;
  private readonly accounts = new Map<number, AccountView>();
  /** Per instrument: its mark (as the core marks margin) and tick. */
  private readonly marks = new Map<number, { mark: number; tick: number }>();
  /** Maintenance basis points per instrument; 0 holds the default. */
  private readonly maintenanceBps = new Map<number, number>([[0, DEFAULT_MAINTENANCE_BPS]]);

  /** semantics: what the journal's events carry (core/engine-semantics.ts); under 1 PositionChanged has no reservedTotal. */
  constructor(private readonly tracked: (account: number) => boolean, private readonly semantics: EngineSemantics = ENGINE_SEMANTICS_LATEST) {}

  /**
   * A deep copy: a running gateway captures it and writes it later while the views go on changing.
   * With `buffers`, the large arrays are views of buffers reused from one save to the next (valid
   * until the next save with the same buffers); without, fresh arrays.
   */
  save(buffers: SaveBuffers = new SaveBuffers()): SavedAccountViews {
    // Three memory copies: the table's rows are dense, its client-entry flags one number per row.
    const table = this.orders;
    const rows = buffers.rows = atLeast(buffers.rows, table.size * STRIDE);
    const clientEntries = buffers.clientEntries = atLeast(buffers.clientEntries, table.size);
    const finished = buffers.finished = atLeast(buffers.finished, this.finishedCount);
    rows.set(table.rows.subarray(0, table.size * STRIDE));
    clientEntries.set(table.clientEntry.subarray(0, table.size));
    finished.set(this.finished.subarray(0, this.finishedCount)); // the ring is filled from 0 before it wraps
    return {
      orders: rows.subarray(0, table.size * STRIDE),
      clientEntries: clientEntries.subarray(0, table.size),
      finished: finished.subarray(0, this.finishedCount),
      finishedCount: this.finishedCount,
      finishedHead: this.finishedHead,
      accounts: [...this.accounts].map(([id, v]) => [id, { cash: v.cash, reserved: v.reserved, type: v.type, status: v.status, positions: [...v.positions.values()].map((p) => ({ ...p })) }]),
      marks: [...this.marks].map(([id, m]) => [id, { ...m }]),
      maintenanceBps: [...this.maintenanceBps],
    };
  }

  /** Back to a saved state (these views must be fresh). */
  restore(saved: SavedAccountViews): void {
    if (this.orders.size !== 0 || this.accounts.size !== 0) throw new Error('account views: restore into used views');
    if (saved.orders.length !== saved.clientEntries.length * STRIDE) throw new RangeError('account views: a saved state of the wrong shape');
    // The orders, and which one each client order id names (a reused id names the newest), as saved.
    this.untrackedOrders += saved.clientEntries.length - this.orders.load(saved.orders, saved.clientEntries);
    if (saved.finished.length > FINISHED_ORDERS_REMEMBERED) throw new RangeError('account views: more finished orders than remembered');
    this.finished.set(saved.finished);
    this.finishedCount = saved.finishedCount;
    this.finishedHead = saved.finishedHead;
    for (const [id, v] of saved.accounts) {
      this.accounts.set(id, { cash: v.cash, reserved: v.reserved, type: v.type, status: v.status, positions: new Map(v.positions.map((p) => [p.instrument, { ...p }])) });
    }
    for (const [id, m] of saved.marks) this.marks.set(id, { ...m });
    for (const [id, bps] of saved.maintenanceBps) this.maintenanceBps.set(id, bps);
  }

  apply(w: Float64Array, o: number): void {
    switch (w[o]) {
      case ORDER_ACCEPTED: {
        const A = ORDER_ACCEPTED_AT;
        const account = w[o + A.account];
        if (!this.tracked(account)) return;
        const type = w[o + A.orderType];
        const orderId = w[o + A.orderId];
        const stop = type === OrderType.Stop || type === OrderType.StopLimit;
        const row = this.row;
        row[F.orderId] = orderId;
        row[F.account] = account;
        row[F.instrument] = w[o + A.instrument];
        row[F.clientOrderId] = w[o + A.clientOrderId];
        row[F.side] = w[o + A.side];
        row[F.price] = w[o + A.price];
        row[F.quantity] = w[o + A.quantity];
        row[F.leaves] = w[o + A.quantity];
        row[F.status] = stop ? OrderStatusCode.PendingStop : OrderStatusCode.Open;
        if (this.orders.insert(row) < 0) this.untrackedOrders++;
        return;
      }
      case INSTRUMENT_ADDED: {
        const I = INSTRUMENT_ADDED_AT;
        this.marks.set(w[o + I.instrument], { mark: w[o + I.referencePrice], tick: w[o + I.tickSize] });
        return;
      }
      case MARGIN_PARAMETERS_SET: {
        const M = MARGIN_PARAMETERS_SET_AT;
        this.maintenanceBps.set(w[o + M.instrument], w[o + M.maintenanceBasisPoints]);
        return;
      }
      case CORPORATE_ACTION_APPLIED: {
        const C = CORPORATE_ACTION_APPLIED_AT;
        const view = w[o + C.account] === 0 ? undefined : this.account(w[o + C.account]);
        if (view !== undefined) {
          // One account's share: no PositionChanged follows, so apply the deltas (cash in lieu or dividend; split shares).
          view.cash += w[o + C.cash];
          const position = view.positions.get(w[o + C.instrument]);
          // A split's quantity is the change in shares; a dividend's is the shares it was paid on.
          if (position !== undefined && w[o + C.kind] === CorporateActionKind.Split) position.quantity += w[o + C.quantity];
          return;
        }
        const marked = this.marks.get(w[o + C.instrument]);
        // The instrument-wide record of a split (account 0): the reference and the mark move together.
        if (marked !== undefined && w[o + C.account] === 0 && w[o + C.kind] === CorporateActionKind.Split) {
          const scaled = mulDivFloor(marked.mark, w[o + C.denominator], w[o + C.numerator]);
          marked.mark = Math.max(marked.tick, Math.round(scaled / marked.tick) * marked.tick);
        }
        return;
      }
      case ACCOUNT_OPENED: {
        const view = this.account(w[o + ACCOUNT_OPENED_AT.account]);
        if (view !== undefined) {
          view.type = w[o + ACCOUNT_OPENED_AT.accountType];
          view.status = AccountStatus.PendingKyc;
        }
        return;
      }
      case ACCOUNT_STATUS_CHANGED: {
        const view = this.account(w[o + ACCOUNT_STATUS_CHANGED_AT.account]);
        if (view !== undefined) view.status = w[o + ACCOUNT_STATUS_CHANGED_AT.status];
        return;
      }
      case TRADE: {
        const T = TRADE_AT;
        const marked = this.marks.get(w[o + T.instrument]);
        if (marked !== undefined) marked.mark = w[o + T.price];
        this.fill(w[o + T.makerOrderId], w[o + T.makerLeaves]);
        this.fill(w[o + T.takerOrderId], w[o + T.takerLeaves]);
        return;
      }
      case STOP_TRIGGERED: {
        const slot = this.orders.find(w[o + STOP_TRIGGERED_AT.orderId]);
        if (slot >= 0) this.orders.rows[slot * STRIDE + F.status] = OrderStatusCode.Open;
        return;
      }
      case ORDER_CANCELED: {
        const orderId = w[o + ORDER_CANCELED_AT.orderId];
        const slot = this.orders.find(orderId);
        if (slot < 0) return;
        this.orders.rows[slot * STRIDE + F.leaves] = 0;
        this.orders.rows[slot * STRIDE + F.status] = OrderStatusCode.Canceled;
        this.finish(orderId);
        return;
      }
      case ORDER_REPLACED: {
        const R = ORDER_REPLACED_AT;
        const slot = this.orders.find(w[o + R.orderId]);
        if (slot < 0) return;
        const rows = this.orders.rows;
        rows[slot * STRIDE + F.price] = w[o + R.price];
        rows[slot * STRIDE + F.quantity] = w[o + R.quantity];
        rows[slot * STRIDE + F.leaves] = w[o + R.leavesQuantity];
        return;
      }
      case CASH_DEPOSITED:
      case CASH_WITHDRAWN: {
        const D = CASH_DEPOSITED_AT;
        const view = this.account(w[o + D.account]);
        if (view !== undefined) view.cash = w[o + D.cashBalance];
        return;
      }
      case CASH_RESERVED:
      case CASH_RELEASED: {
        const H = CASH_RESERVED_AT;
        const view = this.account(w[o + H.account]);
        if (view !== undefined) view.reserved = w[o + H.reservedTotal];
        return;
      }
      case POSITION_CHANGED: {
        const P = POSITION_CHANGED_AT;
        const view = this.account(w[o + P.account]);
        if (view === undefined) return;
        view.cash = w[o + P.cashBalance];
        if (this.semantics >= 2) view.reserved = w[o + P.reservedTotal];
        const instrument = w[o + P.instrument];
        const position = view.positions.get(instrument);
        if (position === undefined) {
          view.positions.set(instrument, { instrument, quantity: w[o + P.quantity], costBasis: w[o + P.costBasis], realizedPnl: w[o + P.realizedPnl] });
        } else { // in place: a fill is no allocation
          position.quantity = w[o + P.quantity];
          position.costBasis = w[o + P.costBasis];
          position.realizedPnl = w[o + P.realizedPnl];
        }
        return;
      }
      default:
    }
  }

  /** A copy of the order's view (by order id, or by client order id when orderId is 0), if it is the account's. */
  order(account: number, orderId: number, clientOrderId: number): OrderView | undefined {
    const slot = orderId !== 0 ? this.orders.find(orderId) : this.orders.findByClient(account, clientOrderId);
    if (slot < 0) return undefined;
    const rows = this.orders.rows;
    const row = slot * STRIDE;
    if (rows[row + F.account] !== account) return undefined;
    return {
      orderId: rows[row + F.orderId]!, account, instrument: rows[row + F.instrument]!, clientOrderId: rows[row + F.clientOrderId]!,
      side: rows[row + F.side]!, price: rows[row + F.price]!, quantity: rows[row + F.quantity]!, leaves: rows[row + F.leaves]!, status: rows[row + F.status]!,
    };
  }

  account(account: number): AccountView | undefined {
    if (!this.tracked(account)) return undefined;
    let view = this.accounts.get(account);
    if (view === undefined) {
      view = { cash: 0, reserved: 0, positions: new Map(), type: 0, status: 0 };
      this.accounts.set(account, view);
    }
    return view;
  }

  /** Equity (cash + positions at their marks) and, for a margin account, its maintenance requirement. */
  valuation(view: AccountView): AccountValuation {
    let equity = view.cash;
    let maintenanceRequirement = 0;
    for (const position of view.positions.values()) {
      if (position.quantity === 0) continue;
      const mark = this.marks.get(position.instrument)?.mark ?? 0;
      equity += position.quantity * mark;
      if (view.type === AccountType.Margin) {
        const bps = this.maintenanceBps.get(position.instrument) || this.maintenanceBps.get(0)!;
        maintenanceRequirement += mulDivCeil(Math.abs(position.quantity) * mark, bps, BASIS_POINTS);
      }
    }
    return { equity, maintenanceRequirement };
  }

  private fill(orderId: number, leaves: number): void {
    const slot = this.orders.find(orderId);
    if (slot < 0) return;
    this.orders.rows[slot * STRIDE + F.leaves] = leaves;
    this.orders.rows[slot * STRIDE + F.status] = leaves === 0 ? OrderStatusCode.Filled : OrderStatusCode.PartiallyFilled;
    if (leaves === 0) this.finish(orderId);
  }

  private finish(orderId: number): void {
    if (this.finishedCount === FINISHED_ORDERS_REMEMBERED) {
      const old = this.orders.find(this.finished[this.finishedHead]!);
      if (old >= 0) this.orders.remove(old); // its client order id too, unless a newer order took it
      this.finished[this.finishedHead] = orderId;
      this.finishedHead = (this.finishedHead + 1) % FINISHED_ORDERS_REMEMBERED;
      return;
    }
    this.finished[(this.finishedHead + this.finishedCount) % FINISHED_ORDERS_REMEMBERED] = orderId;
    this.finishedCount++;
  }
}
