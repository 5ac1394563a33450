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
import {
  AccountAction, AccountStatus, AccountType, CancelReason, CorporateActionKind, InstrumentState, OrderType, RejectReason, Side,
  StateChangeReason,
} from './codes';
import { RecentKeyWindow } from './id-table';
import { BASIS_POINTS, MAX_PRICE, MAX_QUANTITY } from './instruments';
import { mulDivCeil, mulDivFloor, mulDivTrunc } from './integer-math';
import { MarginParameters, refreshContribution } from './margin';
import type { Matcher } from './matcher';
import { NO_SLOT, OrderStatus } from './order-pool';
import { PositionTable, SETTLEMENT_BUCKETS } from './positions';
import type { RiskLayer } from './risk-layer';
import { Commands, Events } from './schema';
import type { ImagePart } from './state-image';

const C = Commands;
const E = Events;
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
  private liquidationCount = 0;
  feeAccount = 0;

  constructor(readonly defaults: RiskDefaults = DEFAULT_RISK) {}

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

  private limit(values: Float64Array, account: number, fallback: number): number {
    return values[account] || fallback;
  }

  private isMargin(account: number): boolean {
    return this.accounts.accountType[account] === AccountType.Margin;
  }

  private mark(instrument: number): number {
    return this.markPrice[instrument] || this.m.instruments.referencePrice[instrument];
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
    return bps === 0 ? 0 : mulDivCeil(notional, bps, BASIS_POINTS);
  }

  /** The cash an order holds for `leaves` open quantity, of which `covered` are long shares held (sells). */
  private holdFor(account: number, instrument: number, isBuy: boolean, price: number, leaves: number, covered: number): number {
    if (isBuy) {
      const notional = price * leaves;
      const rate = this.isMargin(account) ? this.margin.initial(instrument) : BASIS_POINTS;
      return mulDivCeil(notional, rate, BASIS_POINTS) + this.feeEstimate(notional);
    }
    const short = leaves - covered;
    return short > 0 ? mulDivCeil(price * short, this.margin.initial(instrument), BASIS_POINTS) : 0;
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
    if (!this.accounts.exists(account)) return RejectReason.UNKNOWN_ACCOUNT;
    return this.accounts.status[account] === AccountStatus.Active ? 0 : RejectReason.ACCOUNT_NOT_ACTIVE;
  }

  checkNewOrder(account: number, instrument: number, side: number, orderType: number, price: number, quantity: number): number {
    const a = this.accounts;
    const d = this.defaults;
    if (this.m.orders.accountOrderCount[account] >= this.limit(a.maxOpenOrders, account, d.maxOpenOrders)) return RejectReason.RISK_LIMIT;
    if (price * quantity > this.limit(a.maxOrderNotional, account, d.maxOrderNotional)) return RejectReason.RISK_LIMIT;
    const p = this.positions;
    const row = p.find(account, instrument);
    if (row === NO_SLOT && p.used === p.capacity) return RejectReason.POSITION_CAPACITY_EXCEEDED;
    const position = row === NO_SLOT ? 0 : p.quantity[row];
    const maxPosition = this.limit(a.maxPositionQuantity, account, d.maxPositionQuantity);
    const isBuy = side === Side.Buy;
    let covered = 0;
    if (isBuy) {
      if (position + (row === NO_SLOT ? 0 : p.openBuy[row]) + quantity > maxPosition) return RejectReason.RISK_LIMIT;
    } else {
      const freeLong = Math.max(0, position - (row === NO_SLOT ? 0 : p.reservedSell[row]));
      covered = Math.min(quantity, freeLong);
      if (covered < quantity) {
        if (!this.isMargin(account)) return RejectReason.INSUFFICIENT_POSITION;
        const projectedShort = (row === NO_SLOT ? 0 : p.openSell[row]) + quantity - position;
        if (projectedShort > this.limit(a.maxShortQuantity, account, d.maxShortQuantity)) return RejectReason.SHORT_SELL_NOT_ALLOWED;
        if (projectedShort > maxPosition) return RejectReason.RISK_LIMIT;
      }
    }
    const grossLimit = this.limit(a.maxGrossExposure, account, d.maxGrossExposure);
    if (grossLimit < Number.MAX_SAFE_INTEGER && this.grossExposure(account) + price * quantity > grossLimit) return RejectReason.RISK_LIMIT;
    const hold = this.holdFor(account, instrument, isBuy, this.holdPrice(instrument, isBuy, orderType, price), quantity, covered);
    if (hold > 0 && hold > this.buyingPower(account)) return RejectReason.INSUFFICIENT_BUYING_POWER;
    return 0;
  }

  /** Sum of |position| x mark over the account's positions (walks them: only when a gross limit is set). */
  grossExposure(account: number): number {
    const p = this.positions;
    let gross = 0;
    for (let row = this.accounts.positionHead[account]; row !== NO_SLOT; row = p.nextInAccount[row]) {
      gross += Math.abs(p.quantity[row]) * this.mark(p.instrument[row]);
    }
    return gross;
  }

  // ------------------------------------------------------------ holds

  private applyHolds(slot: number): void {
    const orders = this.m.orders;
    const p = this.positions;
    const row = this.orderRow[slot];
    const account = orders.account[slot];
    const instrument = orders.instrument[slot];
    const leaves = orders.leaves[slot];
    const isBuy = orders.side[slot] === Side.Buy;
    let covered = 0;
    if (isBuy) {
      p.openBuy[row] += leaves;
    } else {
      covered = Math.min(leaves, Math.max(0, p.quantity[row] - p.reservedSell[row]));
      this.heldShares[slot] = covered;
      p.reservedSell[row] += covered;
      p.openSell[row] += leaves;
    }
    const price = orders.status[slot] === OrderStatus.PendingStop
      ? this.holdPrice(instrument, isBuy, orders.orderType[slot], orders.orderType[slot] === OrderType.Stop ? orders.stopPrice[slot] : orders.price[slot])
      : orders.price[slot];
    const hold = this.holdFor(account, instrument, isBuy, price, leaves, covered);
    orders.reservedCash[slot] = hold;
    this.accounts.reserved[account] += hold;
  }

  /** Removes every hold of the order, given the open quantity they were computed for. */
  private releaseHolds(slot: number, leaves: number): void {
    const orders = this.m.orders;
    const p = this.positions;
    const row = this.orderRow[slot];
    if (orders.side[slot] === Side.Buy) {
      p.openBuy[row] -= leaves;
    } else {
      p.openSell[row] -= leaves;
      p.reservedSell[row] -= this.heldShares[slot];
      this.heldShares[slot] = 0;
    }
    this.accounts.reserved[orders.account[slot]] -= orders.reservedCash[slot];
    orders.reservedCash[slot] = 0;
  }

  onOrderAccepted(slot: number): void {
    const orders = this.m.orders;
    const account = orders.account[slot];
    const row = this.positions.findOrCreate(account, orders.instrument[slot], this.accounts.positionHead, this.isMargin(account));
    this.orderRow[slot] = row;
    // Pending stops are marked before entering the ladder so holds use their stop terms.
    if (orders.orderType[slot] === OrderType.Stop || orders.orderType[slot] === OrderType.StopLimit) orders.status[slot] = OrderStatus.PendingStop;
    this.applyHolds(slot);
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
    this.applyHolds(slot);
    const after = orders.reservedCash[slot];
    if (after > before && this.buyingPower(account) < 0) return false;
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
    const d = this.defaults;
    if (newPrice * newLeaves > this.limit(a.maxOrderNotional, account, d.maxOrderNotional)) return RejectReason.RISK_LIMIT;
    const row = this.orderRow[slot];
    const p = this.positions;
    const oldLeaves = orders.leaves[slot];
    let covered = 0;
    if (isBuy) {
      if (p.quantity[row] + p.openBuy[row] - oldLeaves + newLeaves > this.limit(a.maxPositionQuantity, account, d.maxPositionQuantity)) return RejectReason.RISK_LIMIT;
    } else {
      const freeLong = Math.max(0, p.quantity[row] - (p.reservedSell[row] - this.heldShares[slot]));
      covered = Math.min(newLeaves, freeLong);
      if (covered < newLeaves) {
        if (!this.isMargin(account)) return RejectReason.INSUFFICIENT_POSITION;
        const projectedShort = p.openSell[row] - oldLeaves + newLeaves - p.quantity[row];
        if (projectedShort > this.limit(a.maxShortQuantity, account, d.maxShortQuantity)) return RejectReason.SHORT_SELL_NOT_ALLOWED;
      }
    }
    const pending = orders.status[slot] === OrderStatus.PendingStop;
    const basePrice = pending && orders.orderType[slot] === OrderType.Stop ? orders.stopPrice[slot] : newPrice;
    const price = pending ? this.holdPrice(instrument, isBuy, orders.orderType[slot], basePrice) : newPrice;
    const hold = this.holdFor(account, instrument, isBuy, price, newLeaves, covered);
    const increase = hold - orders.reservedCash[slot];
    if (increase > 0 && increase > this.buyingPower(account)) return RejectReason.INSUFFICIENT_BUYING_POWER;
    return 0;
  }

  onReplaced(slot: number, _oldPrice: number, oldLeaves: number): void {
    const orders = this.m.orders;
    const before = orders.reservedCash[slot];
    this.releaseHolds(slot, oldLeaves);
    this.applyHolds(slot);
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
    // The two traders' positions and cash changed: evaluate them exactly (and re-arm their triggers).
    this.evaluate(this.m.orders.account[maker]);
    this.evaluate(this.m.orders.account[taker]);
    if (changed) this.remarkHolders(instrument, price);
    if (!this.isMargin(this.feeAccount)) return;
    this.evaluate(this.feeAccount);
  }

  private fill(slot: number, price: number, quantity: number, fee: number): void {
    const orders = this.m.orders;
    const p = this.positions;
    const a = this.accounts;
    const row = this.orderRow[slot];
    const account = orders.account[slot];
    const instrument = orders.instrument[slot];
    const isBuy = orders.side[slot] === Side.Buy;
    // Holds shrink with the open quantity (the matcher already lowered leaves).
    if (isBuy) {
      p.openBuy[row] -= quantity;
    } else {
      p.openSell[row] -= quantity;
      const fromHeld = Math.min(quantity, this.heldShares[slot]);
      this.heldShares[slot] -= fromHeld;
      p.reservedSell[row] -= fromHeld;
    }
    const oldHold = orders.reservedCash[slot];
    const newHold = this.holdFor(account, instrument, isBuy, orders.price[slot], orders.leaves[slot], this.heldShares[slot]);
    orders.reservedCash[slot] = newHold;
    a.reserved[account] += newHold - oldHold;
    // Cash moves at trade time; settlement later only releases proceeds.
    const notional = price * quantity;
    const cashDelta = (isBuy ? -notional : notional) - fee;
    a.cash[account] += cashDelta;
    if (fee !== 0) a.cash[this.feeAccount] += fee;
    this.applyToPosition(row, isBuy ? quantity : -quantity, price);
    const settleDate = this.m.tradeDate + this.m.instruments.settlementDays[instrument];
    const proceeds = isBuy ? 0 : notional - fee;
    p.addPending(row, settleDate, isBuy ? quantity : -quantity, cashDelta, proceeds);
    a.unsettledProceeds[account] += proceeds;
    if (this.isMargin(account)) refreshContribution(row, this.mark(instrument), p, a, this.margin);
    this.emitPosition(row);
  }

  /** Average-cost accounting; realized P&L (before fees) on the closed part. */
  private applyToPosition(row: number, delta: number, price: number): void {
    const p = this.positions;
    const quantity = p.quantity[row];
    if (quantity === 0 || Math.sign(quantity) === Math.sign(delta)) {
      p.costBasis[row] += delta * price;
      p.quantity[row] = quantity + delta;
      return;
    }
    const closing = Math.min(Math.abs(delta), Math.abs(quantity));
    const removedCost = closing === Math.abs(quantity) ? p.costBasis[row] : mulDivTrunc(p.costBasis[row], closing, Math.abs(quantity));
    const realized = Math.sign(quantity) * closing * price - removedCost;
    p.costBasis[row] -= removedCost;
    p.realizedPnl[row] += realized;
    this.accounts.realizedPnl[p.account[row]] += realized;
    const direction = Math.sign(delta);
    const opening = Math.abs(delta) - closing;
    p.quantity[row] = quantity + direction * closing + direction * opening;
    if (opening > 0) p.costBasis[row] += direction * opening * price;
  }

  private emitPosition(row: number): void {
    const p = this.positions;
    const out = this.m.out;
    const e = out.begin(E.PositionChanged.code);
    const ev = out.words;
    const P = E.PositionChanged.at;
    const account = p.account[row];
    ev[e + P.account] = account;
    ev[e + P.instrument] = p.instrument[row];
    ev[e + P.quantity] = p.quantity[row];
    ev[e + P.costBasis] = p.costBasis[row];
    ev[e + P.realizedPnl] = p.realizedPnl[row];
    ev[e + P.cashBalance] = this.accounts.cash[account];
  }

  // ------------------------------------------------------------ margin

  /**
   * New mark for an instrument: its margin holders are visited through the index, and
   * each costs one comparison with its trigger; only holders whose trigger the mark
   * crosses are re-evaluated exactly. Sound: every row of an account holds a share of
   * its slack, so while no row has crossed its trigger the account is above maintenance.
   */
  private remarkHolders(instrument: number, mark: number): void {
    const p = this.positions;
    for (let row = p.marginInstrumentHead[instrument]; row !== NO_SLOT; row = p.nextMarginInInstrument[row]) {
      const quantity = p.quantity[row];
      if (quantity === 0) continue;
      if (quantity > 0 ? mark <= p.trigger[row] : mark >= p.trigger[row]) this.evaluate(p.account[row]);
    }
  }

  /** Brings every margin row of the account to the current marks (exact aggregates). */
  refreshRows(account: number): void {
    const p = this.positions;
    for (let row = this.accounts.positionHead[account]; row !== NO_SLOT; row = p.nextInAccount[row]) {
      refreshContribution(row, this.mark(p.instrument[row]), p, this.accounts, this.margin);
    }
  }

  /** Exact margin evaluation of an account: fresh aggregates, margin call / liquidation check, new triggers. */
  private evaluate(account: number): void {
    if (!this.isMargin(account)) return;
    this.refreshRows(account);
    this.checkMargin(account);
    this.setTriggers(account);
  }

  /**
   * Splits the account's slack (equity above maintenance, less one unit per row for the
   * rounding of each row's requirement) evenly over its non-flat rows and sets each row's
   * trigger mark: the price at which that row's loss, net of its change in requirement,
   * would use up its share. No slack: any adverse move re-evaluates.
   */
  private setTriggers(account: number): void {
    const a = this.accounts;
    const p = this.positions;
    let rows = 0;
    for (let row = a.positionHead[account]; row !== NO_SLOT; row = p.nextInAccount[row]) if (p.quantity[row] !== 0) rows++;
    if (rows === 0) return;
    const slack = a.cash[account] + a.marketValue[account] - a.maintenanceRequirement[account] - rows;
    const share = slack > 0 ? slack / rows : 0;
    // A called account (or one without slack) is re-evaluated on every move of its marks,
    // either way: the end of its margin call must be seen too (one call per episode).
    const always = slack <= 0 || a.marginCalled[account] === 1;
    for (let row = a.positionHead[account]; row !== NO_SLOT; row = p.nextInAccount[row]) {
      const quantity = p.quantity[row];
      if (quantity === 0) continue;
      if (always) {
        p.trigger[row] = quantity > 0 ? Infinity : -Infinity;
        continue;
      }
      const instrument = p.instrument[row];
      const mark = this.mark(instrument);
      const rate = this.margin.maintenance(instrument) / BASIS_POINTS;
      // Slack lost per unit of adverse price move: long q(1 - rate), short |q|(1 + rate).
      p.trigger[row] = quantity > 0 ? mark - share / (quantity * (1 - rate)) : mark + share / (-quantity * (1 + rate));
    }
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
    if (this.liquidationCount === 0) return;
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
    rows.sort((x, y) => p.instrument[x] - p.instrument[y]);
    for (const row of rows) {
      const quantity = p.quantity[row];
      if (quantity === 0 || !this.m.instruments.isOpen(p.instrument[row])) continue;
      this.m.submitSystemOrder(account, p.instrument[row], quantity > 0 ? Side.Sell : Side.Buy, Math.abs(quantity));
    }
    a.marginCalled[account] = 0;
    this.checkMarginAfterLiquidation(account);
  }

  private checkMarginAfterLiquidation(account: number): void {
    const a = this.accounts;
    this.refreshRows(account);
    const equity = a.cash[account] + a.marketValue[account];
    if (equity < a.maintenanceRequirement[account]) a.marginCalled[account] = 1;
  }

  // ------------------------------------------------------------ settlement

  onEndOfDay(tradeDate: number): void {
    const p = this.positions;
    const a = this.accounts;
    const bucket = tradeDate % SETTLEMENT_BUCKETS;
    const count = p.dueCount[bucket];
    for (let i = 0; i < count; i++) {
      const row = p.dueRows[bucket * p.capacity + i];
      const cell = row * SETTLEMENT_BUCKETS + bucket;
      const account = p.account[row];
      a.unsettledProceeds[account] -= p.pendingProceeds[cell];
      const e = this.m.out.begin(E.Settled.code);
      const ev = this.m.out.words;
      const S = E.Settled.at;
      ev[e + S.account] = account;
      ev[e + S.instrument] = p.instrument[row];
      ev[e + S.quantity] = p.pendingQuantity[cell];
      ev[e + S.cash] = p.pendingCash[cell];
      ev[e + S.tradeDate] = tradeDate;
      p.pendingQuantity[cell] = 0;
      p.pendingCash[cell] = 0;
      p.pendingProceeds[cell] = 0;
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
    for (let row = a.positionHead[account]; row !== NO_SLOT; row = p.nextInAccount[row]) if (p.quantity[row] !== 0) return false;
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
      const i = p.instrument[row];
      if ((instrument === 0 || i === instrument) && this.isMargin(p.account[row])) {
        refreshContribution(row, this.mark(i), p, this.accounts, this.margin, true); // new rates: recompute even at the same value
        this.evaluate(p.account[row]);
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
      const quantity = p.quantity[row];
      if (quantity === 0) continue;
      const scaled = quantity * numerator;
      const whole = mulDivTrunc(quantity, numerator, denominator);
      const remainder = scaled - whole * denominator; // fractional shares x denominator, same sign as quantity
      const cashInLieu = mulDivTrunc(remainder, reference, numerator);
      const fractionCost = remainder === 0 ? 0 : mulDivTrunc(p.costBasis[row], remainder, scaled);
      const account = p.account[row];
      p.costBasis[row] -= fractionCost;
      p.realizedPnl[row] += cashInLieu - fractionCost;
      this.accounts.realizedPnl[account] += cashInLieu - fractionCost;
      p.quantity[row] = whole;
      this.accounts.cash[account] += cashInLieu;
      this.emitCorporateAction(instrument, account, CorporateActionKind.Split, whole - quantity, cashInLieu, numerator, denominator);
    }
    ins.lastPrice[instrument] = ins.lastPrice[instrument] === 0 ? 0 : newReference;
    ins.setReference(instrument, newReference);
    this.markPrice[instrument] = newReference;
    // Quantities and the mark changed together: re-evaluate every margin holder exactly.
    for (let row = p.marginInstrumentHead[instrument]; row !== NO_SLOT; row = p.nextMarginInInstrument[row]) this.evaluate(p.account[row]);
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
      const quantity = p.quantity[row];
      if (quantity === 0) continue;
      const cash = quantity * amountPerShare;
      this.accounts.cash[p.account[row]] += cash;
      if (cash < 0) this.evaluate(p.account[row]); // a short pays: less slack
      this.emitCorporateAction(instrument, p.account[row], CorporateActionKind.CashDividend, quantity, cash, amountPerShare, 1);
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
  }
}

