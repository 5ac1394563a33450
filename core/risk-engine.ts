/**
 * Accounts and pre-trade risk inside the core: the RiskLayer the matcher calls.
 *
 * Every money movement is a command through the same single-threaded core as
 * matching, so balances are always consistent with the book and replay exactly.
 * Holds: a buy holds cash (a cash account: price x quantity + fee estimate; a
 * margin account: the initial requirement of it); a sell holds long shares first,
 * and whatever exceeds the long position is a short sale (margin accounts only,
 * within the account's short limit) holding its initial requirement. Holds follow
 * the order's open quantity through fills, replaces and cancels.
 *
 * See docs/accounts.md for the rules in a broker's words.
 */
import { AccountTable } from './accounts';
import * as codes from './codes';
import { RecentKeyWindow } from './id-table';
import * as instruments from './instruments';
import { ceilBasisPoints, mulDivCeil, mulDivFloor, mulDivTrunc } from './integer-math';
import { MarginParameters, refreshContribution, surplusAt, triggerMark } from './margin';
import { MarginTriggerLadders } from './margin-triggers';
import type { Matcher } from './matcher';
import { ENGINE_SEMANTICS_LATEST, EngineSemantics } from './engine-semantics';
import * as orderPool from './order-pool';
import * as positionTable from './positions';
import { PositionTable } from './positions';
import type { RiskLayer } from './risk-layer';
import { Commands, Events } from './schema';
import type { ImagePart } from './state-image';

/** Module constants, not import bindings: folded into optimized code (see the note in order-pool.ts). */
const {
  AccountAction, AccountStatus, AccountType, CancelReason, CorporateActionKind, InstrumentState, OrderType, RejectReason, Side, StateChangeReason,
} = codes;
const { BASIS_POINTS, MAX_PRICE, MAX_QUANTITY } = instruments;
const { NO_SLOT, OrderStatus } = orderPool;
const { SETTLEMENT_BUCKETS, PositionField: PF, POSITION_STRIDE: STRIDE, PENDING_WORDS } = positionTable;
const C = Commands;
const E = Events;
/** checkedHold / applyHolds: no hold computed yet. */
const NO_HOLD = -1;
/** Indexes of RiskEngine.defaultLimits. */
const LimitKind = { MaxOpenOrders: 0, MaxOrderNotional: 1, MaxPositionQuantity: 2, MaxGrossExposure: 3, MaxShortQuantity: 4 } as const;
const LIMIT_KINDS = 5;
/** Largest single deposit or withdrawal: keeps every balance sum a safe integer. */
export const MAX_CASH_AMOUNT = 2 ** 50;

export interface RiskDefaults {
  maxOpenOrders: number;
  maxOrderNotional: number;
  maxPositionQuantity: number;
  maxGrossExposure: number;
  /** 0: no short selling unless the account's limit allows it. */
  maxShortQuantity: number;
}

export const DEFAULT_RISK: RiskDefaults = Object.freeze({
  maxOpenOrders: 10_000,
  maxOrderNotional: Number.MAX_SAFE_INTEGER,
  maxPositionQuantity: MAX_QUANTITY,
  maxGrossExposure: Number.MAX_SAFE_INTEGER,
  maxShortQuantity: 0,
});

export interface RiskEngineOptions {
  /**
   * Reference mode for tests: every trade evaluates its two accounts exactly and every
   * non-flat margin holder of the instrument on a new mark, and buying power is always
   * computed exactly; the triggers and floors are never consulted. The default lazy mode
   * must emit exactly the same events (test/risk-properties.test.ts).
   */
  exhaustiveMargin?: boolean;
  /** The semantics to emit events under (core/engine-semantics.ts); default the latest. */
  semantics?: EngineSemantics;
}

export class RiskEngine implements RiskLayer {
  private m!: Matcher;
  accounts!: AccountTable;
  positions!: PositionTable;
  margin!: MarginParameters;
  /** Position row of each order slot. */
  private orderRow!: Int32Array;
  /** Long shares each sell order holds. */
  private heldShares!: Float64Array;
  /** The price margin rows were last marked at, per instrument. */
  private markPrice!: Float64Array;
  private cashReferences!: RecentKeyWindow;
  private liquidationQueue!: Int32Array;
  /** Per instrument, the non-flat margin rows by trigger: what a new mark must re-evaluate. */
  triggers!: MarginTriggerLadders;
  /** Scratch: rows a new mark crossed. */
  private crossedRows!: Int32Array;
  /**
   * What a passing checkNewOrder found: the position row (rows never move, so it stays valid
   * for its account and instrument) and the order's hold, which the acceptance that always
   * follows a passing check would otherwise compute again from the same state.
   */
  private checkedAccount = 0;
  private checkedInstrument = 0;
  private checkedRow = NO_SLOT;
  private checkedHold = NO_HOLD;
  private liquidationCount = 0;
  feeAccount = 0;

  /**
   * The defaults in a typed array (index: LimitKind), read as unboxed doubles like the
   * per-account limits they stand in for: mixed with a default read from the frozen
   * defaults object, every large per-account limit became a fresh heap number per order.
   */
  private readonly defaultLimits: Float64Array;

  private readonly exhaustive: boolean;
  readonly semantics: EngineSemantics;

  constructor(readonly defaults: RiskDefaults = DEFAULT_RISK, options: RiskEngineOptions = {}) {
    this.exhaustive = options.exhaustiveMargin ?? false;
    this.semantics = options.semantics ?? ENGINE_SEMANTICS_LATEST;
    this.defaultLimits = new Float64Array(LIMIT_KINDS);
    this.defaultLimits[LimitKind.MaxOpenOrders] = defaults.maxOpenOrders;
    this.defaultLimits[LimitKind.MaxOrderNotional] = defaults.maxOrderNotional;
    this.defaultLimits[LimitKind.MaxPositionQuantity] = defaults.maxPositionQuantity;
    this.defaultLimits[LimitKind.MaxGrossExposure] = defaults.maxGrossExposure;
    this.defaultLimits[LimitKind.MaxShortQuantity] = defaults.maxShortQuantity;
  }

  attach(matcher: Matcher): void {
    this.m = matcher;
    const limits = matcher.limits;
    this.accounts = new AccountTable(limits.maxAccounts);
    this.positions = new PositionTable(limits.maxPositions, limits.maxInstruments);
    this.margin = new MarginParameters(limits.maxInstruments);
    this.orderRow = new Int32Array(limits.maxOrders);
    this.heldShares = new Float64Array(limits.maxOrders);
    this.markPrice = new Float64Array(limits.maxInstruments + 1);
    this.cashReferences = new RecentKeyWindow(limits.cashReferenceWindow);
    this.liquidationQueue = new Int32Array(limits.maxAccounts + 1);
    this.triggers = new MarginTriggerLadders(limits.maxPositions, limits.maxInstruments);
    this.crossedRows = new Int32Array(limits.maxPositions);
  }

  handles(commandType: number): boolean {
    return commandType >= C.OpenAccount.code && commandType <= C.CashDividend.code && commandType !== C.SetFeeSchedule.code;
  }

  process(type: number, w: Float64Array, o: number): void {
    switch (type) {
      case C.OpenAccount.code: return this.openAccount(w[o + C.OpenAccount.at.account], w[o + C.OpenAccount.at.accountType]);
      case C.SetAccountStatus.code: return this.setAccountStatus(w[o + C.SetAccountStatus.at.account], w[o + C.SetAccountStatus.at.action]);
      case C.Deposit.code: return this.moveCash(true, w[o + C.Deposit.at.account], w[o + C.Deposit.at.amount], w[o + C.Deposit.at.reference]);
      case C.Withdraw.code: return this.moveCash(false, w[o + C.Withdraw.at.account], w[o + C.Withdraw.at.amount], w[o + C.Withdraw.at.reference]);
      case C.SetAccountLimits.code: return this.setAccountLimits(w, o);
      case C.SetMarginParameters.code: return this.setMarginParameters(w, o);
      case C.StockSplit.code: return this.stockSplit(w[o + C.StockSplit.at.instrument], w[o + C.StockSplit.at.numerator], w[o + C.StockSplit.at.denominator]);
      case C.CashDividend.code: return this.cashDividend(w[o + C.CashDividend.at.instrument], w[o + C.CashDividend.at.amountPerShare]);
      default: return this.m.commandRejected(type, 0, RejectReason.UNKNOWN_COMMAND, 0);
    }
  }

  // ------------------------------------------------------------ limits and buying power

  /** The account's limit, or the engine default where the account's is 0. */
  private limit(values: Float64Array, account: number, kind: number): number {
    const value = values[account];
    return value !== 0 ? value : this.defaultLimits[kind];
  }

  private isMargin(account: number): boolean {
    return this.accounts.accountType[account] === AccountType.Margin;
  }

  private mark(instrument: number): number {
    return this.markPrice[instrument] || this.m.instruments.referencePrice[instrument];
  }

  /**
   * Whether the account may commit `amount` more cash now: amount <= buyingPower, decided
   * exactly. A margin account whose triggers hold has a floor under its buying power
   * (cash + initial floor - reserved, accounts.ts) that costs three reads; only an amount
   * above the floor pays for the exact figure (every position row at its current mark).
   */
  canCommit(account: number, amount: number): boolean {
    const a = this.accounts;
    if (this.isMargin(account) && a.evaluateEveryMove[account] === 0 && !this.exhaustive && amount <= a.cash[account] + a.initialFloor[account] - a.reserved[account]) {
      return true;
    }
    return amount <= this.buyingPower(account);
  }

  /** Cash an account may commit to new orders now. */
  buyingPower(account: number): number {
    const a = this.accounts;
    if (!this.isMargin(account)) return a.cash[account] - a.unsettledProceeds[account] - a.reserved[account];
    this.refreshRows(account);
    // Margin: unsettled proceeds count (they are equity), requirements do not.
    return a.cash[account] + a.marketValue[account] - a.initialRequirement[account] - a.reserved[account];
  }

  /** Cash that may leave the account: settled and unreserved, and (margin) not needed for the initial requirement. */
  withdrawable(account: number): number {
    const a = this.accounts;
    const settledFree = a.cash[account] - a.unsettledProceeds[account] - a.reserved[account];
    if (!this.isMargin(account)) return settledFree;
    return Math.min(settledFree, this.buyingPower(account));
  }

  private feeEstimate(notional: number): number {
    const bps = Math.max(this.m.makerFeeBasisPoints, this.m.takerFeeBasisPoints, 0);
    return bps === 0 ? 0 : ceilBasisPoints(notional, bps);
  }

  /** The cash an order holds for `leaves` open quantity, of which `covered` are long shares held (sells). */
  private holdFor(account: number, instrument: number, isBuy: boolean, price: number, leaves: number, covered: number): number {
    if (isBuy) {
      const notional = price * leaves;
      const fee = this.feeEstimate(notional);
      return this.isMargin(account) ? ceilBasisPoints(notional, this.margin.initial(instrument)) + fee : notional + fee;
    }
    const short = leaves - covered;
    return short > 0 ? ceilBasisPoints(price * short, this.margin.initial(instrument)) : 0;
  }

  /**
   * The price an order's holds are computed at: its limit, a market order's
   * protection, or for a pending stop-market the band edge around its stop price.
   */
  private holdPrice(instrument: number, isBuy: boolean, orderType: number, price: number): number {
    if (orderType !== OrderType.Stop) return price;
    const bps = this.m.instruments.bandBasisPoints[instrument];
    return isBuy ? Math.min(MAX_PRICE, mulDivCeil(price, BASIS_POINTS + bps, BASIS_POINTS)) : mulDivFloor(price, BASIS_POINTS - bps, BASIS_POINTS);
  }

  checkAccountCanTrade(account: number): number {
    // Small enough to inline into the matcher's new-order checks, which pass an account id
    // already validated as an integer in 1..maxAccounts (status 0: never opened).
    const status = this.accounts.status[account];
    if (status === AccountStatus.Active) return 0;
    return status === 0 ? RejectReason.UNKNOWN_ACCOUNT : RejectReason.ACCOUNT_NOT_ACTIVE;
  }

  checkNewOrder(account: number, instrument: number, side: number, orderType: number, price: number, quantity: number): number {
    const a = this.accounts;
    if (this.m.orders.accountOrderCount[account] >= this.limit(a.maxOpenOrders, account, LimitKind.MaxOpenOrders)) return RejectReason.RISK_LIMIT;
    if (price * quantity > this.limit(a.maxOrderNotional, account, LimitKind.MaxOrderNotional)) return RejectReason.RISK_LIMIT;
    const p = this.positions;
    const row = p.find(account, instrument);
    this.checkedAccount = account;
    this.checkedInstrument = instrument;
    this.checkedRow = row;
    if (row === NO_SLOT && p.used === p.capacity) return RejectReason.POSITION_CAPACITY_EXCEEDED;
    const r = p.rows;
    const at = row * STRIDE;
    const exists = row !== NO_SLOT;
    const position = exists ? r[at + PF.quantity] : 0;
    const maxPosition = this.limit(a.maxPositionQuantity, account, LimitKind.MaxPositionQuantity);
    const isBuy = side === Side.Buy;
    let covered = 0;
    if (isBuy) {
      if (position + (exists ? r[at + PF.openBuy] : 0) + quantity > maxPosition) return RejectReason.RISK_LIMIT;
    } else {
      const freeLong = Math.max(0, position - (exists ? r[at + PF.reservedSell] : 0));
      covered = Math.min(quantity, freeLong);
      if (covered < quantity) {
        if (!this.isMargin(account)) return RejectReason.INSUFFICIENT_POSITION;
        const projectedShort = (exists ? r[at + PF.openSell] : 0) + quantity - position;
        if (projectedShort > this.limit(a.maxShortQuantity, account, LimitKind.MaxShortQuantity)) return RejectReason.SHORT_SELL_NOT_ALLOWED;
        if (projectedShort > maxPosition) return RejectReason.RISK_LIMIT;
      }
    }
    const grossLimit = this.limit(a.maxGrossExposure, account, LimitKind.MaxGrossExposure);
    if (grossLimit < Number.MAX_SAFE_INTEGER && this.grossExposure(account) + price * quantity > grossLimit) return RejectReason.RISK_LIMIT;
    const hold = this.holdFor(account, instrument, isBuy, this.holdPrice(instrument, isBuy, orderType, price), quantity, covered);
    if (hold > 0 && !this.canCommit(account, hold)) return RejectReason.INSUFFICIENT_BUYING_POWER;
    this.checkedHold = hold;
    return 0;
  }

  /** Sum of |position| x mark over the account's positions (walks them: only when a gross limit is set). */
  grossExposure(account: number): number {
    const p = this.positions;
    let gross = 0;
    for (let row = this.accounts.positionHead[account]; row !== NO_SLOT; row = p.nextInAccount[row]) {
      gross += Math.abs(p.rows[row * STRIDE + PF.quantity]) * this.mark(p.rows[row * STRIDE + PF.instrument]);
    }
    return gross;
  }

  // ------------------------------------------------------------ holds

  /** Holds the order's cash and shares for its open quantity; `knownHold` is its cash hold if already computed, else NO_HOLD. */
  private applyHolds(slot: number, knownHold: number): void {
    const orders = this.m.orders;
    const p = this.positions;
    const row = this.orderRow[slot];
    const account = orders.account[slot];
    const instrument = orders.instrument[slot];
    const leaves = orders.leaves[slot];
    const isBuy = orders.side[slot] === Side.Buy;
    const r = p.rows;
    const at = row * STRIDE;
    let covered = 0;
    if (isBuy) {
      r[at + PF.openBuy] += leaves;
    } else {
      covered = Math.min(leaves, Math.max(0, r[at + PF.quantity] - r[at + PF.reservedSell]));
      this.heldShares[slot] = covered;
      r[at + PF.reservedSell] += covered;
      r[at + PF.openSell] += leaves;
    }
    const hold = knownHold !== NO_HOLD ? knownHold : this.holdFor(account, instrument, isBuy, this.holdPriceOf(slot), leaves, covered);
    orders.reservedCash[slot] = hold;
    this.accounts.reserved[account] += hold;
  }

  /** The price an order's holds are computed at now (a pending stop: its stop terms). */
  private holdPriceOf(slot: number): number {
    const orders = this.m.orders;
    if (orders.status[slot] !== OrderStatus.PendingStop) return orders.price[slot];
    const orderType = orders.orderType[slot];
    const isBuy = orders.side[slot] === Side.Buy;
    return this.holdPrice(orders.instrument[slot], isBuy, orderType, orderType === OrderType.Stop ? orders.stopPrice[slot] : orders.price[slot]);
  }

  /** Removes every hold of the order, given the open quantity they were computed for. */
  private releaseHolds(slot: number, leaves: number): void {
    const orders = this.m.orders;
    const p = this.positions;
    const at = this.orderRow[slot] * STRIDE;
    if (orders.side[slot] === Side.Buy) {
      p.rows[at + PF.openBuy] -= leaves;
    } else {
      p.rows[at + PF.openSell] -= leaves;
      p.rows[at + PF.reservedSell] -= this.heldShares[slot];
      this.heldShares[slot] = 0;
    }
    this.accounts.reserved[orders.account[slot]] -= orders.reservedCash[slot];
    orders.reservedCash[slot] = 0;
  }

  onOrderAccepted(slot: number): void {
    const orders = this.m.orders;
    const account = orders.account[slot];
    const instrument = orders.instrument[slot];
    const row = this.checkedRow !== NO_SLOT && this.checkedAccount === account && this.checkedInstrument === instrument
      ? this.checkedRow
      : this.positions.findOrCreate(account, instrument, this.accounts.positionHead, this.isMargin(account));
    this.orderRow[slot] = row;
    // Pending stops are marked before entering the ladder so holds use their stop terms.
    if (orders.orderType[slot] === OrderType.Stop || orders.orderType[slot] === OrderType.StopLimit) orders.status[slot] = OrderStatus.PendingStop;
    // The hold its passing check computed (NO_HOLD for a system order, which is not checked).
    this.applyHolds(slot, this.checkedHold);
    this.checkedHold = NO_HOLD;
    orders.status[slot] = OrderStatus.Matching;
    const hold = orders.reservedCash[slot];
    if (hold > 0) this.emitCashHold(E.CashReserved.code, account, orders.orderId[slot], hold);
  }

  /** At a stop's trigger its hold is recomputed at its new price; false if the account cannot afford it. */
  repriceTriggered(slot: number): boolean {
    const orders = this.m.orders;
    const account = orders.account[slot];
    const before = orders.reservedCash[slot];
    this.releaseHolds(slot, orders.leaves[slot]);
    this.applyHolds(slot, NO_HOLD);
    const after = orders.reservedCash[slot];
    if (after > before && !this.canCommit(account, 0)) return false;
    if (after > before) this.emitCashHold(E.CashReserved.code, account, orders.orderId[slot], after - before);
    else if (after < before) this.emitCashHold(E.CashReleased.code, account, orders.orderId[slot], before - after);
    return true;
  }

  checkReplace(slot: number, newPrice: number, newLeaves: number): number {
    const orders = this.m.orders;
    const account = orders.account[slot];
    const instrument = orders.instrument[slot];
    const isBuy = orders.side[slot] === Side.Buy;
    const a = this.accounts;
    if (newPrice * newLeaves > this.limit(a.maxOrderNotional, account, LimitKind.MaxOrderNotional)) return RejectReason.RISK_LIMIT;
    const r = this.positions.rows;
    const at = this.orderRow[slot] * STRIDE;
    const oldLeaves = orders.leaves[slot];
    let covered = 0;
    if (isBuy) {
      if (r[at + PF.quantity] + r[at + PF.openBuy] - oldLeaves + newLeaves > this.limit(a.maxPositionQuantity, account, LimitKind.MaxPositionQuantity)) return RejectReason.RISK_LIMIT;
    } else {
      const freeLong = Math.max(0, r[at + PF.quantity] - (r[at + PF.reservedSell] - this.heldShares[slot]));
      covered = Math.min(newLeaves, freeLong);
      if (covered < newLeaves) {
        if (!this.isMargin(account)) return RejectReason.INSUFFICIENT_POSITION;
        const projectedShort = r[at + PF.openSell] - oldLeaves + newLeaves - r[at + PF.quantity];
        if (projectedShort > this.limit(a.maxShortQuantity, account, LimitKind.MaxShortQuantity)) return RejectReason.SHORT_SELL_NOT_ALLOWED;
      }
    }
    const pending = orders.status[slot] === OrderStatus.PendingStop;
    const basePrice = pending && orders.orderType[slot] === OrderType.Stop ? orders.stopPrice[slot] : newPrice;
    const price = pending ? this.holdPrice(instrument, isBuy, orders.orderType[slot], basePrice) : newPrice;
    const hold = this.holdFor(account, instrument, isBuy, price, newLeaves, covered);
    const increase = hold - orders.reservedCash[slot];
    if (increase > 0 && !this.canCommit(account, increase)) return RejectReason.INSUFFICIENT_BUYING_POWER;
    return 0;
  }

  onReplaced(slot: number, _oldPrice: number, oldLeaves: number): void {
    const orders = this.m.orders;
    const before = orders.reservedCash[slot];
    this.releaseHolds(slot, oldLeaves);
    this.applyHolds(slot, NO_HOLD);
    const after = orders.reservedCash[slot];
    if (after > before) this.emitCashHold(E.CashReserved.code, orders.account[slot], orders.orderId[slot], after - before);
    else if (after < before) this.emitCashHold(E.CashReleased.code, orders.account[slot], orders.orderId[slot], before - after);
  }

  onOrderDone(slot: number): void {
    const orders = this.m.orders;
    const released = orders.reservedCash[slot];
    this.releaseHolds(slot, orders.leaves[slot]);
    if (released > 0) this.emitCashHold(E.CashReleased.code, orders.account[slot], orders.orderId[slot], released);
  }

  private emitCashHold(code: number, account: number, orderId: number, amount: number): void {
    const out = this.m.out;
    const e = out.begin(code);
    const ev = out.words;
    const H = E.CashReserved.at; // CashReleased has the same layout
    ev[e + H.account] = account;
    ev[e + H.orderId] = orderId;
    ev[e + H.amount] = amount;
    ev[e + H.reservedTotal] = this.accounts.reserved[account];
  }

  // ------------------------------------------------------------ fills

  onTrade(maker: number, taker: number, price: number, quantity: number, makerFee: number, takerFee: number): void {
    this.fill(maker, price, quantity, makerFee);
    this.fill(taker, price, quantity, takerFee);
    const instrument = this.m.orders.instrument[taker];
    const changed = this.markPrice[instrument] !== price;
    this.markPrice[instrument] = price;
    // The two traders' positions and cash changed: re-arm the traded rows, or evaluate exactly.
    this.afterFill(maker);
    this.afterFill(taker);
    if (changed) this.remarkHolders(instrument, price);
    if (this.isMargin(this.feeAccount)) this.afterCashChange(this.feeAccount);
  }

  private fill(slot: number, price: number, quantity: number, fee: number): void {
    const orders = this.m.orders;
    const p = this.positions;
    const r = p.rows;
    const a = this.accounts;
    const row = this.orderRow[slot];
    const at = row * STRIDE;
    const account = orders.account[slot];
    const instrument = orders.instrument[slot];
    const isBuy = orders.side[slot] === Side.Buy;
    // Holds shrink with the open quantity (the matcher already lowered leaves).
    if (isBuy) {
      r[at + PF.openBuy] -= quantity;
    } else {
      r[at + PF.openSell] -= quantity;
      const fromHeld = Math.min(quantity, this.heldShares[slot]);
      this.heldShares[slot] -= fromHeld;
      r[at + PF.reservedSell] -= fromHeld;
    }
    const oldHold = orders.reservedCash[slot];
    const leaves = orders.leaves[slot];
    const newHold = leaves === 0 ? 0 : this.holdFor(account, instrument, isBuy, orders.price[slot], leaves, this.heldShares[slot]);
    orders.reservedCash[slot] = newHold;
    a.reserved[account] += newHold - oldHold;
    // Cash moves at trade time; settlement later only releases proceeds.
    const notional = price * quantity;
    const cashDelta = (isBuy ? -notional : notional) - fee;
    a.cash[account] += cashDelta;
    if (fee !== 0) a.cash[this.feeAccount] += fee;
    this.applyToPosition(row, account, isBuy ? quantity : -quantity, price);
    const settleDate = this.m.tradeDate + this.m.instruments.settlementDays[instrument];
    const proceeds = isBuy ? 0 : notional - fee;
    p.addPending(row, settleDate, isBuy ? quantity : -quantity, cashDelta, proceeds);
    a.unsettledProceeds[account] += proceeds;
    // The row's margin contribution is refreshed when the account's aggregates are next read.
    this.emitPosition(row, account, instrument);
  }

  /** Average-cost accounting; realized P&L (before fees) on the closed part. */
  private applyToPosition(row: number, account: number, delta: number, price: number): void {
    const r = this.positions.rows;
    const at = row * STRIDE;
    const quantity = r[at + PF.quantity];
    if (quantity === 0 || Math.sign(quantity) === Math.sign(delta)) {
      r[at + PF.costBasis] += delta * price;
      r[at + PF.quantity] = quantity + delta;
      return;
    }
    const closing = Math.min(Math.abs(delta), Math.abs(quantity));
    const costBasis = r[at + PF.costBasis];
    const removedCost = closing === Math.abs(quantity) ? costBasis : mulDivTrunc(costBasis, closing, Math.abs(quantity));
    const realized = Math.sign(quantity) * closing * price - removedCost;
    r[at + PF.costBasis] = costBasis - removedCost;
    r[at + PF.realizedPnl] += realized;
    this.accounts.realizedPnl[account] += realized;
    const direction = Math.sign(delta);
    const opening = Math.abs(delta) - closing;
    r[at + PF.quantity] = quantity + direction * closing + direction * opening;
    if (opening > 0) r[at + PF.costBasis] += direction * opening * price;
  }

  /** PositionChanged for the row of (account, instrument), just filled. */
  private emitPosition(row: number, account: number, instrument: number): void {
    const r = this.positions.rows;
    const at = row * STRIDE;
    const out = this.m.out;
    const e = out.begin(E.PositionChanged.code);
    const ev = out.words;
    const P = E.PositionChanged.at;
    ev[e + P.account] = account;
    ev[e + P.instrument] = instrument;
    ev[e + P.quantity] = r[at + PF.quantity];
    ev[e + P.costBasis] = r[at + PF.costBasis];
    ev[e + P.realizedPnl] = r[at + PF.realizedPnl];
    ev[e + P.cashBalance] = this.accounts.cash[account];
    if (this.semantics >= 2) ev[e + P.reservedTotal] = this.accounts.reserved[account];
  }

  // ------------------------------------------------------------ margin

  /**
   * New mark for an instrument: only the margin rows whose trigger it crosses are taken
   * off the instrument's ladder, and their accounts are evaluated exactly, in descending
   * row order (the order of the instrument's holder list, which an exhaustive evaluation
   * of every holder would follow, so MarginCall events and liquidations keep their order).
   * Sound: while no row of an account has crossed its trigger, its floors prove it above
   * maintenance (accounts.ts), so evaluating it could change nothing.
   */
  private remarkHolders(instrument: number, mark: number): void {
    if (this.exhaustive) return this.remarkEveryHolder(instrument);
    const rows = this.crossedRows;
    const count = this.triggers.takeCrossed(instrument, mark, rows, 0);
    if (count === 0) return;
    sortDescending(rows, count);
    for (let i = 0; i < count; i++) this.evaluate(this.positions.rows[rows[i] * STRIDE + PF.account]);
  }

  /** Reference mode: every non-flat margin holder of the instrument, in holder-list order. */
  private remarkEveryHolder(instrument: number): void {
    const p = this.positions;
    for (let row = p.marginInstrumentHead[instrument]; row !== NO_SLOT; row = p.nextMarginInInstrument[row]) {
      if (p.rows[row * STRIDE + PF.quantity] !== 0) this.evaluate(p.rows[row * STRIDE + PF.account]);
    }
  }

  /** Brings every margin row of the account to the current marks (exact aggregates). */
  refreshRows(account: number): void {
    const p = this.positions;
    for (let row = this.accounts.positionHead[account]; row !== NO_SLOT; row = p.nextInAccount[row]) {
      refreshContribution(row, this.mark(p.rows[row * STRIDE + PF.instrument]), p, this.accounts, this.margin);
    }
  }

  /** Exact margin evaluation of an account: fresh aggregates, margin call / liquidation check, every row re-armed. */
  private evaluate(account: number): void {
    if (!this.isMargin(account)) return;
    this.refreshRows(account);
    this.checkMargin(account);
    this.armAccount(account);
  }

  /**
   * After a fill of an order: its account's cash and one position row changed. If the
   * row can be re-armed within what the account's floors leave (rearmRow), the account
   * is provably above maintenance and nothing else needs to move; otherwise (or for an
   * account evaluated on every move) it is evaluated exactly.
   */
  private afterFill(slot: number): void {
    const account = this.m.orders.account[slot];
    if (!this.isMargin(account)) return;
    if (this.exhaustive || this.accounts.evaluateEveryMove[account] === 1 || !this.rearmRow(account, this.m.orders.instrument[slot], this.orderRow[slot])) this.evaluate(account);
  }

  /** The account's cash changed (fees): evaluate it exactly unless its floors still prove it above maintenance. */
  private afterCashChange(account: number): void {
    const a = this.accounts;
    if (this.exhaustive || a.evaluateEveryMove[account] === 1 || a.cash[account] + a.maintenanceFloor[account] < 0) this.evaluate(account);
  }

  /**
   * Re-arms one row of an armed account after its quantity changed. The row keeps its
   * trigger if the account's floors still hold with the row's new floor; otherwise it may
   * use what the account would have above maintenance with this row at its current mark
   * and every other row at its trigger. False (nothing proven, caller evaluates) when that
   * is not positive or the row cannot get a trigger short of its mark. Exact: the floors
   * are integers computed like the requirements, so the tests below are the proof.
   */
  private rearmRow(account: number, instrument: number, row: number): boolean {
    const a = this.accounts;
    const r = this.positions.rows;
    const at = row * STRIDE;
    const quantity = r[at + PF.quantity];
    const othersMaintenance = a.maintenanceFloor[account] - r[at + PF.maintenanceFloor];
    const othersInitial = a.initialFloor[account] - r[at + PF.initialFloor];
    if (quantity === 0) {
      this.disarmRow(row);
      a.maintenanceFloor[account] = othersMaintenance;
      a.initialFloor[account] = othersInitial;
      return a.cash[account] + othersMaintenance >= 0;
    }
    const mark = this.mark(instrument);
    const maintenanceBps = this.margin.maintenance(instrument);
    const isLong = quantity > 0;
    let trigger = r[at + PF.trigger];
    let floor = 0;
    // Usually the row's trigger still holds at its new quantity: only its floors move.
    const keeps = this.triggers.holds(row, isLong) && (isLong ? trigger < mark : trigger > mark) && Number.isSafeInteger(quantity * trigger);
    if (keeps) floor = surplusAt(quantity, trigger, maintenanceBps);
    if (!keeps || a.cash[account] + othersMaintenance + floor < 0) {
      const available = a.cash[account] + othersMaintenance + surplusAt(quantity, mark, maintenanceBps);
      if (!(available > 1)) return false;
      // The rounding of the row's requirement at the trigger may cost one more unit than the budget.
      trigger = triggerMark(quantity, mark, available - 1, maintenanceBps);
      if (isLong ? !(trigger < mark) : !(trigger > mark)) return false;
      if (!Number.isSafeInteger(quantity * trigger)) return false;
      floor = surplusAt(quantity, trigger, maintenanceBps);
      if (a.cash[account] + othersMaintenance + floor < 0) return false;
      r[at + PF.trigger] = trigger;
      this.triggers.set(row, instrument, isLong, trigger);
    }
    const initialFloor = surplusAt(quantity, trigger, this.margin.initial(instrument));
    r[at + PF.maintenanceFloor] = floor;
    r[at + PF.initialFloor] = initialFloor;
    a.maintenanceFloor[account] = othersMaintenance + floor;
    a.initialFloor[account] = othersInitial + initialFloor;
    return true;
  }

  /**
   * Arms every row of a freshly evaluated account (aggregates exact): its slack (equity
   * above maintenance) less one unit per non-flat row for the rounding of each row's
   * requirement is split evenly over those rows, each getting the trigger at which it
   * would have lost its share. A called account, one without slack, or one a row of
   * which cannot get a trigger, is evaluated on every move instead (triggers at
   * -/+Infinity: crossed by any mark), so the end of its call is seen too.
   */
  private armAccount(account: number): void {
    const a = this.accounts;
    const p = this.positions;
    let rows = 0;
    for (let row = a.positionHead[account]; row !== NO_SLOT; row = p.nextInAccount[row]) if (p.rows[row * STRIDE + PF.quantity] !== 0) rows++;
    const slack = a.cash[account] + a.marketValue[account] - a.maintenanceRequirement[account] - rows;
    let armed = a.marginCalled[account] === 0 && slack > 0;
    const share = armed ? slack / rows : 0;
    let maintenanceFloor = 0;
    let initialFloor = 0;
    for (let row = a.positionHead[account]; row !== NO_SLOT && armed; row = p.nextInAccount[row]) {
      const quantity = p.rows[row * STRIDE + PF.quantity];
      if (quantity === 0) continue;
      const instrument = p.rows[row * STRIDE + PF.instrument];
      const mark = this.mark(instrument);
      const maintenanceBps = this.margin.maintenance(instrument);
      const trigger = triggerMark(quantity, mark, share, maintenanceBps);
      armed = (quantity > 0 ? trigger < mark : trigger > mark) && Number.isSafeInteger(quantity * trigger);
      if (!armed) break;
      p.rows[row * STRIDE + PF.trigger] = trigger;
      p.rows[row * STRIDE + PF.maintenanceFloor] = surplusAt(quantity, trigger, maintenanceBps);
      p.rows[row * STRIDE + PF.initialFloor] = surplusAt(quantity, trigger, this.margin.initial(instrument));
      maintenanceFloor += p.rows[row * STRIDE + PF.maintenanceFloor];
      initialFloor += p.rows[row * STRIDE + PF.initialFloor];
    }
    // The floors are exact: they must prove what the split intended, or the account is watched on every move.
    armed = armed && a.cash[account] + maintenanceFloor >= 0;
    a.evaluateEveryMove[account] = armed ? 0 : 1;
    a.maintenanceFloor[account] = armed ? maintenanceFloor : 0;
    a.initialFloor[account] = armed ? initialFloor : 0;
    for (let row = a.positionHead[account]; row !== NO_SLOT; row = p.nextInAccount[row]) {
      const quantity = p.rows[row * STRIDE + PF.quantity];
      if (quantity === 0) {
        this.disarmRow(row);
        continue;
      }
      if (!armed) {
        p.rows[row * STRIDE + PF.trigger] = quantity > 0 ? Infinity : -Infinity;
        p.rows[row * STRIDE + PF.maintenanceFloor] = 0;
        p.rows[row * STRIDE + PF.initialFloor] = 0;
      }
      this.triggers.set(row, p.rows[row * STRIDE + PF.instrument], quantity > 0, p.rows[row * STRIDE + PF.trigger]);
    }
  }

  /**
   * Checks what the lazy margin evaluation relies on (O(rows): tests and verification only):
   * every non-flat margin row is on its ladder; an armed account's floors are the exact sums
   * of its rows' floors at their triggers, prove it above maintenance, and no trigger is
   * crossed by the current mark; an account evaluated on every move has infinite triggers.
   */
  verifyMarginFloors(): void {
    const a = this.accounts;
    const p = this.positions;
    for (let account = 1; account <= a.maxAccounts; account++) {
      if (a.status[account] === 0 || !this.isMargin(account)) continue;
      const armed = a.evaluateEveryMove[account] === 0;
      let maintenanceFloor = 0;
      let initialFloor = 0;
      for (let row = a.positionHead[account]; row !== NO_SLOT; row = p.nextInAccount[row]) {
        const quantity = p.rows[row * STRIDE + PF.quantity];
        const isLong = quantity > 0;
        const where = `account ${account} row ${row} (quantity ${quantity}, trigger ${p.rows[row * STRIDE + PF.trigger]})`;
        if (quantity === 0) {
          if (this.triggers.holds(row, true) || this.triggers.holds(row, false)) throw new Error(`margin: flat ${where} is on a ladder`);
          continue;
        }
        if (!this.triggers.holds(row, isLong)) throw new Error(`margin: ${where} is not on its ladder`);
        if (!armed) {
          if (p.rows[row * STRIDE + PF.trigger] !== (isLong ? Infinity : -Infinity)) throw new Error(`margin: ${where} of an account watched on every move`);
          continue;
        }
        const instrument = p.rows[row * STRIDE + PF.instrument];
        const mark = this.mark(instrument);
        if (isLong ? !(p.rows[row * STRIDE + PF.trigger] < mark) : !(p.rows[row * STRIDE + PF.trigger] > mark)) throw new Error(`margin: ${where} is crossed at mark ${mark}`);
        if (p.rows[row * STRIDE + PF.maintenanceFloor] !== surplusAt(quantity, p.rows[row * STRIDE + PF.trigger], this.margin.maintenance(instrument))) throw new Error(`margin: ${where} maintenance floor`);
        if (p.rows[row * STRIDE + PF.initialFloor] !== surplusAt(quantity, p.rows[row * STRIDE + PF.trigger], this.margin.initial(instrument))) throw new Error(`margin: ${where} initial floor`);
        maintenanceFloor += p.rows[row * STRIDE + PF.maintenanceFloor];
        initialFloor += p.rows[row * STRIDE + PF.initialFloor];
      }
      if (!armed) continue;
      if (maintenanceFloor !== a.maintenanceFloor[account] || initialFloor !== a.initialFloor[account]) {
        throw new Error(`margin: account ${account} floors ${a.maintenanceFloor[account]} / ${a.initialFloor[account]}, rows add up to ${maintenanceFloor} / ${initialFloor}`);
      }
      if (a.cash[account] + maintenanceFloor < 0) throw new Error(`margin: account ${account} armed but its floors do not cover maintenance`);
    }
  }

  /** A flat row has no trigger and adds nothing to the floors. */
  private disarmRow(row: number): void {
    const r = this.positions.rows;
    const at = row * STRIDE;
    this.triggers.remove(row);
    r[at + PF.trigger] = 0;
    r[at + PF.maintenanceFloor] = 0;
    r[at + PF.initialFloor] = 0;
  }

  private checkMargin(account: number): void {
    const a = this.accounts;
    if (!this.isMargin(account) || a.liquidating[account] === 1) return;
    const equity = a.cash[account] + a.marketValue[account];
    if (equity < a.liquidationRequirement[account]) {
      a.liquidating[account] = 1;
      this.liquidationQueue[this.liquidationCount++] = account;
    } else if (equity < a.maintenanceRequirement[account]) {
      if (a.marginCalled[account] === 0) {
        a.marginCalled[account] = 1;
        const e = this.m.out.begin(E.MarginCall.code);
        const ev = this.m.out.words;
        ev[e + E.MarginCall.at.account] = account;
        ev[e + E.MarginCall.at.equity] = equity;
        ev[e + E.MarginCall.at.maintenanceRequirement] = a.maintenanceRequirement[account];
      }
    } else {
      a.marginCalled[account] = 0;
    }
  }

  /** Runs queued liquidations once the command's matching is over (never mid-sweep). */
  afterCommand(): void {
    // Small enough to inline into every command's dispatch; the loop is out of line.
    if (this.liquidationCount !== 0) this.runLiquidations();
  }

  private runLiquidations(): void {
    // Liquidations may queue more (cascades); flags stay set until all are done, so
    // each account is liquidated at most once per command and the loop is bounded.
    for (let i = 0; i < this.liquidationCount; i++) this.liquidate(this.liquidationQueue[i]);
    for (let i = 0; i < this.liquidationCount; i++) this.accounts.liquidating[this.liquidationQueue[i]] = 0;
    this.liquidationCount = 0;
  }

  private liquidate(account: number): void {
    const a = this.accounts;
    const p = this.positions;
    this.refreshRows(account);
    const e = this.m.out.begin(E.LiquidationStarted.code);
    const ev = this.m.out.words;
    ev[e + E.LiquidationStarted.at.account] = account;
    ev[e + E.LiquidationStarted.at.equity] = a.cash[account] + a.marketValue[account];
    ev[e + E.LiquidationStarted.at.liquidationRequirement] = a.liquidationRequirement[account];
    this.m.cancelWhere(account, 0, 0, CancelReason.LIQUIDATION);
    const rows: number[] = [];
    for (let row = a.positionHead[account]; row !== NO_SLOT; row = p.nextInAccount[row]) rows.push(row);
    rows.sort((x, y) => p.get(x, PF.instrument) - p.get(y, PF.instrument));
    for (const row of rows) {
      const quantity = p.rows[row * STRIDE + PF.quantity];
      if (quantity === 0 || !this.m.instruments.isOpen(p.rows[row * STRIDE + PF.instrument])) continue;
      this.m.submitSystemOrder(account, p.rows[row * STRIDE + PF.instrument], quantity > 0 ? Side.Sell : Side.Buy, Math.abs(quantity));
    }
    a.marginCalled[account] = 0;
    this.checkMarginAfterLiquidation(account);
  }

  private checkMarginAfterLiquidation(account: number): void {
    const a = this.accounts;
    this.refreshRows(account);
    const equity = a.cash[account] + a.marketValue[account];
    if (equity < a.maintenanceRequirement[account]) {
      a.marginCalled[account] = 1;
      this.armAccount(account); // called: watched on every move until the call ends
    }
  }

  // ------------------------------------------------------------ settlement

  onEndOfDay(tradeDate: number): void {
    const p = this.positions;
    const a = this.accounts;
    const bucket = tradeDate % SETTLEMENT_BUCKETS;
    const count = p.dueCount[bucket];
    for (let i = 0; i < count; i++) {
      const row = p.dueRows[bucket * p.capacity + i];
      const at = row * STRIDE;
      const cell = at + PF.pending + bucket * PENDING_WORDS; // quantity, cash, proceeds
      const account = p.rows[at + PF.account];
      a.unsettledProceeds[account] -= p.rows[cell + 2];
      const e = this.m.out.begin(E.Settled.code);
      const ev = this.m.out.words;
      const S = E.Settled.at;
      ev[e + S.account] = account;
      ev[e + S.instrument] = p.rows[at + PF.instrument];
      ev[e + S.quantity] = p.rows[cell];
      ev[e + S.cash] = p.rows[cell + 1];
      ev[e + S.tradeDate] = tradeDate;
      p.rows[cell] = 0;
      p.rows[cell + 1] = 0;
      p.rows[cell + 2] = 0;
    }
    p.dueCount[bucket] = 0;
  }

  // ------------------------------------------------------------ fee account

  checkFeeAccount(feeAccount: number, makerBasisPoints: number, takerBasisPoints: number): number {
    if ((makerBasisPoints !== 0 || takerBasisPoints !== 0) && !this.accounts.exists(feeAccount)) return RejectReason.UNKNOWN_ACCOUNT;
    return 0;
  }

  setFeeAccount(feeAccount: number): void {
    this.feeAccount = feeAccount;
  }

  // ------------------------------------------------------------ account commands

  private openAccount(account: number, accountType: number): void {
    const reject = (reason: number) => this.m.commandRejected(C.OpenAccount.code, account, reason, 0);
    if (!Number.isInteger(account) || account < 1) return reject(RejectReason.INVALID_FIELD);
    if (account > this.accounts.maxAccounts) return reject(RejectReason.ACCOUNT_CAPACITY_EXCEEDED);
    if (accountType !== AccountType.Cash && accountType !== AccountType.Margin) return reject(RejectReason.INVALID_FIELD);
    if (this.accounts.exists(account)) return reject(RejectReason.ACCOUNT_EXISTS);
    this.accounts.status[account] = AccountStatus.PendingKyc;
    this.accounts.accountType[account] = accountType;
    const e = this.m.out.begin(E.AccountOpened.code);
    this.m.out.words[e + E.AccountOpened.at.account] = account;
    this.m.out.words[e + E.AccountOpened.at.accountType] = accountType;
  }

  private setAccountStatus(account: number, action: number): void {
    const a = this.accounts;
    const reject = (reason: number) => this.m.commandRejected(C.SetAccountStatus.code, account, reason, 0);
    if (!a.exists(account)) return reject(RejectReason.UNKNOWN_ACCOUNT);
    const S = AccountStatus;
    const from = a.status[account];
    let to = 0;
    switch (action) {
      case AccountAction.ApproveKyc: to = from === S.PendingKyc ? S.Active : 0; break;
      case AccountAction.RejectKyc: to = from === S.PendingKyc ? S.Rejected : 0; break;
      case AccountAction.Suspend: to = from === S.Active ? S.Suspended : 0; break;
      case AccountAction.Resume: to = from === S.Suspended ? S.Active : 0; break;
      case AccountAction.Close: to = from !== S.Closed ? S.Closed : 0; break;
      default: return reject(RejectReason.INVALID_FIELD);
    }
    if (to === 0) return reject(RejectReason.INVALID_STATE_TRANSITION);
    if (to === S.Closed && !this.isEmpty(account)) return reject(RejectReason.ACCOUNT_NOT_EMPTY);
    a.status[account] = to;
    const e = this.m.out.begin(E.AccountStatusChanged.code);
    const ev = this.m.out.words;
    ev[e + E.AccountStatusChanged.at.account] = account;
    ev[e + E.AccountStatusChanged.at.status] = to;
    ev[e + E.AccountStatusChanged.at.previousStatus] = from;
    if (to === S.Suspended) this.m.cancelWhere(account, 0, 0, CancelReason.ACCOUNT_SUSPENDED);
  }

  private isEmpty(account: number): boolean {
    const a = this.accounts;
    const p = this.positions;
    if (a.cash[account] !== 0 || this.m.orders.accountOrderCount[account] !== 0) return false;
    for (let row = a.positionHead[account]; row !== NO_SLOT; row = p.nextInAccount[row]) if (p.rows[row * STRIDE + PF.quantity] !== 0) return false;
    return true;
  }

  private moveCash(isDeposit: boolean, account: number, amount: number, reference: number): void {
    const type = isDeposit ? C.Deposit.code : C.Withdraw.code;
    const a = this.accounts;
    const reject = (reason: number) => this.m.commandRejected(type, account, reason, reference);
    if (!Number.isSafeInteger(reference) || reference < 1) return reject(RejectReason.INVALID_FIELD);
    if (!Number.isSafeInteger(amount) || amount < 1 || amount > MAX_CASH_AMOUNT) return reject(RejectReason.INVALID_FIELD);
    if (!a.exists(account)) return reject(RejectReason.UNKNOWN_ACCOUNT);
    if (this.cashReferences.has(reference)) return reject(RejectReason.DUPLICATE_REFERENCE);
    const status = a.status[account];
    if (isDeposit ? status === AccountStatus.Closed || status === AccountStatus.Rejected : status !== AccountStatus.Active) {
      return reject(RejectReason.ACCOUNT_NOT_ACTIVE);
    }
    if (!isDeposit && amount > this.withdrawable(account)) {
      const cashFree = a.cash[account] - a.unsettledProceeds[account] - a.reserved[account];
      return reject(amount > cashFree ? RejectReason.INSUFFICIENT_FUNDS : RejectReason.MARGIN_REQUIREMENT);
    }
    this.cashReferences.add(reference);
    a.cash[account] += isDeposit ? amount : -amount;
    if (!isDeposit) this.evaluate(account); // less slack: re-arm the triggers
    const e = this.m.out.begin(isDeposit ? E.CashDeposited.code : E.CashWithdrawn.code);
    const ev = this.m.out.words;
    const D = E.CashDeposited.at; // CashWithdrawn has the same layout
    ev[e + D.account] = account;
    ev[e + D.amount] = amount;
    ev[e + D.reference] = reference;
    ev[e + D.cashBalance] = a.cash[account];
  }

  private setAccountLimits(w: Float64Array, o: number): void {
    const L = C.SetAccountLimits.at;
    const account = w[o + L.account];
    const a = this.accounts;
    const values = [w[o + L.maxOpenOrders], w[o + L.maxOrderNotional], w[o + L.maxPositionQuantity], w[o + L.maxGrossExposure], w[o + L.maxShortQuantity]];
    if (!a.exists(account)) return this.m.commandRejected(C.SetAccountLimits.code, account, RejectReason.UNKNOWN_ACCOUNT, 0);
    if (!values.every((v) => Number.isSafeInteger(v) && v >= 0)) return this.m.commandRejected(C.SetAccountLimits.code, account, RejectReason.INVALID_FIELD, 0);
    [a.maxOpenOrders[account], a.maxOrderNotional[account], a.maxPositionQuantity[account], a.maxGrossExposure[account], a.maxShortQuantity[account]] = values;
    const e = this.m.out.begin(E.AccountLimitsSet.code);
    const ev = this.m.out.words;
    const S = E.AccountLimitsSet.at;
    ev[e + S.account] = account;
    ev[e + S.maxOpenOrders] = values[0];
    ev[e + S.maxOrderNotional] = values[1];
    ev[e + S.maxPositionQuantity] = values[2];
    ev[e + S.maxGrossExposure] = values[3];
    ev[e + S.maxShortQuantity] = values[4];
  }

  private setMarginParameters(w: Float64Array, o: number): void {
    const M = C.SetMarginParameters.at;
    const instrument = w[o + M.instrument];
    const initial = w[o + M.initialBasisPoints];
    const maintenance = w[o + M.maintenanceBasisPoints];
    const liquidation = w[o + M.liquidationBasisPoints];
    if (instrument !== 0 && !this.m.instruments.has(instrument)) {
      return this.m.commandRejected(C.SetMarginParameters.code, instrument, RejectReason.UNKNOWN_INSTRUMENT, 0);
    }
    const ok = [initial, maintenance, liquidation].every((v) => Number.isInteger(v)) && liquidation >= 1 && liquidation <= maintenance && maintenance <= initial && initial <= BASIS_POINTS;
    if (!ok) return this.m.commandRejected(C.SetMarginParameters.code, instrument, RejectReason.INVALID_FIELD, 0);
    this.margin.initialBps[instrument] = initial;
    this.margin.maintenanceBps[instrument] = maintenance;
    this.margin.liquidationBps[instrument] = liquidation;
    const e = this.m.out.begin(E.MarginParametersSet.code);
    const ev = this.m.out.words;
    const S = E.MarginParametersSet.at;
    ev[e + S.instrument] = instrument;
    ev[e + S.initialBasisPoints] = initial;
    ev[e + S.maintenanceBasisPoints] = maintenance;
    ev[e + S.liquidationBasisPoints] = liquidation;
    // Requirements change with the parameters: refresh the affected margin rows, then check them.
    const p = this.positions;
    for (let row = 0; row < p.used; row++) {
      const i = p.rows[row * STRIDE + PF.instrument];
      if ((instrument === 0 || i === instrument) && this.isMargin(p.rows[row * STRIDE + PF.account])) {
        refreshContribution(row, this.mark(i), p, this.accounts, this.margin, true); // new rates: recompute even at the same value
        this.evaluate(p.rows[row * STRIDE + PF.account]);
      }
    }
  }

  // ------------------------------------------------------------ corporate actions

  /**
   * numerator:denominator split (2:1 doubles shares, 1:2 is a reverse split).
   * Halts the instrument, cancels its orders, scales positions (fractions paid as
   * cash in lieu at the post-split reference), rescales reference and band, resumes.
   */
  private stockSplit(instrument: number, numerator: number, denominator: number): void {
    const m = this.m;
    const ins = m.instruments;
    if (!ins.has(instrument)) return m.commandRejected(C.StockSplit.code, instrument, RejectReason.UNKNOWN_INSTRUMENT, 0);
    const valid = (v: number) => Number.isInteger(v) && v >= 1 && v <= 1000;
    if (!valid(numerator) || !valid(denominator) || numerator === denominator) {
      return m.commandRejected(C.StockSplit.code, instrument, RejectReason.INVALID_FIELD, 0);
    }
    const reference = ins.referencePrice[instrument];
    const tick = ins.tickSize[instrument];
    const newReference = Math.max(tick, Math.round(mulDivFloor(reference, denominator, numerator) / tick) * tick);
    const wasOpen = ins.state[instrument] === InstrumentState.Open;
    if (wasOpen) m.setState(instrument, InstrumentState.Halted, StateChangeReason.CorporateAction);
    m.cancelWhere(0, instrument, 0, CancelReason.CORPORATE_ACTION);
    const p = this.positions;
    for (let row = p.instrumentHead[instrument]; row !== NO_SLOT; row = p.nextInInstrument[row]) {
      const quantity = p.rows[row * STRIDE + PF.quantity];
      if (quantity === 0) continue;
      const scaled = quantity * numerator;
      const whole = mulDivTrunc(quantity, numerator, denominator);
      const remainder = scaled - whole * denominator; // fractional shares x denominator, same sign as quantity
      const cashInLieu = mulDivTrunc(remainder, reference, numerator);
      const fractionCost = remainder === 0 ? 0 : mulDivTrunc(p.rows[row * STRIDE + PF.costBasis], remainder, scaled);
      const account = p.rows[row * STRIDE + PF.account];
      p.rows[row * STRIDE + PF.costBasis] -= fractionCost;
      p.rows[row * STRIDE + PF.realizedPnl] += cashInLieu - fractionCost;
      this.accounts.realizedPnl[account] += cashInLieu - fractionCost;
      p.rows[row * STRIDE + PF.quantity] = whole;
      this.accounts.cash[account] += cashInLieu;
      this.emitCorporateAction(instrument, account, CorporateActionKind.Split, whole - quantity, cashInLieu, numerator, denominator);
    }
    ins.lastPrice[instrument] = ins.lastPrice[instrument] === 0 ? 0 : newReference;
    ins.setReference(instrument, newReference);
    this.markPrice[instrument] = newReference;
    // Quantities and the mark changed together: re-evaluate every margin holder exactly.
    for (let row = p.marginInstrumentHead[instrument]; row !== NO_SLOT; row = p.nextMarginInInstrument[row]) this.evaluate(p.rows[row * STRIDE + PF.account]);
    this.emitCorporateAction(instrument, 0, CorporateActionKind.Split, 0, 0, numerator, denominator);
    if (wasOpen) m.setState(instrument, InstrumentState.Open, StateChangeReason.CorporateAction);
  }

  /** Credits (debits, for shorts) every holder amountPerShare x position at the record date: now. */
  private cashDividend(instrument: number, amountPerShare: number): void {
    const m = this.m;
    if (!m.instruments.has(instrument)) return m.commandRejected(C.CashDividend.code, instrument, RejectReason.UNKNOWN_INSTRUMENT, 0);
    if (!Number.isSafeInteger(amountPerShare) || amountPerShare < 1 || amountPerShare > MAX_PRICE) {
      return m.commandRejected(C.CashDividend.code, instrument, RejectReason.INVALID_FIELD, 0);
    }
    const p = this.positions;
    for (let row = p.instrumentHead[instrument]; row !== NO_SLOT; row = p.nextInInstrument[row]) {
      const quantity = p.rows[row * STRIDE + PF.quantity];
      if (quantity === 0) continue;
      const cash = quantity * amountPerShare;
      this.accounts.cash[p.rows[row * STRIDE + PF.account]] += cash;
      if (cash < 0) this.evaluate(p.rows[row * STRIDE + PF.account]); // a short pays: less slack
      this.emitCorporateAction(instrument, p.rows[row * STRIDE + PF.account], CorporateActionKind.CashDividend, quantity, cash, amountPerShare, 1);
    }
    this.emitCorporateAction(instrument, 0, CorporateActionKind.CashDividend, 0, 0, amountPerShare, 1);
  }

  private emitCorporateAction(instrument: number, account: number, kind: number, quantity: number, cash: number, numerator: number, denominator: number): void {
    const e = this.m.out.begin(E.CorporateActionApplied.code);
    const ev = this.m.out.words;
    const A = E.CorporateActionApplied.at;
    ev[e + A.instrument] = instrument;
    ev[e + A.account] = account;
    ev[e + A.kind] = kind;
    ev[e + A.quantity] = quantity;
    ev[e + A.cash] = cash;
    ev[e + A.numerator] = numerator;
    ev[e + A.denominator] = denominator;
  }

  // ------------------------------------------------------------ snapshot image

  imageParts(): ImagePart[] {
    const n = this.m.orders.highWater;
    return [
      ...this.accounts.imageParts(),
      ...this.positions.imageParts(),
      { name: 'risk.orderRow', array: this.orderRow, length: n },
      { name: 'risk.heldShares', array: this.heldShares, length: n },
      { name: 'risk.markPrice', array: this.markPrice, length: this.markPrice.length },
      { name: 'risk.initialBps', array: this.margin.initialBps, length: this.margin.initialBps.length },
      { name: 'risk.maintenanceBps', array: this.margin.maintenanceBps, length: this.margin.maintenanceBps.length },
      { name: 'risk.liquidationBps', array: this.margin.liquidationBps, length: this.margin.liquidationBps.length },
      { name: 'risk.cashReferences', array: this.cashReferences.ring, length: this.cashReferences.written },
    ];
  }

  imageScalars(): Record<string, unknown> {
    if (this.liquidationCount !== 0) throw new Error('state image cut with liquidations pending');
    const refs = this.cashReferences;
    return {
      feeAccount: this.feeAccount,
      positionsUsed: this.positions.used,
      dueCount: Array.from(this.positions.dueCount),
      cashReferences: [refs.head, refs.count, refs.written],
    };
  }

  restoreScalars(scalars: Record<string, unknown>): void {
    const s = scalars as { feeAccount: number; positionsUsed: number; dueCount: number[]; cashReferences: number[] };
    this.feeAccount = s.feeAccount;
    this.positions.used = s.positionsUsed;
    this.positions.dueCount.set(s.dueCount);
    [this.cashReferences.head, this.cashReferences.count, this.cashReferences.written] = s.cashReferences;
  }

  rebuildIndexes(): void {
    this.positions.rebuildIndex();
    this.cashReferences.rebuild();
    // The ladders are derived from the rows' triggers: every non-flat margin row is on its instrument's.
    const p = this.positions;
    this.triggers.clear();
    for (let row = 0; row < p.used; row++) {
      const quantity = p.rows[row * STRIDE + PF.quantity];
      if (quantity !== 0 && this.isMargin(p.rows[row * STRIDE + PF.account])) this.triggers.set(row, p.rows[row * STRIDE + PF.instrument], quantity > 0, p.rows[row * STRIDE + PF.trigger]);
    }
  }
}


/** Sorts the first `count` entries of `values` in descending order, in place (heapsort: no allocation, no recursion). */
function sortDescending(values: Int32Array, count: number): void {
  // A min-heap: moving the minimum to the end again and again leaves the prefix descending.
  for (let i = (count >> 1) - 1; i >= 0; i--) siftDownMin(values, i, count);
  for (let end = count - 1; end > 0; end--) {
    const first = values[0];
    values[0] = values[end];
    values[end] = first;
    siftDownMin(values, 0, end);
  }
}

function siftDownMin(values: Int32Array, start: number, end: number): void {
  let parent = start;
  for (;;) {
    let child = 2 * parent + 1;
    if (child >= end) return;
    if (child + 1 < end && values[child + 1] < values[child]) child++;
    if (values[parent] <= values[child]) return;
    const swap = values[parent];
    values[parent] = values[child];
    values[child] = swap;
    parent = child;
  }
}
