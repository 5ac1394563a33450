/**
 * A matcher wired to a collecting sink, with one-line helpers for the commands
 * tests use most. Every helper returns the events the command produced.
 */
import { Matcher, EngineOptions } from '../../core/matcher';
import { CollectingSink, CommandFields, EventObject, encodeCommand } from '../../core/record-objects';
import { CommandName, packSymbol } from '../../core/schema';
import { OrderType, Side, TimeInForce } from '../../core/codes';

export interface InstrumentTerms {
  instrument?: number;
  symbol?: string;
  tickSize?: number;
  lotSize?: number;
  bandBasisPoints?: number;
  maxOrderQuantity?: number;
  maxOrderNotional?: number;
  referencePrice?: number;
  settlementDays?: number;
  initialState?: number;
}

export class Harness {
  readonly sink = new CollectingSink();
  readonly matcher: Matcher;
  time = 1_000_000;

  constructor(options: EngineOptions = {}) {
    this.matcher = new Matcher({ limits: { maxOrders: 4096, maxPriceLevels: 4096, maxLevelsPerSide: 512, maxInstruments: 16, maxAccounts: 1024, clientOrderIdWindow: 4096, maxPositions: 4096}, ...options, sink: this.sink });
  }

  send<N extends CommandName>(name: N, fields: CommandFields<N>, timestamp = ++this.time): EventObject[] {
    if (timestamp > this.time) this.time = timestamp;
    this.matcher.process(encodeCommand(name, fields, timestamp), 0);
    this.matcher.flush();
    return this.sink.take();
  }

  addInstrument(terms: InstrumentTerms = {}): EventObject[] {
    const [symbolHead, symbolTail] = packSymbol(terms.symbol ?? `SYM${terms.instrument ?? 1}`);
    return this.send('AddInstrument', {
      instrument: terms.instrument ?? 1, symbolHead, symbolTail, tickSize: terms.tickSize ?? 1, lotSize: terms.lotSize ?? 1,
      bandBasisPoints: terms.bandBasisPoints ?? 1000, maxOrderQuantity: terms.maxOrderQuantity ?? 1_000_000,
      maxOrderNotional: terms.maxOrderNotional ?? 1e12, referencePrice: terms.referencePrice ?? 100,
      settlementDays: terms.settlementDays ?? 1, initialState: terms.initialState ?? 0,
    });
  }

  private clientOrderId = 0;

  /** A new order with sensible defaults: GTC limit for 10 on instrument 1 by account 1. */
  order(fields: CommandFields<'NewOrder'>): EventObject[] {
    return this.send('NewOrder', {
      account: 1, instrument: 1, clientOrderId: ++this.clientOrderId, side: Side.Buy, orderType: OrderType.Limit,
      timeInForce: TimeInForce.GTC, quantity: 10, ...fields,
    });
  }

  buy(price: number, quantity: number, fields: CommandFields<'NewOrder'> = {}): EventObject[] {
    return this.order({ side: Side.Buy, price, quantity, ...fields });
  }

  sell(price: number, quantity: number, fields: CommandFields<'NewOrder'> = {}): EventObject[] {
    return this.order({ side: Side.Sell, price, quantity, ...fields });
  }

  cancel(orderId: number, account = 1): EventObject[] {
    return this.send('CancelOrder', { account, orderId });
  }

  replace(orderId: number, price: number, quantity: number, account = 1): EventObject[] {
    return this.send('ReplaceOrder', { account, orderId, price, quantity });
  }

  /** Bid or ask levels of an instrument, best first: [price, total quantity, order ids]. */
  depth(side: number, instrument = 1): Array<{ price: number; quantity: number; orders: number[] }> {
    const m = this.matcher;
    const ladder = side === Side.Buy ? m.instruments.bids[instrument] : m.instruments.asks[instrument];
    const out: Array<{ price: number; quantity: number; orders: number[] }> = [];
    for (let i = ladder.count - 1; i >= 0; i--) {
      const level = ladder.levels[i];
      const ids: number[] = [];
      for (let s = m.levels.head[level]; s !== -1; s = m.orders.next[s]) ids.push(m.orders.orderId[s]);
      out.push({ price: m.levels.price[level], quantity: m.levels.quantity[level], orders: ids });
    }
    return out;
  }
}

/** The events reduced to the fields a test cares about. */
export function types(events: EventObject[]): string[] {
  return events.map((e) => e.type);
}
