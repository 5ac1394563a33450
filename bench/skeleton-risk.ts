/**
 * The least a risk layer inside the core can do per command: bench:core's floor under
 * the cost of risk (never used by the exchange; the exchange's layer is RiskEngine).
 *
 * It keeps cash, holds and positions for the flow's orders through the same hooks and
 * tables as RiskEngine, with none of its rules:
 *   new order  open-order count against a limit, the (account, instrument) row lookup,
 *              a buy's hold (50% of its notional) against cash - reserved;
 *   accepted   the row and the hold kept per order, the row's open quantity and the
 *              account's reserved cash raised, CashReserved;
 *   done       the same lowered, CashReleased;
 *   trade      per side: open quantity lowered, quantity, cost and cash moved, PositionChanged.
 * Left out (RiskEngine does them; docs/accounts.md): position, short, notional and gross
 * limits, share holds of sells, holds recomputed as orders fill, margin floors, triggers
 * and calls, realized P&L, settlement buckets, fees, account status. So what this costs is
 * a lower bound for any layer meeting the accounts-and-risk rules in this design; with
 * `events: false` it writes no events either (the state changes alone). Like RiskEngine
 * on bench:core's funded accounts it accepts every order of the flow, so the matching is
 * the same (bench:core checks the accepted-order counts).
 */
import * as codes from '../core/codes';
import { ceilBasisPoints } from '../core/integer-math';
import type { Matcher } from '../core/matcher';
import * as positionTable from '../core/positions';
import { PositionTable } from '../core/positions';
import type { RiskLayer } from '../core/risk-layer';
import { Commands, Events } from '../core/schema';
import type { ImagePart } from '../core/state-image';

const { RejectReason, Side } = codes;
const { PositionField: PF, POSITION_STRIDE: STRIDE } = positionTable;
const C = Commands;
const E = Events;
const MAX_OPEN_ORDERS = 1_000_000;
const HOLD_BASIS_POINTS = 5000;

export class SkeletonRisk implements RiskLayer {
  private m!: Matcher;
  private positions!: PositionTable;
  private cash!: Float64Array;
  private reserved!: Float64Array;
  private positionHead!: Int32Array;
  private orderRow!: Int32Array;
  private orderHold!: Float64Array;
  private checkedRow = -1;
  private checkedHold = 0;

  constructor(private readonly events: boolean) {}

  attach(matcher: Matcher): void {
    this.m = matcher;
    const limits = matcher.limits;
    this.positions = new PositionTable(limits.maxPositions, limits.maxInstruments);
    this.cash = new Float64Array(limits.maxAccounts + 1);
    this.reserved = new Float64Array(limits.maxAccounts + 1);
    this.positionHead = new Int32Array(limits.maxAccounts + 1).fill(-1);
    this.orderRow = new Int32Array(limits.maxOrders);
    this.orderHold = new Float64Array(limits.maxOrders);
  }

  handles(commandType: number): boolean {
    return commandType >= C.OpenAccount.code && commandType <= C.CashDividend.code && commandType !== C.SetFeeSchedule.code;
  }

  /** Setup commands: a deposit credits cash; the rest (open, approve, limits) have nothing to keep here. */
  process(commandType: number, w: Float64Array, o: number): void {
    if (commandType === C.Deposit.code) this.cash[w[o + C.Deposit.at.account]] += w[o + C.Deposit.at.amount];
  }

  checkAccountCanTrade(): number {
    return 0;
  }

  checkNewOrder(account: number, instrument: number, side: number, _orderType: number, price: number, quantity: number): number {
    if (this.m.orders.accountOrderCount[account] >= MAX_OPEN_ORDERS) return RejectReason.RISK_LIMIT;
    this.checkedRow = this.positions.findOrCreate(account, instrument, this.positionHead, true);
    const hold = side === Side.Buy ? ceilBasisPoints(price * quantity, HOLD_BASIS_POINTS) : 0;
    if (hold > this.cash[account] - this.reserved[account]) return RejectReason.INSUFFICIENT_BUYING_POWER;
    this.checkedHold = hold;
    return 0;
  }

  onOrderAccepted(slot: number): void {
    const orders = this.m.orders;
    const row = this.checkedRow;
    const hold = this.checkedHold;
    this.orderRow[slot] = row;
    this.orderHold[slot] = hold;
    this.positions.rows[row * STRIDE + (orders.side[slot] === Side.Buy ? PF.openBuy : PF.openSell)] += orders.leaves[slot];
    this.reserved[orders.account[slot]] += hold;
    if (hold > 0) this.emitHold(E.CashReserved.code, slot, hold);
  }

  onOrderDone(slot: number): void {
    const orders = this.m.orders;
    const hold = this.orderHold[slot];
    this.positions.rows[this.orderRow[slot] * STRIDE + (orders.side[slot] === Side.Buy ? PF.openBuy : PF.openSell)] -= orders.leaves[slot];
    this.reserved[orders.account[slot]] -= hold;
    this.orderHold[slot] = 0;
    if (hold > 0) this.emitHold(E.CashReleased.code, slot, hold);
  }

  onTrade(maker: number, taker: number, price: number, quantity: number): void {
    this.fill(maker, price, quantity);
    this.fill(taker, price, quantity);
  }

  private fill(slot: number, price: number, quantity: number): void {
    const orders = this.m.orders;
    const r = this.positions.rows;
    const at = this.orderRow[slot] * STRIDE;
    const account = orders.account[slot];
    const isBuy = orders.side[slot] === Side.Buy;
    const delta = isBuy ? quantity : -quantity;
    r[at + (isBuy ? PF.openBuy : PF.openSell)] -= quantity;
    r[at + PF.quantity] += delta;
    r[at + PF.costBasis] += delta * price;
    this.cash[account] -= delta * price;
    if (!this.events) return;
    const out = this.m.out;
    const e = out.begin(E.PositionChanged.code);
    const P = E.PositionChanged.at;
    out.words[e + P.account] = account;
    out.words[e + P.instrument] = orders.instrument[slot];
    out.words[e + P.quantity] = r[at + PF.quantity];
    out.words[e + P.costBasis] = r[at + PF.costBasis];
    out.words[e + P.cashBalance] = this.cash[account];
    out.words[e + P.reservedTotal] = this.reserved[account];
  }

  private emitHold(code: number, slot: number, amount: number): void {
    if (!this.events) return;
    const out = this.m.out;
    const account = this.m.orders.account[slot];
    const e = out.begin(code);
    const H = E.CashReserved.at; // CashReleased has the same layout
    out.words[e + H.account] = account;
    out.words[e + H.orderId] = this.m.orders.orderId[slot];
    out.words[e + H.amount] = amount;
    out.words[e + H.reservedTotal] = this.reserved[account];
  }

  /** Replaces re-hold at the new terms (the flow's replaces keep their side). */
  checkReplace(): number {
    return 0;
  }

  onReplaced(slot: number, _oldPrice: number, oldLeaves: number): void {
    const orders = this.m.orders;
    const isBuy = orders.side[slot] === Side.Buy;
    const hold = isBuy ? ceilBasisPoints(orders.price[slot] * orders.leaves[slot], HOLD_BASIS_POINTS) : 0;
    this.positions.rows[this.orderRow[slot] * STRIDE + (isBuy ? PF.openBuy : PF.openSell)] += orders.leaves[slot] - oldLeaves;
    this.reserved[orders.account[slot]] += hold - this.orderHold[slot];
    this.orderHold[slot] = hold;
  }

  repriceTriggered(): boolean {
    return true;
  }

  onEndOfDay(): void {}
  afterCommand(): void {}
  checkFeeAccount(): number {
    return 0;
  }
  setFeeAccount(): void {}

  imageParts(): ImagePart[] {
    return [];
  }
  imageScalars(): Record<string, unknown> {
    return {};
  }
  restoreScalars(): void {}
  rebuildIndexes(): void {}
}
