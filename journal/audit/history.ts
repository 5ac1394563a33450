/**
 * Questions answered from the journaled events alone, without re-executing: an order's
 * lifecycle and the trades. One pass, in journal order, with a small running context
 * (instrument symbols, the trade date, the fee account) kept from the very first event
 * so that a range starting late still names things right.
 */
import { Side } from '../../core/codes';
import { decodeEvent } from '../../core/record-objects';
import { commandByCode, eventByCode, Events, EVENT_WORDS, unpackSymbol } from '../../core/schema';
import { afterStart, beforeEnd, cancelReasonName, orderTypeName, Range, rejectReasonName, sideName, timeInForceName, timeUtc } from './format';
import { Row } from './output';
import { Progress } from './progress';
import { AuditSource } from './source';

const E = Events;

/** What a scan knows at each event. */
export class ScanContext {
  readonly symbols = new Map<number, string>();
  tradeDate = 1;
  feeAccount = 0;
  /** The command that caused the current event. */
  commandType = 0;
  commandFirstSequence = 0;
  timestampMicros = 0;

  symbol(instrument: number): string {
    return this.symbols.get(instrument) ?? `#${instrument}`;
  }

  instrumentOf(symbol: string): number | undefined {
    for (const [id, name] of this.symbols) if (name === symbol) return id;
    return undefined;
  }

  get commandName(): string {
    return this.commandType === 0 ? '' : commandByCode[this.commandType]?.name ?? `#${this.commandType}`;
  }

  /** Applies the context changes an event carries (call for every event, in order). */
  observe(events: Float64Array, o: number): void {
    const type = events[o]!;
    if (type === E.InstrumentAdded.code) {
      const A = E.InstrumentAdded.at;
      this.symbols.set(events[o + A.instrument]!, unpackSymbol(events[o + A.symbolHead]!, events[o + A.symbolTail]!));
    } else if (type === E.TradingDayEnded.code) {
      this.tradeDate = events[o + E.TradingDayEnded.at.tradeDate]!;
    } else if (type === E.FeeScheduleSet.code) {
      this.feeAccount = events[o + E.FeeScheduleSet.at.feeAccount]!;
    }
  }
}

/**
 * Visits every event of the commands in `range` (context observed for all events first).
 * `visit` sees the event's words at offset o; returning false stops the scan.
 */
export async function scanEvents(
  source: AuditSource,
  range: Range,
  visit: (events: Float64Array, o: number, context: ScanContext) => void | boolean,
  progress?: Progress,
): Promise<ScanContext> {
  const context = new ScanContext();
  progress?.setTotal(await source.lastSequence());
  let seen = 0;
  const from = range.from;
  const step = (view: { firstSequence: number; lastSequence: number; timestampMicros: number; command: Float64Array; events: Float64Array }): boolean => {
    if (view.command[0] !== 0) {
      if (!beforeEnd(range.to, view.firstSequence, view.timestampMicros)) return false;
      context.commandType = view.command[0]!;
      context.commandFirstSequence = view.firstSequence;
      context.timestampMicros = view.timestampMicros;
    }
    const count = view.lastSequence - view.firstSequence + 1;
    for (let i = 0; i < count; i++) {
      const o = i * EVENT_WORDS;
      context.observe(view.events, o);
      if ((from === undefined || afterStart(from, view.events[o + 1]!, view.timestampMicros)) && visit(view.events, o, context) === false) return false;
    }
    seen += count;
    if ((seen & 0xffff) < count) progress?.update(view.lastSequence);
    return true;
  };
  const records = source.records();
  if (Symbol.iterator in records) {
    for (const view of records as Iterable<Parameters<typeof step>[0]>) if (!step(view)) break;
  } else {
    for await (const view of records as AsyncIterable<Parameters<typeof step>[0]>) if (!step(view)) break;
  }
  progress?.finish(seen);
  return context;
}

// ------------------------------------------------------------------ trades

export const TRADE_COLUMNS = [
  'sequence', 'timestamp_us', 'time_utc', 'trade_date', 'symbol', 'instrument', 'price', 'quantity', 'notional', 'aggressor_side',
  'buy_account', 'sell_account', 'buy_order_id', 'sell_order_id', 'maker_order_id', 'taker_order_id', 'maker_account', 'taker_account',
  'maker_fee', 'taker_fee', 'maker_leaves', 'taker_leaves',
] as const;

export function tradeRow(events: Float64Array, o: number, context: ScanContext): Row {
  const T = E.Trade.at;
  const at = (field: keyof typeof T) => events[o + T[field]]!;
  const aggressorBuys = at('aggressorSide') === Side.Buy;
  const instrument = at('instrument');
  return {
    sequence: events[o + 1]!,
    timestamp_us: events[o + 2]!,
    time_utc: timeUtc(events[o + 2]!),
    trade_date: context.tradeDate,
    symbol: context.symbol(instrument),
    instrument,
    price: at('price'),
    quantity: at('quantity'),
    notional: at('price') * at('quantity'),
    aggressor_side: sideName(at('aggressorSide')),
    buy_account: aggressorBuys ? at('takerAccount') : at('makerAccount'),
    sell_account: aggressorBuys ? at('makerAccount') : at('takerAccount'),
    buy_order_id: aggressorBuys ? at('takerOrderId') : at('makerOrderId'),
    sell_order_id: aggressorBuys ? at('makerOrderId') : at('takerOrderId'),
    maker_order_id: at('makerOrderId'),
    taker_order_id: at('takerOrderId'),
    maker_account: at('makerAccount'),
    taker_account: at('takerAccount'),
    maker_fee: at('makerFee'),
    taker_fee: at('takerFee'),
    maker_leaves: at('makerLeaves'),
    taker_leaves: at('takerLeaves'),
  };
}

export interface TradeFilter {
  symbol?: string;
  account?: number;
  /** Engine trade date (1, 2, ...). */
  tradeDate?: number;
  /** UTC calendar date YYYY-MM-DD of the trade's timestamp. */
  date?: string;
}

export function tradeMatches(events: Float64Array, o: number, context: ScanContext, filter: TradeFilter): boolean {
  const T = E.Trade.at;
  if (filter.symbol !== undefined && context.symbol(events[o + T.instrument]!) !== filter.symbol) return false;
  if (filter.account !== undefined && events[o + T.makerAccount] !== filter.account && events[o + T.takerAccount] !== filter.account) return false;
  if (filter.tradeDate !== undefined && context.tradeDate !== filter.tradeDate) return false;
  if (filter.date !== undefined && timeUtc(events[o + 2]!).slice(0, 10) !== filter.date) return false;
  return true;
}

// ------------------------------------------------------------------ order lifecycle

/** Event types that name an order, and the fields that do. */
const ORDER_FIELDS: ReadonlyMap<number, readonly string[]> = new Map([
  [E.OrderAccepted.code, ['orderId']],
  [E.OrderRejected.code, ['orderId']],
  [E.Trade.code, ['makerOrderId', 'takerOrderId']],
  [E.OrderCanceled.code, ['orderId']],
  [E.OrderReplaced.code, ['orderId']],
  [E.CancelRejected.code, ['orderId']],
  [E.StopTriggered.code, ['orderId']],
  [E.CashReserved.code, ['orderId']],
  [E.CashReleased.code, ['orderId']],
].map(([code, fields]) => [code as number, fields as string[]]));

/** Word offsets of the order-id fields of each event type (by code). */
const ORDER_WORDS: ReadonlyMap<number, readonly number[]> = new Map(
  [...ORDER_FIELDS].map(([code, fields]) => [code, fields.map((name) => eventByCode[code]!.fields.find((f) => f.name === name)!.word)]),
);

export function mentionsOrder(events: Float64Array, o: number, orderId: number): boolean {
  const words = ORDER_WORDS.get(events[o]!);
  if (words === undefined) return false;
  for (const word of words) if (events[o + word] === orderId) return true;
  return false;
}

export interface OrderLifecycle {
  orderId: number;
  found: boolean;
  summary: Record<string, unknown>;
  events: Array<Record<string, unknown>>;
}

/** Readable fields of an event about an order: code names instead of numbers. */
export function describeEvent(events: Float64Array, o: number, context: ScanContext): Record<string, unknown> {
  const event = decodeEvent(events, o);
  const described: Record<string, unknown> = {
    sequence: event.sequence,
    timestamp_us: event.timestamp,
    time_utc: timeUtc(event.timestamp),
    event: event.type,
    command: context.commandName,
  };
  for (const [key, value] of Object.entries(event)) {
    if (key === 'type' || key === 'sequence' || key === 'timestamp' || key === 'origin') continue;
    if (key === 'instrument') described.symbol = context.symbol(value as number);
    else if (key === 'side' || key === 'aggressorSide') described[key] = sideName(value as number);
    else if (key === 'orderType') described[key] = orderTypeName(value as number);
    else if (key === 'timeInForce') described[key] = timeInForceName(value as number);
    else if (key === 'reason' && event.type === 'OrderCanceled') described[key] = cancelReasonName(value as number);
    else if (key === 'reason') described[key] = rejectReasonName(value as number);
    else if (key === 'commandType') described[key] = commandByCode[value as number]?.name ?? value;
    else described[key] = value;
  }
  return described;
}

/** Follows one order through the journal: status, fills, and every event that names it. */
export class OrderTracker {
  readonly events: Array<Record<string, unknown>> = [];
  private accepted: Record<string, unknown> | undefined;
  private status = 'UNKNOWN';
  private quantity = 0;
  private price = 0;
  private leaves = 0;
  private filled = 0;
  private filledNotional = 0;

  constructor(readonly orderId: number) {}

  visit(events: Float64Array, o: number, context: ScanContext): void {
    if (!mentionsOrder(events, o, this.orderId)) return;
    const described = describeEvent(events, o, context);
    const type = events[o]!;
    if (type === E.Trade.code) described.role = events[o + E.Trade.at.makerOrderId] === this.orderId ? 'MAKER' : 'TAKER';
    this.events.push(described);
    const at = (spec: { at: Record<string, number> }, field: string) => events[o + spec.at[field]!]!;
    switch (type) {
      case E.OrderAccepted.code:
        this.accepted = described;
        this.status = 'LIVE';
        this.quantity = at(E.OrderAccepted, 'quantity');
        this.price = at(E.OrderAccepted, 'price');
        this.leaves = this.quantity;
        break;
      case E.Trade.code: {
        const maker = described.role === 'MAKER';
        const quantity = at(E.Trade, 'quantity');
        this.filled += quantity;
        this.filledNotional += quantity * at(E.Trade, 'price');
        this.leaves = maker ? at(E.Trade, 'makerLeaves') : at(E.Trade, 'takerLeaves');
        this.status = this.leaves === 0 ? 'FILLED' : 'PARTIALLY_FILLED';
        break;
      }
      case E.OrderReplaced.code:
        this.quantity = at(E.OrderReplaced, 'quantity');
        this.price = at(E.OrderReplaced, 'price');
        this.leaves = at(E.OrderReplaced, 'leavesQuantity');
        break;
      case E.OrderCanceled.code:
        this.leaves = 0;
        this.status = `CANCELED_${cancelReasonName(at(E.OrderCanceled, 'reason'))}`;
        break;
      case E.StopTriggered.code:
        this.status = 'TRIGGERED';
        break;
      default:
        break;
    }
  }

  result(): OrderLifecycle {
    const accepted = this.accepted;
    return {
      orderId: this.orderId,
      found: accepted !== undefined,
      summary: accepted === undefined ? { orderId: this.orderId, status: 'NOT_FOUND' } : {
        orderId: this.orderId,
        account: accepted.account,
        symbol: accepted.symbol,
        clientOrderId: accepted.clientOrderId,
        side: accepted.side,
        orderType: accepted.orderType,
        timeInForce: accepted.timeInForce,
        acceptedAt: accepted.time_utc,
        price: this.price,
        quantity: this.quantity,
        filledQuantity: this.filled,
        averageFillPrice: this.filled === 0 ? 0 : this.filledNotional / this.filled,
        leavesQuantity: this.leaves,
        status: this.status,
        events: this.events.length,
      },
      events: this.events,
    };
  }
}
