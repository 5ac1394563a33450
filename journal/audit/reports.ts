/**
 * The auditor's reports, each with a fixed column list (documented in docs/audit.md; columns
 * are only ever appended):
 *
 *   blotter      the trades of a day (UTC calendar date, or engine trade date), one row each
 *   audit-trail  every order event, one row per order it concerns (a trade is two rows: the
 *                maker's and the taker's fill), CAT-style
 *   settlement   every Settled event
 *   statement    one account between two points: opening cash, each cash movement (deposits,
 *                withdrawals, buys, sells, fees, dividends, cash in lieu) with a running
 *                balance, closing cash; opening and closing come from re-executing the
 *                journal, the lines from the events, and the two must reconcile
 *
 * The first three read events only; the statement re-executes (it needs balances).
 */
import { CorporateActionKind, Side } from '../../core/codes';
import { commandByCode, Events, EVENT_WORDS } from '../../core/schema';
import { journalFault, notFound, usageError } from './errors';
import { afterStart, beforeEnd, cancelReasonName, orderTypeName, Range, rejectReasonName, sideName, timeInForceName, timeUtc } from './format';
import { ScanContext, scanEvents, TRADE_COLUMNS, TradeFilter, tradeMatches, tradeRow } from './history';
import { Row, TableWriter } from './output';
import { Progress } from './progress';
import { EngineConfig, Group, Replayer, runJournal } from './reexecute';
import { formatDivergence } from './replay';
import { AuditSource } from './source';

const E = Events;

export const BLOTTER_COLUMNS = TRADE_COLUMNS;

export const AUDIT_TRAIL_COLUMNS = [
  'sequence', 'timestamp_us', 'time_utc', 'trade_date', 'event', 'order_id', 'client_order_id', 'account', 'symbol', 'side',
  'order_type', 'time_in_force', 'price', 'stop_price', 'quantity', 'leaves_quantity', 'fill_price', 'fill_quantity', 'liquidity',
  'counterparty_order_id', 'counterparty_account', 'canceled_quantity', 'reason', 'command', 'detail',
] as const;

export const SETTLEMENT_COLUMNS = [
  'sequence', 'timestamp_us', 'time_utc', 'trade_date', 'account', 'symbol', 'instrument', 'quantity', 'cash',
] as const;

export const STATEMENT_COLUMNS = [
  'account', 'sequence', 'timestamp_us', 'time_utc', 'kind', 'symbol', 'side', 'quantity', 'price', 'amount', 'balance', 'order_id', 'reference', 'detail',
] as const;

export type ReportKind = 'blotter' | 'audit-trail' | 'settlement' | 'statement';
export const REPORT_KINDS: readonly ReportKind[] = ['blotter', 'audit-trail', 'settlement', 'statement'];

// ------------------------------------------------------------------ blotter

export async function blotterReport(source: AuditSource, range: Range, filter: TradeFilter, table: TableWriter, progress?: Progress): Promise<void> {
  await scanEvents(source, range, (events, o, context) => {
    if (events[o] === E.Trade.code && tradeMatches(events, o, context, filter)) table.row(tradeRow(events, o, context));
  }, progress);
}

// ------------------------------------------------------------------ order audit trail

interface OrderTerms {
  clientOrderId: number;
  account: number;
  instrument: number;
  side: number;
  orderType: number;
  timeInForce: number;
  price: number;
  stopPrice: number;
  quantity: number;
}

/** Static terms of live orders (forgotten when the order is done: memory bounded by live orders). */
class LiveOrders {
  private readonly terms = new Map<number, OrderTerms>();

  accept(events: Float64Array, o: number): void {
    const A = E.OrderAccepted.at;
    this.terms.set(events[o + A.orderId]!, {
      clientOrderId: events[o + A.clientOrderId]!, account: events[o + A.account]!, instrument: events[o + A.instrument]!,
      side: events[o + A.side]!, orderType: events[o + A.orderType]!, timeInForce: events[o + A.timeInForce]!,
      price: events[o + A.price]!, stopPrice: events[o + A.stopPrice]!, quantity: events[o + A.quantity]!,
    });
  }

  get(orderId: number): OrderTerms | undefined {
    return this.terms.get(orderId);
  }

  done(orderId: number): void {
    this.terms.delete(orderId);
  }
}

/** A row with every audit-trail column (one fixed shape: cheap to build, no spreads). */
interface TrailRow extends Row {
  sequence: number; timestamp_us: number; time_utc: string; trade_date: number; event: string; order_id: number;
  client_order_id: number | null; account: number | null; symbol: string | null; side: string | null; order_type: string | null;
  time_in_force: string | null; price: number | null; stop_price: number | null; quantity: number | null; leaves_quantity: number | null;
  fill_price: number | null; fill_quantity: number | null; liquidity: string | null; counterparty_order_id: number | null;
  counterparty_account: number | null; canceled_quantity: number | null; reason: string | null; command: string; detail: string | null;
}

function trailRow(events: Float64Array, o: number, context: ScanContext, event: string, orderId: number, terms: OrderTerms | undefined): TrailRow {
  const hasTerms = terms !== undefined;
  return {
    sequence: events[o + 1]!,
    timestamp_us: events[o + 2]!,
    time_utc: timeUtc(events[o + 2]!),
    trade_date: context.tradeDate,
    event,
    order_id: orderId,
    client_order_id: hasTerms ? terms.clientOrderId : null,
    account: hasTerms ? terms.account : null,
    symbol: hasTerms ? context.symbol(terms.instrument) : null,
    side: hasTerms ? sideName(terms.side) : null,
    order_type: hasTerms ? orderTypeName(terms.orderType) : null,
    time_in_force: hasTerms ? timeInForceName(terms.timeInForce) : null,
    price: hasTerms ? terms.price : null,
    stop_price: hasTerms ? terms.stopPrice : null,
    quantity: hasTerms ? terms.quantity : null,
    leaves_quantity: null,
    fill_price: null,
    fill_quantity: null,
    liquidity: null,
    counterparty_order_id: null,
    counterparty_account: null,
    canceled_quantity: null,
    reason: null,
    command: context.commandName,
    detail: null,
  };
}

export async function auditTrailReport(source: AuditSource, range: Range, table: TableWriter, filter: { account?: number; symbol?: string }, progress?: Progress): Promise<void> {
  const live = new LiveOrders();
  const emit = (row: TrailRow) => {
    if (filter.account !== undefined && row.account !== filter.account) return;
    if (filter.symbol !== undefined && row.symbol !== filter.symbol) return;
    table.row(row);
  };
  // Live-order terms must be known for orders accepted before the range: scan from the start.
  await scanEvents(source, { to: range.to }, (events, o, context) => {
    const type = events[o]!;
    const inRange = afterStart(range.from, events[o + 1]!, events[o + 2]!);
    switch (type) {
      case E.OrderAccepted.code: {
        live.accept(events, o);
        const orderId = events[o + E.OrderAccepted.at.orderId]!;
        if (inRange) {
          const row = trailRow(events, o, context, 'OrderAccepted', orderId, live.get(orderId));
          row.leaves_quantity = events[o + E.OrderAccepted.at.quantity]!;
          emit(row);
        }
        break;
      }
      case E.OrderRejected.code: {
        const R = E.OrderRejected.at;
        const orderId = events[o + R.orderId]!;
        if (inRange) {
          const row = trailRow(events, o, context, 'OrderRejected', orderId, live.get(orderId));
          row.client_order_id = events[o + R.clientOrderId]!;
          row.account = events[o + R.account]!;
          row.symbol = context.symbol(events[o + R.instrument]!);
          row.reason = rejectReasonName(events[o + R.reason]!);
          row.command = commandByCode[events[o + R.commandType]!]?.name ?? context.commandName;
          emit(row);
        }
        break;
      }
      case E.Trade.code: {
        const T = E.Trade.at;
        const maker = events[o + T.makerOrderId]!;
        const taker = events[o + T.takerOrderId]!;
        const price = events[o + T.price]!;
        const quantity = events[o + T.quantity]!;
        const aggressor = events[o + T.aggressorSide]!;
        if (inRange) {
          const makerRow = trailRow(events, o, context, 'Trade', maker, live.get(maker));
          makerRow.account = events[o + T.makerAccount]!;
          makerRow.side = sideName(aggressor === Side.Buy ? Side.Sell : Side.Buy);
          makerRow.leaves_quantity = events[o + T.makerLeaves]!;
          makerRow.fill_price = price;
          makerRow.fill_quantity = quantity;
          makerRow.liquidity = 'MAKER';
          makerRow.counterparty_order_id = taker;
          makerRow.counterparty_account = events[o + T.takerAccount]!;
          makerRow.detail = `fee ${events[o + T.makerFee]}`;
          emit(makerRow);
          const takerRow = trailRow(events, o, context, 'Trade', taker, live.get(taker));
          takerRow.account = events[o + T.takerAccount]!;
          takerRow.side = sideName(aggressor);
          takerRow.leaves_quantity = events[o + T.takerLeaves]!;
          takerRow.fill_price = price;
          takerRow.fill_quantity = quantity;
          takerRow.liquidity = 'TAKER';
          takerRow.counterparty_order_id = maker;
          takerRow.counterparty_account = events[o + T.makerAccount]!;
          takerRow.detail = `fee ${events[o + T.takerFee]}`;
          emit(takerRow);
        }
        if (events[o + T.makerLeaves] === 0) live.done(maker);
        if (events[o + T.takerLeaves] === 0) live.done(taker);
        break;
      }
      case E.OrderCanceled.code: {
        const C = E.OrderCanceled.at;
        const orderId = events[o + C.orderId]!;
        if (inRange) {
          const row = trailRow(events, o, context, 'OrderCanceled', orderId, live.get(orderId));
          row.account = events[o + C.account]!;
          row.symbol = context.symbol(events[o + C.instrument]!);
          row.side = sideName(events[o + C.side]!);
          row.price = events[o + C.price]!;
          row.leaves_quantity = 0;
          row.canceled_quantity = events[o + C.canceledQuantity]!;
          row.reason = cancelReasonName(events[o + C.reason]!);
          emit(row);
        }
        live.done(orderId);
        break;
      }
      case E.OrderReplaced.code: {
        const P = E.OrderReplaced.at;
        const orderId = events[o + P.orderId]!;
        const terms = live.get(orderId);
        if (inRange) {
          const row = trailRow(events, o, context, 'OrderReplaced', orderId, terms);
          row.price = events[o + P.price]!;
          row.quantity = events[o + P.quantity]!;
          row.leaves_quantity = events[o + P.leavesQuantity]!;
          row.detail = `from price ${events[o + P.oldPrice]} leaves ${events[o + P.oldLeaves]}; priority ${events[o + P.priorityKept] === 1 ? 'kept' : 'lost'}`;
          emit(row);
        }
        if (terms !== undefined) {
          terms.price = events[o + P.price]!;
          terms.quantity = events[o + P.quantity]!;
        }
        break;
      }
      case E.CancelRejected.code: {
        const C = E.CancelRejected.at;
        const orderId = events[o + C.orderId]!;
        if (inRange) {
          const row = trailRow(events, o, context, 'CancelRejected', orderId, live.get(orderId));
          row.account = events[o + C.account]!;
          row.reason = rejectReasonName(events[o + C.reason]!);
          row.command = commandByCode[events[o + C.commandType]!]?.name ?? context.commandName;
          emit(row);
        }
        break;
      }
      case E.StopTriggered.code: {
        const S = E.StopTriggered.at;
        const orderId = events[o + S.orderId]!;
        if (inRange) {
          const row = trailRow(events, o, context, 'StopTriggered', orderId, live.get(orderId));
          row.detail = `stop ${events[o + S.stopPrice]} touched by last ${events[o + S.lastPrice]}`;
          emit(row);
        }
        break;
      }
      default:
        break;
    }
  }, progress);
}

// ------------------------------------------------------------------ settlement

export async function settlementReport(source: AuditSource, range: Range, table: TableWriter, filter: { account?: number; symbol?: string }, progress?: Progress): Promise<void> {
  await scanEvents(source, range, (events, o, context) => {
    if (events[o] !== E.Settled.code) return;
    const S = E.Settled.at;
    const row: Row = {
      sequence: events[o + 1], timestamp_us: events[o + 2], time_utc: timeUtc(events[o + 2]!), trade_date: events[o + S.tradeDate],
      account: events[o + S.account], symbol: context.symbol(events[o + S.instrument]!), instrument: events[o + S.instrument],
      quantity: events[o + S.quantity], cash: events[o + S.cash],
    };
    if (filter.account !== undefined && row.account !== filter.account) return;
    if (filter.symbol !== undefined && row.symbol !== filter.symbol) return;
    table.row(row);
  }, progress);
}

// ------------------------------------------------------------------ account statement

export interface StatementSummary {
  account: number;
  from: string;
  to: string;
  /** Sequence before the first command of the statement (opening state), and of its last event. */
  openingSequence: number;
  closingSequence: number;
  openingCash: number;
  deposits: number;
  withdrawals: number;
  buys: number;
  sells: number;
  feesPaid: number;
  feeIncome: number;
  dividends: number;
  cashInLieu: number;
  trades: number;
  closingCash: number;
  /** openingCash plus every line: must equal closingCash. */
  computedClosingCash: number;
  reconciled: boolean;
}

export async function statementReport(
  source: AuditSource,
  config: EngineConfig,
  account: number,
  range: Range,
  table: TableWriter,
  progress?: Progress,
): Promise<StatementSummary> {
  if (!config.risk) throw usageError('a statement needs the accounts layer: re-execute with --risk on');
  const replayer = new Replayer(config);
  const context = new ScanContext();
  let opening: number | undefined;
  let openingSequence = 0;
  let closingSequence = 0;
  let balance = 0;
  const summary = { deposits: 0, withdrawals: 0, buys: 0, sells: 0, feesPaid: 0, feeIncome: 0, dividends: 0, cashInLieu: 0, trades: 0 };
  const cash = () => replayer.risk!.accounts.cash[account] ?? 0;
  const line = (events: Float64Array, o: number, kind: string, amount: number, cells: Row = {}) => {
    balance += amount;
    table.row({
      account, sequence: events[o + 1], timestamp_us: events[o + 2], time_utc: timeUtc(events[o + 2]!), kind, amount, balance, ...cells,
    });
  };
  const onGroup = (group: Group) => {
    const inRange = afterStart(range.from, group.lastSequence, group.timestampMicros);
    context.commandType = group.command[0]!;
    for (let i = 0; i < group.count; i++) {
      const o = i * EVENT_WORDS;
      const events = group.events;
      context.observe(events, o);
      if (!inRange) continue;
      const type = events[o]!;
      if (type === E.CashDeposited.code || type === E.CashWithdrawn.code) {
        const D = E.CashDeposited.at;
        if (events[o + D.account] !== account) continue;
        const deposit = type === E.CashDeposited.code;
        const amount = events[o + D.amount]!;
        if (deposit) summary.deposits += amount;
        else summary.withdrawals += amount;
        line(events, o, deposit ? 'DEPOSIT' : 'WITHDRAWAL', deposit ? amount : -amount, { reference: events[o + D.reference] });
      } else if (type === E.Trade.code) {
        const T = E.Trade.at;
        const price = events[o + T.price]!;
        const quantity = events[o + T.quantity]!;
        const symbol = context.symbol(events[o + T.instrument]!);
        const aggressorBuys = events[o + T.aggressorSide] === Side.Buy;
        const sides: Array<{ role: 'maker' | 'taker'; buys: boolean }> = [];
        if (events[o + T.makerAccount] === account) sides.push({ role: 'maker', buys: !aggressorBuys });
        if (events[o + T.takerAccount] === account) sides.push({ role: 'taker', buys: aggressorBuys });
        for (const { role, buys } of sides) {
          const notional = price * quantity;
          const orderId = events[o + (role === 'maker' ? T.makerOrderId : T.takerOrderId)];
          summary.trades++;
          if (buys) summary.buys += notional;
          else summary.sells += notional;
          line(events, o, buys ? 'BUY' : 'SELL', buys ? -notional : notional, { symbol, side: buys ? 'Buy' : 'Sell', quantity, price, order_id: orderId, detail: role });
          const fee = events[o + (role === 'maker' ? T.makerFee : T.takerFee)]!;
          if (fee !== 0) {
            summary.feesPaid += fee;
            line(events, o, 'FEE', -fee, { symbol, order_id: orderId, detail: `${role} fee` });
          }
        }
        if (context.feeAccount === account) {
          const income = events[o + T.makerFee]! + events[o + T.takerFee]!;
          if (income !== 0) {
            summary.feeIncome += income;
            line(events, o, 'FEE_INCOME', income, { symbol, detail: `fees of orders ${events[o + T.makerOrderId]} and ${events[o + T.takerOrderId]}` });
          }
        }
      } else if (type === E.CorporateActionApplied.code) {
        const A = E.CorporateActionApplied.at;
        if (events[o + A.account] !== account || events[o + A.cash] === 0) continue;
        const amount = events[o + A.cash]!;
        const dividend = events[o + A.kind] === CorporateActionKind.CashDividend;
        if (dividend) summary.dividends += amount;
        else summary.cashInLieu += amount;
        line(events, o, dividend ? 'DIVIDEND' : 'CASH_IN_LIEU', amount, { symbol: context.symbol(events[o + A.instrument]!), quantity: events[o + A.quantity] });
      }
    }
    if (inRange) closingSequence = group.lastSequence;
  };
  progress?.setTotal(await source.lastSequence());
  await runJournal(source, replayer, {
    progress,
    beforeGroup: (view) => {
      if (!beforeEnd(range.to, view.firstSequence, view.timestampMicros)) return false;
      if (opening === undefined && afterStart(range.from, view.lastSequence, view.timestampMicros)) {
        opening = cash();
        openingSequence = view.firstSequence - 1;
        balance = opening;
        table.row({ account, sequence: openingSequence, timestamp_us: view.timestampMicros, time_utc: timeUtc(view.timestampMicros), kind: 'OPENING_BALANCE', amount: 0, balance: opening });
      }
      return true;
    },
    afterGroup: onGroup,
  });
  progress?.finish(replayer.events);
  if (replayer.divergence !== undefined) throw journalFault(formatDivergence(replayer.divergence), replayer.divergence.sequence);
  if (!replayer.risk!.accounts.exists(account)) throw notFound(`no account ${account} up to ${range.to === undefined ? 'the end of the journal' : 'the end of the range'}`);
  const closing = cash();
  if (opening === undefined) {
    // The range starts after the journal's end: nothing moved.
    opening = closing;
    balance = closing;
    openingSequence = replayer.lastGroup?.lastSequence ?? 0;
    table.row({ account, sequence: openingSequence, kind: 'OPENING_BALANCE', amount: 0, balance: opening });
  }
  const last = replayer.lastGroup;
  table.row({
    account, sequence: closingSequence || openingSequence, timestamp_us: last?.timestampMicros, time_utc: last === undefined ? '' : timeUtc(last.timestampMicros),
    kind: 'CLOSING_BALANCE', amount: 0, balance: closing,
  });
  return {
    account,
    from: range.from === undefined ? 'start' : 'sequence' in range.from ? String(range.from.sequence) : timeUtc(range.from.timeMicros),
    to: range.to === undefined ? 'end' : 'sequence' in range.to ? String(range.to.sequence) : timeUtc(range.to.timeMicros),
    openingSequence,
    closingSequence: closingSequence || openingSequence,
    openingCash: opening,
    ...summary,
    closingCash: closing,
    computedClosingCash: balance,
    reconciled: balance === closing,
  };
}
