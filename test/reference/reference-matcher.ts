/**
 * A slow, obviously-correct reference matcher, written from docs/matching.md only
 * (not from core/matcher.ts). It consumes decoded command objects and produces
 * decoded event objects, field for field as the real engine should. It runs in
 * "matcher alone" mode: no accounts, no risk layer; any account id in
 * 1..maxAccounts may trade. Capacity limits (orders, levels, stops) are assumed
 * never to be reached.
 *
 * Everything is plain objects and arrays: each book side is an array of orders
 * kept sorted by price (best first) then by arrival; pending stops are an array in
 * arrival order. Nothing here is meant to be fast.
 */
import {
  CancelReason, InstrumentState, OrderFlag, OrderType, RejectReason, SelfTradePrevention, Side,
  StateChangeReason, TimeInForce,
} from '../../core/codes';
import type { CommandObject, EventObject } from '../../core/record-objects';
import { Commands, EventName, Events, unpackAscii7 } from '../../core/schema';

const MAX_PRICE = 2 ** 36;
const MAX_QUANTITY = 2 ** 36;
const MAX_CLIENT_ORDER_ID = 2 ** 32 - 1;
const ASCII7_LIMIT = 128 ** 7;
const SYMBOL_PATTERN = /^[A-Z0-9][A-Z0-9._-]{0,13}$/;

/** docs/matching.md: ids this close to an account's highest id today are always remembered. */
const CLIENT_ORDER_ID_RECENT_RANGE = 1024;

export interface ReferenceOptions {
  maxAccounts: number;
  maxInstruments: number;
  clientOrderIdWindow: number;
}

export type OrderStatus = 'stop' | 'book' | 'done';

export interface RefOrder {
  id: number;
  account: number;
  instrument: number;
  clientOrderId: number;
  side: number;
  /** Current type: a triggered STOP becomes MARKET, a triggered STOP_LIMIT becomes LIMIT. */
  type: number;
  timeInForce: number;
  /** Limit price (LIMIT, STOP_LIMIT); protection price once a MARKET; 0 for a pending STOP. */
  price: number;
  stopPrice: number;
  /** Total quantity (after replaces: the last total). */
  quantity: number;
  leaves: number;
  stp: number;
  postOnly: boolean;
  expireTime: number;
  status: OrderStatus;
}

export interface RefInstrument {
  id: number;
  symbol: string;
  tickSize: number;
  lotSize: number;
  bandBasisPoints: number;
  maxOrderQuantity: number;
  maxOrderNotional: number;
  referencePrice: number;
  settlementDays: number;
  state: number;
  /** Last trade price, 0 before the first trade. */
  lastPrice: number;
  /** Best first: bids by price descending, asks ascending; FIFO within a price. */
  bids: RefOrder[];
  asks: RefOrder[];
  /** Pending stops in arrival order. */
  stops: RefOrder[];
}

/**
 * How a field from a command is echoed into an event: as sent when it is a safe
 * integer, else 0 (events hold safe integers only). docs/matching.md is silent;
 * this is the engine's behaviour.
 */
const echo = (value: number): number => (Number.isSafeInteger(value) ? value : 0);

const isIntIn = (value: unknown, low: number, high: number): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= low && value <= high;

/** Exact floor/ceil of a / b for non-negative safe integers a and positive b. */
const floorDiv = (a: number, b: number): number => Number(BigInt(a) / BigInt(b));
const ceilDiv = (a: number, b: number): number => Number((BigInt(a) + BigInt(b) - 1n) / BigInt(b));
/** trunc(price × quantity × bps / 10000), exactly. */
const exactFee = (price: number, quantity: number, bps: number): number =>
  Number((BigInt(price) * BigInt(quantity) * BigInt(bps)) / 10000n);

export class ReferenceMatcher {
  readonly instruments = new Map<number, RefInstrument>();
  readonly orders = new Map<number, RefOrder>();
  readonly events: EventObject[] = [];
  private sequence = 0;
  private nextOrderId = 1;
  private tradeDate = 1;
  private lastEndedCalendarDate = 0;
  private makerFeeBps = 0;
  private takerFeeBps = 0;
  /** (account, client order id) keys of accepted orders this day, oldest first. */
  /**
   * Client order ids remembered today (docs/matching.md): per account, every id
   * within CLIENT_ORDER_ID_RECENT_RANGE of the highest id it used today; plus, in
   * one FIFO of `clientOrderIdWindow` entries, ids that arrived below that range.
   */
  private clientOrderIds = new Set<string>();
  private highestClientOrderId = new Map<number, number>();
  private olderClientOrderIds = new Set<string>();
  private command: CommandObject = { type: '', timestamp: 0, origin: 0 };
  /** Stops triggered during the current command, waiting to run. */
  private stopQueue: RefOrder[] = [];

  constructor(readonly options: ReferenceOptions) {}

  /** trunc(price × quantity × bps / 10000): an integer, never -0. */
  private fee(price: number, quantity: number, bps: number): number {
    return exactFee(price, quantity, bps);
  }

  /** Processes one command; returns the events it produced. */
  process(command: CommandObject): EventObject[] {
    const start = this.events.length;
    this.command = command;
    this.stopQueue = [];
    const n = (name: string) => Number(command[name] ?? 0);
    switch (command.type) {
      case 'AddInstrument': this.addInstrument(command); break;
      case 'NewOrder': this.newOrder(command); break;
      case 'CancelOrder': this.cancelOrder(n('account'), n('orderId')); break;
      case 'ReplaceOrder': this.replaceOrder(n('account'), n('orderId'), n('price'), n('quantity')); break;
      case 'MassCancel': this.massCancel(n('account'), n('instrument'), n('side')); break;
      case 'SessionOpen': this.sessionOpen(n('instrument')); break;
      case 'SessionClose': this.sessionClose(n('instrument')); break;
      case 'HaltInstrument': this.haltOrResume(Commands.HaltInstrument.code, n('instrument'), InstrumentState.Open, InstrumentState.Halted); break;
      case 'ResumeInstrument': this.haltOrResume(Commands.ResumeInstrument.code, n('instrument'), InstrumentState.Halted, InstrumentState.Open); break;
      case 'Clock': this.clock(command.timestamp); break;
      case 'EndOfDay': this.endOfDay(n('calendarDate')); break;
      case 'SetFeeSchedule': this.setFeeSchedule(n('makerFeeBasisPoints'), n('takerFeeBasisPoints'), n('feeAccount')); break;
      default: throw new Error(`reference matcher: command ${command.type} is not modelled`);
    }
    return this.events.slice(start);
  }

  // ------------------------------------------------------------ events

  private emit(name: EventName, fields: Record<string, number>): void {
    const spec = Events[name];
    const event: EventObject = {
      type: name, sequence: ++this.sequence, timestamp: this.command.timestamp, origin: this.command.origin,
    };
    for (const field of spec.fields) event[field.name] = 0;
    for (const key of Object.keys(fields)) {
      if (!(key in spec.at)) throw new Error(`reference: ${name} has no field ${key}`);
      event[key] = fields[key];
    }
    this.events.push(event);
  }

  private commandRejected(commandType: number, subject: number, reason: number): void {
    this.emit('CommandRejected', { commandType, subject: echo(subject), reason, reference: 0 });
  }

  private orderCanceled(order: RefOrder, reason: number): void {
    this.emit('OrderCanceled', {
      orderId: order.id, account: order.account, instrument: order.instrument, side: order.side,
      price: order.price, canceledQuantity: order.leaves, reason,
    });
    this.removeFromBook(order);
    order.leaves = 0;
    order.status = 'done';
  }

  // ------------------------------------------------------------ instruments

  private addInstrument(c: CommandObject): void {
    const code = Commands.AddInstrument.code;
    const id = Number(c.instrument);
    const head = Number(c.symbolHead);
    const tail = Number(c.symbolTail);
    const symbol = isIntIn(head, 0, ASCII7_LIMIT - 1) && isIntIn(tail, 0, ASCII7_LIMIT - 1)
      ? unpackAscii7(head) + unpackAscii7(tail) : '';
    const tick = Number(c.tickSize);
    const lot = Number(c.lotSize);
    const band = Number(c.bandBasisPoints);
    const maxQuantity = Number(c.maxOrderQuantity);
    const maxNotional = Number(c.maxOrderNotional);
    const reference = Number(c.referencePrice);
    const settlementDays = Number(c.settlementDays);
    const initialState = Number(c.initialState);
    // docs/matching.md lists the reasons but not their precedence; this is the engine's:
    // a bad id, capacity, a bad symbol, a used id or symbol, then the other fields.
    if (!isIntIn(id, 1, Number.MAX_SAFE_INTEGER)) return this.commandRejected(code, id, RejectReason.INVALID_FIELD);
    if (id > this.options.maxInstruments) return this.commandRejected(code, id, RejectReason.INSTRUMENT_CAPACITY_EXCEEDED);
    if (!SYMBOL_PATTERN.test(symbol)) return this.commandRejected(code, id, RejectReason.INVALID_FIELD);
    for (const other of this.instruments.values()) {
      if (other.id === id || other.symbol === symbol) return this.commandRejected(code, id, RejectReason.INSTRUMENT_EXISTS);
    }
    const valid =
      isIntIn(tick, 1, MAX_PRICE) && isIntIn(lot, 1, MAX_QUANTITY) && isIntIn(band, 0, 9999) &&
      isIntIn(maxQuantity, 1, MAX_QUANTITY) && isIntIn(maxNotional, 1, Number.MAX_SAFE_INTEGER) &&
      isIntIn(reference, 1, MAX_PRICE) && reference % tick === 0 &&
      isIntIn(settlementDays, 0, 2) && isIntIn(initialState, 0, 4);
    if (!valid) return this.commandRejected(code, id, RejectReason.INVALID_FIELD);
    const instrument: RefInstrument = {
      id, symbol, tickSize: tick, lotSize: lot, bandBasisPoints: band, maxOrderQuantity: maxQuantity,
      maxOrderNotional: maxNotional, referencePrice: reference, settlementDays: settlementDays === 0 ? 1 : settlementDays,
      state: initialState === 0 ? InstrumentState.Open : initialState, lastPrice: 0, bids: [], asks: [], stops: [],
    };
    this.instruments.set(id, instrument);
    this.emit('InstrumentAdded', {
      instrument: id, symbolHead: head, symbolTail: tail, tickSize: tick, lotSize: lot, bandBasisPoints: band,
      referencePrice: reference, state: instrument.state, settlementDays: instrument.settlementDays,
    });
  }

  /** [bandLow, bandHigh] around the last trade price (or the configured reference). */
  band(instrument: RefInstrument): [number, number] {
    const bps = instrument.bandBasisPoints;
    if (bps === 0) return [1, MAX_PRICE];
    const reference = instrument.lastPrice > 0 ? instrument.lastPrice : instrument.referencePrice;
    return [Math.max(1, ceilDiv(reference * (10000 - bps), 10000)), floorDiv(reference * (10000 + bps), 10000)];
  }

  private setState(instrument: RefInstrument, state: number, reason: number): void {
    const previousState = instrument.state;
    instrument.state = state;
    this.emit('InstrumentStateChanged', { instrument: instrument.id, state, previousState, reason });
  }

  private stateRejection(state: number): number {
    if (state === InstrumentState.PreOpen) return RejectReason.INSTRUMENT_NOT_OPEN;
    if (state === InstrumentState.Halted) return RejectReason.INSTRUMENT_HALTED;
    return RejectReason.INSTRUMENT_CLOSED;
  }

  // ------------------------------------------------------------ new orders

  private newOrder(c: CommandObject): void {
    const account = Number(c.account);
    const instrumentId = Number(c.instrument);
    const clientOrderId = Number(c.clientOrderId);
    const side = Number(c.side);
    const type = Number(c.orderType);
    const tif = Number(c.timeInForce);
    const price = Number(c.price);
    const quantity = Number(c.quantity);
    const stopPrice = Number(c.stopPrice);
    const stp = Number(c.selfTradePrevention);
    const flags = Number(c.flags);
    const expireTime = Number(c.expireTime);
    const reject = (reason: number) =>
      this.emit('OrderRejected', {
        account: echo(account), instrument: echo(instrumentId), clientOrderId: echo(clientOrderId), orderId: 0, reason,
        commandType: Commands.NewOrder.code,
      });

    // 1. field ranges
    const hasLimitPrice = type === OrderType.Limit || type === OrderType.StopLimit;
    const hasStopPrice = type === OrderType.Stop || type === OrderType.StopLimit;
    const postOnly = isIntIn(flags, 0, OrderFlag.PostOnly) && (flags & OrderFlag.PostOnly) !== 0;
    const fieldsValid =
      isIntIn(account, 1, this.options.maxAccounts) && isIntIn(clientOrderId, 1, MAX_CLIENT_ORDER_ID) &&
      isIntIn(side, 1, 2) && isIntIn(type, 1, 4) && isIntIn(tif, 1, 5) && isIntIn(stp, 0, 4) &&
      isIntIn(flags, 0, OrderFlag.PostOnly) && isIntIn(quantity, 1, MAX_QUANTITY) &&
      (!hasLimitPrice || isIntIn(price, 1, MAX_PRICE)) && (!hasStopPrice || isIntIn(stopPrice, 1, MAX_PRICE)) &&
      (!postOnly || (type === OrderType.Limit && (tif === TimeInForce.GTC || tif === TimeInForce.DAY || tif === TimeInForce.GTD))) &&
      (tif !== TimeInForce.GTD || Number.isInteger(expireTime));
    if (!fieldsValid) return reject(RejectReason.INVALID_FIELD);
    // 2. instrument
    const instrument = this.instruments.get(instrumentId);
    if (instrument === undefined) return reject(RejectReason.UNKNOWN_INSTRUMENT);
    // 3. accounts: none in matcher-alone mode. 4. state
    if (instrument.state !== InstrumentState.Open) return reject(this.stateRejection(instrument.state));
    // 5. tick, lot, max quantity
    if (hasLimitPrice && price % instrument.tickSize !== 0) return reject(RejectReason.PRICE_OFF_TICK);
    if (hasStopPrice && stopPrice % instrument.tickSize !== 0) return reject(RejectReason.PRICE_OFF_TICK);
    if (quantity % instrument.lotSize !== 0) return reject(RejectReason.QUANTITY_OFF_LOT);
    if (quantity > instrument.maxOrderQuantity) return reject(RejectReason.QUANTITY_ABOVE_MAX);
    // 6. band (LIMIT only)
    const [bandLow, bandHigh] = this.band(instrument);
    if (type === OrderType.Limit && (price < bandLow || price > bandHigh)) return reject(RejectReason.PRICE_OUTSIDE_BANDS);
    // 7. expiry
    if (tif === TimeInForce.GTD && expireTime <= this.command.timestamp) return reject(RejectReason.EXPIRE_TIME_IN_PAST);
    // 8. notional
    const protection = side === Side.Buy ? bandHigh : bandLow;
    const effectivePrice = hasLimitPrice ? price : type === OrderType.Market ? protection : stopPrice;
    if (effectivePrice * quantity > instrument.maxOrderNotional) return reject(RejectReason.NOTIONAL_ABOVE_MAX);
    // 9. duplicate client order id
    const key = `${account}:${clientOrderId}`;
    if (this.isRemembered(account, clientOrderId)) return reject(RejectReason.DUPLICATE_CLIENT_ORDER_ID);
    // 10. post-only
    if (postOnly && this.wouldCross(instrument, side, price)) return reject(RejectReason.POST_ONLY_WOULD_CROSS);
    // 11. capacity: never reached here.

    this.rememberClientOrderId(account, clientOrderId, key);
    const order: RefOrder = {
      id: this.nextOrderId++, account, instrument: instrumentId, clientOrderId, side, type, timeInForce: tif,
      price: hasLimitPrice ? price : 0, stopPrice: hasStopPrice ? stopPrice : 0, quantity, leaves: quantity,
      stp: stp === 0 ? SelfTradePrevention.CancelTaker : stp, postOnly,
      expireTime: tif === TimeInForce.GTD ? expireTime : 0, status: 'done',
    };
    this.orders.set(order.id, order);
    this.emit('OrderAccepted', {
      orderId: order.id, account, instrument: instrumentId, clientOrderId, side, orderType: type, timeInForce: tif,
      price: order.price, quantity, stopPrice: order.stopPrice,
    });
    if (hasStopPrice) {
      if (instrument.lastPrice > 0 && this.stopTouched(order, instrument.lastPrice)) {
        this.stopQueue.push(order);
      } else {
        order.status = 'stop';
        instrument.stops.push(order);
      }
    } else {
      if (type === OrderType.Market) order.price = protection;
      this.enter(instrument, order);
    }
    this.runStopQueue(instrument);
  }

  private isRemembered(account: number, id: number): boolean {
    const key = `${account}:${id}`;
    const highest = this.highestClientOrderId.get(account) ?? 0;
    if (id > highest - CLIENT_ORDER_ID_RECENT_RANGE && this.clientOrderIds.has(key)) return true;
    return this.olderClientOrderIds.has(key);
  }

  private rememberClientOrderId(account: number, id: number, key: string): void {
    const highest = this.highestClientOrderId.get(account) ?? 0;
    if (id <= highest - CLIENT_ORDER_ID_RECENT_RANGE) {
      this.olderClientOrderIds.add(key);
      while (this.olderClientOrderIds.size > this.options.clientOrderIdWindow) {
        this.olderClientOrderIds.delete(this.olderClientOrderIds.values().next().value as string);
      }
      return;
    }
    this.clientOrderIds.add(key); // ids that fall out of the recent range are forgotten (isRemembered)
    if (id > highest) this.highestClientOrderId.set(account, id);
  }

  private wouldCross(instrument: RefInstrument, side: number, price: number): boolean {
    if (side === Side.Buy) return instrument.asks.length > 0 && instrument.asks[0].price <= price;
    return instrument.bids.length > 0 && instrument.bids[0].price >= price;
  }

  private stopTouched(order: RefOrder, lastPrice: number): boolean {
    return order.side === Side.Buy ? lastPrice >= order.stopPrice : lastPrice <= order.stopPrice;
  }

  // ------------------------------------------------------------ matching

  /** Step 1.. of "Acceptance and matching" for a LIMIT or MARKET order (order.price is its limit). */
  private enter(instrument: RefInstrument, order: RefOrder): void {
    if (order.timeInForce === TimeInForce.FOK && this.fokFillable(instrument, order) < order.leaves) {
      return this.orderCanceled(order, CancelReason.FOK);
    }
    const result = this.match(instrument, order);
    if (result === 'taker-canceled' || order.leaves === 0) return;
    if (order.type === OrderType.Market) {
      return this.orderCanceled(order, result === 'beyond-limit' ? CancelReason.PROTECTION : CancelReason.NO_LIQUIDITY);
    }
    if (order.timeInForce === TimeInForce.IOC) return this.orderCanceled(order, CancelReason.IOC);
    if (order.timeInForce === TimeInForce.FOK) throw new Error('reference: a FOK order passed its check but did not fill');
    this.rest(instrument, order);
  }

  private beyondLimit(order: RefOrder, levelPrice: number): boolean {
    return order.side === Side.Buy ? levelPrice > order.price : levelPrice < order.price;
  }

  private opposite(instrument: RefInstrument, side: number): RefOrder[] {
    return side === Side.Buy ? instrument.asks : instrument.bids;
  }

  /** The distinct prices of one side, best first. */
  private levelPrices(side: RefOrder[]): number[] {
    const prices: number[] = [];
    for (const order of side) if (prices[prices.length - 1] !== order.price) prices.push(order.price);
    return prices;
  }

  /** What matching would fill, without changing anything (the FOK check). */
  private fokFillable(instrument: RefInstrument, order: RefOrder): number {
    let filled = 0;
    let lastPrice = instrument.lastPrice;
    const simulated: RefInstrument = { ...instrument };
    const stp = order.stp;
    for (const levelPrice of this.levelPrices(this.opposite(instrument, order.side))) {
      if (this.beyondLimit(order, levelPrice)) return filled;
      simulated.lastPrice = lastPrice; // the band is recomputed after every (simulated) fill
      const [bandLow, bandHigh] = this.band(simulated);
      if (levelPrice < bandLow || levelPrice > bandHigh) return filled;
      for (const maker of this.opposite(instrument, order.side).filter((o) => o.price === levelPrice)) {
        if (maker.account === order.account && stp !== SelfTradePrevention.None) {
          if (stp === SelfTradePrevention.CancelMaker) continue;
          return filled;
        }
        filled += Math.min(maker.leaves, order.leaves - filled);
        lastPrice = levelPrice;
        if (filled >= order.leaves) return filled;
      }
    }
    return filled;
  }

  /**
   * Matches the aggressor against the opposite side. Returns why it stopped:
   * 'filled', 'beyond-limit', 'no-liquidity' or 'taker-canceled' (STP or band halt).
   */
  private match(instrument: RefInstrument, order: RefOrder): 'filled' | 'beyond-limit' | 'no-liquidity' | 'taker-canceled' {
    const book = this.opposite(instrument, order.side);
    while (order.leaves > 0) {
      if (book.length === 0) return 'no-liquidity';
      const levelPrice = book[0].price;
      if (this.beyondLimit(order, levelPrice)) return 'beyond-limit';
      const [bandLow, bandHigh] = this.band(instrument);
      if (levelPrice < bandLow || levelPrice > bandHigh) {
        this.setState(instrument, InstrumentState.Halted, StateChangeReason.PriceBand);
        this.orderCanceled(order, CancelReason.HALTED);
        return 'taker-canceled';
      }
      const level = book.filter((o) => o.price === levelPrice);
      for (const maker of level) {
        if (order.leaves === 0) break;
        if (maker.account === order.account && order.stp !== SelfTradePrevention.None) {
          if (order.stp === SelfTradePrevention.CancelTaker) {
            this.orderCanceled(order, CancelReason.SELF_TRADE);
            return 'taker-canceled';
          }
          this.orderCanceled(maker, CancelReason.SELF_TRADE);
          if (order.stp === SelfTradePrevention.CancelBoth) {
            this.orderCanceled(order, CancelReason.SELF_TRADE);
            return 'taker-canceled';
          }
          continue;
        }
        this.trade(instrument, maker, order, levelPrice);
      }
    }
    return 'filled';
  }

  private trade(instrument: RefInstrument, maker: RefOrder, taker: RefOrder, price: number): void {
    const quantity = Math.min(maker.leaves, taker.leaves);
    if (!(quantity > 0)) throw new Error(`reference: empty trade of maker ${maker.id} and taker ${taker.id}`);
    maker.leaves -= quantity;
    taker.leaves -= quantity;
    this.emit('Trade', {
      instrument: instrument.id, makerOrderId: maker.id, takerOrderId: taker.id, price, quantity,
      aggressorSide: taker.side, makerAccount: maker.account, takerAccount: taker.account,
      makerLeaves: maker.leaves, takerLeaves: taker.leaves,
      makerFee: this.fee(price, quantity, this.makerFeeBps), takerFee: this.fee(price, quantity, this.takerFeeBps),
    });
    if (maker.leaves === 0) {
      this.removeFromBook(maker);
      maker.status = 'done';
    }
    instrument.lastPrice = price;
    this.queueTouchedStops(instrument);
  }

  /** Moves every stop touched by the last price to the queue: buys (highest first), then sells (lowest first). */
  private queueTouchedStops(instrument: RefInstrument): void {
    const last = instrument.lastPrice;
    const touched = instrument.stops.filter((s) => this.stopTouched(s, last));
    const buys = touched.filter((s) => s.side === Side.Buy).sort((a, b) => b.stopPrice - a.stopPrice || a.id - b.id);
    const sells = touched.filter((s) => s.side === Side.Sell).sort((a, b) => a.stopPrice - b.stopPrice || a.id - b.id);
    for (const stop of [...buys, ...sells]) {
      this.removeFromBook(stop);
      stop.status = 'done';
      this.stopQueue.push(stop);
    }
  }

  private runStopQueue(instrument: RefInstrument): void {
    while (this.stopQueue.length > 0) {
      const stop = this.stopQueue.shift() as RefOrder;
      this.emit('StopTriggered', {
        orderId: stop.id, account: stop.account, instrument: stop.instrument, stopPrice: stop.stopPrice,
        lastPrice: instrument.lastPrice,
      });
      if (stop.type === OrderType.Stop) {
        const [bandLow, bandHigh] = this.band(instrument);
        stop.type = OrderType.Market;
        stop.price = stop.side === Side.Buy ? bandHigh : bandLow;
      } else {
        stop.type = OrderType.Limit;
      }
      // The doc's "canceled (HALTED) instead" replaces the entry, not the StopTriggered, and
      // the cancel carries the protection price of a stop-market (engine behaviour).
      if (instrument.state !== InstrumentState.Open) {
        this.orderCanceled(stop, CancelReason.HALTED);
        continue;
      }
      this.enter(instrument, stop);
    }
  }

  /** Puts an order at the back of its price level. */
  private rest(instrument: RefInstrument, order: RefOrder): void {
    const side = order.side === Side.Buy ? instrument.bids : instrument.asks;
    const better = (o: RefOrder) => (order.side === Side.Buy ? o.price >= order.price : o.price <= order.price);
    let at = 0;
    while (at < side.length && better(side[at])) at++;
    side.splice(at, 0, order);
    order.status = 'book';
  }

  private removeFromBook(order: RefOrder): void {
    const instrument = this.instruments.get(order.instrument) as RefInstrument;
    for (const list of [instrument.bids, instrument.asks, instrument.stops]) {
      const at = list.indexOf(order);
      if (at >= 0) list.splice(at, 1);
    }
  }

  // ------------------------------------------------------------ cancel, replace, mass cancel

  private isLive(order: RefOrder | undefined): order is RefOrder {
    return order !== undefined && order.status !== 'done';
  }

  /** The CancelRejected reason for (account, orderId), or 0 when the account may act on the live order. */
  private cancelCheck(account: number, orderId: number): number {
    const order = this.orders.get(orderId);
    if (order === undefined) return RejectReason.UNKNOWN_ORDER; // never issued (e.g. a fractional id)
    if (!this.isLive(order)) return RejectReason.TOO_LATE_TO_CANCEL;
    if (order.account !== account) return RejectReason.NOT_AUTHORIZED;
    return 0;
  }

  private cancelOrder(account: number, orderId: number): void {
    const reason = this.cancelCheck(account, orderId);
    if (reason !== 0) {
      return this.emit('CancelRejected', { orderId: echo(orderId), account: echo(account), reason, commandType: Commands.CancelOrder.code });
    }
    this.orderCanceled(this.orders.get(orderId) as RefOrder, CancelReason.USER);
  }

  private replaceOrder(account: number, orderId: number, newPriceField: number, newQuantityField: number): void {
    const code = Commands.ReplaceOrder.code;
    const check = this.cancelCheck(account, orderId);
    if (check !== 0) return this.emit('CancelRejected', { orderId: echo(orderId), account: echo(account), reason: check, commandType: code });
    const order = this.orders.get(orderId) as RefOrder;
    const instrument = this.instruments.get(order.instrument) as RefInstrument;
    const reject = (reason: number) =>
      this.emit('OrderRejected', {
        account: order.account, instrument: order.instrument, clientOrderId: order.clientOrderId, orderId: order.id,
        reason, commandType: code,
      });
    const fieldsValid =
      (newPriceField === 0 || isIntIn(newPriceField, 1, MAX_PRICE)) &&
      (newQuantityField === 0 || isIntIn(newQuantityField, 1, MAX_QUANTITY)) &&
      !(order.type === OrderType.Stop && newPriceField !== 0);
    if (!fieldsValid) return reject(RejectReason.INVALID_FIELD);
    if (instrument.state !== InstrumentState.Open) return reject(this.stateRejection(instrument.state));
    const newPrice = newPriceField === 0 ? order.price : newPriceField;
    const newQuantity = newQuantityField === 0 ? order.quantity : newQuantityField;
    const filled = order.quantity - order.leaves;
    if (newQuantity <= filled) return this.orderCanceled(order, CancelReason.REPLACED_TO_FILLED);
    if (newPrice % instrument.tickSize !== 0) return reject(RejectReason.PRICE_OFF_TICK);
    if (newQuantity % instrument.lotSize !== 0) return reject(RejectReason.QUANTITY_OFF_LOT);
    if (newQuantity > instrument.maxOrderQuantity) return reject(RejectReason.QUANTITY_ABOVE_MAX);
    const [bandLow, bandHigh] = this.band(instrument);
    if (order.status === 'book' && newPrice !== order.price && (newPrice < bandLow || newPrice > bandHigh)) {
      return reject(RejectReason.PRICE_OUTSIDE_BANDS);
    }
    const effectivePrice = order.type === OrderType.Stop ? order.stopPrice : newPrice;
    if (effectivePrice * newQuantity > instrument.maxOrderNotional) return reject(RejectReason.NOTIONAL_ABOVE_MAX);
    if (order.postOnly && order.status === 'book') {
      const others = { ...instrument, bids: instrument.bids.filter((o) => o !== order), asks: instrument.asks.filter((o) => o !== order) };
      if (this.wouldCross(others, order.side, newPrice)) return reject(RejectReason.POST_ONLY_WOULD_CROSS);
    }

    const oldPrice = order.price;
    const oldLeaves = order.leaves;
    const keepsPriority = order.status === 'stop' || (newPrice === oldPrice && newQuantity <= order.quantity);
    order.price = newPrice;
    order.quantity = newQuantity;
    order.leaves = newQuantity - filled;
    const replaced = () =>
      this.emit('OrderReplaced', {
        orderId: order.id, account: order.account, instrument: order.instrument, side: order.side, price: order.price,
        quantity: order.quantity, leavesQuantity: order.leaves, priorityKept: keepsPriority ? 1 : 0, oldPrice, oldLeaves,
      });
    if (keepsPriority) return replaced();
    this.removeFromBook(order);
    order.status = 'done';
    replaced();
    this.enter(instrument, order);
    this.runStopQueue(instrument);
  }

  private massCancel(account: number, instrumentId: number, side: number): void {
    // Not in docs/matching.md; the engine's checks: unknown instrument, then account and side ranges.
    const code = Commands.MassCancel.code;
    if (instrumentId !== 0 && !this.instruments.has(instrumentId)) {
      return this.commandRejected(code, account, RejectReason.UNKNOWN_INSTRUMENT);
    }
    if (!isIntIn(account, 0, this.options.maxAccounts) || !isIntIn(side, 0, 2)) {
      return this.commandRejected(code, account, RejectReason.INVALID_FIELD);
    }
    const victims = [...this.orders.values()]
      .filter((o) => this.isLive(o))
      .filter((o) => (account === 0 || o.account === account) && (instrumentId === 0 || o.instrument === instrumentId))
      .filter((o) => side === 0 || o.side === side)
      .sort((a, b) => a.id - b.id);
    for (const order of victims) this.orderCanceled(order, CancelReason.MASS_CANCEL);
    this.emit('MassCancelDone', { account, instrument: instrumentId, side, canceledCount: victims.length });
  }

  // ------------------------------------------------------------ states, sessions, time

  private sessionOpen(instrumentId: number): void {
    const code = Commands.SessionOpen.code;
    const canOpen = (i: RefInstrument) => i.state === InstrumentState.PreOpen || i.state === InstrumentState.Closed;
    const targets = this.targets(code, instrumentId, canOpen);
    for (const instrument of targets) this.setState(instrument, InstrumentState.Open, StateChangeReason.SessionOpen);
  }

  private sessionClose(instrumentId: number): void {
    const code = Commands.SessionClose.code;
    const canClose = (i: RefInstrument) => i.state !== InstrumentState.Closed;
    // For instrument 0, every state change comes first, then the DAY orders instrument by
    // instrument (the doc is silent on the interleaving; this is the engine's order).
    const closed = this.targets(code, instrumentId, canClose);
    for (const instrument of closed) this.setState(instrument, InstrumentState.Closed, StateChangeReason.SessionClose);
    for (const instrument of closed) {
      const dayOrders = [...this.orders.values()]
        .filter((o) => this.isLive(o) && o.instrument === instrument.id && o.timeInForce === TimeInForce.DAY)
        .sort((a, b) => a.id - b.id);
      for (const order of dayOrders) this.orderCanceled(order, CancelReason.EXPIRED);
    }
  }

  /** Instruments a session command applies to; emits the rejection when there are none. */
  private targets(code: number, instrumentId: number, valid: (i: RefInstrument) => boolean): RefInstrument[] {
    if (instrumentId !== 0) {
      const instrument = this.instruments.get(instrumentId);
      if (instrument === undefined) {
        this.commandRejected(code, instrumentId, RejectReason.UNKNOWN_INSTRUMENT);
        return [];
      }
      if (!valid(instrument)) {
        this.commandRejected(code, instrumentId, RejectReason.INVALID_STATE_TRANSITION);
        return [];
      }
      return [instrument];
    }
    const all = [...this.instruments.values()].sort((a, b) => a.id - b.id).filter(valid);
    if (all.length === 0) this.commandRejected(code, 0, RejectReason.INVALID_STATE_TRANSITION);
    return all;
  }

  private haltOrResume(code: number, instrumentId: number, from: number, to: number): void {
    const instrument = this.instruments.get(instrumentId);
    if (instrument === undefined) return this.commandRejected(code, instrumentId, RejectReason.UNKNOWN_INSTRUMENT);
    if (instrument.state !== from) return this.commandRejected(code, instrumentId, RejectReason.INVALID_STATE_TRANSITION);
    this.setState(instrument, to, StateChangeReason.Admin);
  }

  private clock(now: number): void {
    this.emit('ClockAdvanced', {});
    const expired = [...this.orders.values()]
      .filter((o) => this.isLive(o) && o.timeInForce === TimeInForce.GTD && o.expireTime <= now)
      .sort((a, b) => a.expireTime - b.expireTime || a.id - b.id);
    for (const order of expired) this.orderCanceled(order, CancelReason.EXPIRED);
  }

  /** A dated day ends once; 0 ends one unconditionally; anything else is a bad field. */
  private endOfDay(calendarDate: number): void {
    if (!isIntIn(calendarDate, 0, 2 ** 32 - 1)) return this.commandRejected(Commands.EndOfDay.code, 0, RejectReason.INVALID_FIELD);
    if (calendarDate !== 0 && calendarDate <= this.lastEndedCalendarDate) {
      return this.emit('CommandRejected', { commandType: Commands.EndOfDay.code, subject: 0, reason: RejectReason.TRADING_DAY_ALREADY_ENDED, reference: calendarDate });
    }
    if (calendarDate !== 0) this.lastEndedCalendarDate = calendarDate;
    this.tradeDate += 1;
    this.clientOrderIds = new Set();
    this.highestClientOrderId = new Map();
    this.olderClientOrderIds = new Set();
    this.emit('TradingDayEnded', { tradeDate: this.tradeDate });
  }

  private setFeeSchedule(makerFeeBasisPoints: number, takerFeeBasisPoints: number, feeAccount: number): void {
    // Not in docs/matching.md; the engine accepts fees in (-10000, 10000) bps and a fee account in 0..maxAccounts.
    const valid = isIntIn(makerFeeBasisPoints, -9999, 9999) && isIntIn(takerFeeBasisPoints, -9999, 9999) &&
      isIntIn(feeAccount, 0, this.options.maxAccounts);
    if (!valid) return this.commandRejected(Commands.SetFeeSchedule.code, feeAccount, RejectReason.INVALID_FIELD);
    this.makerFeeBps = makerFeeBasisPoints;
    this.takerFeeBps = takerFeeBasisPoints;
    this.emit('FeeScheduleSet', { makerFeeBasisPoints, takerFeeBasisPoints, feeAccount });
  }

  // ------------------------------------------------------------ inspection (tests, generator)

  /** Live orders (resting or pending stop) in order id order. */
  liveOrders(): RefOrder[] {
    return [...this.orders.values()].filter((o) => this.isLive(o)).sort((a, b) => a.id - b.id);
  }

  /** Ids issued so far (1..issuedOrderIds()). */
  issuedOrderIds(): number {
    return this.nextOrderId - 1;
  }
}
