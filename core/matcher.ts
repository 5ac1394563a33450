/**
 * The matching engine: the single writer of all business state.
 *
 * `process(words, offset)` applies one command record and writes the events it
 * causes into the output buffer. It is deterministic: no clock (time arrives in the
 * command header), no randomness, no I/O, no await, and iteration order never
 * depends on anything but the state. Bad input never throws: every refusal is an
 * OrderRejected / CancelRejected / CommandRejected event with a stable reason code.
 * Exceptions escaping `process` are engine bugs (broken invariants), not input errors.
 *
 * Matching semantics are documented rule by rule in docs/matching.md.
 */
import * as codes from './codes';
import { EventBuffer, EventSink, DISCARD_SINK } from './event-buffer';
import { ExpiryHeap } from './expiry-heap';
import * as clientOrderIds from './client-order-ids';
import { ClientOrderIds } from './client-order-ids';
import { OrderIndex } from './order-index';
import * as instruments from './instruments';
import { InstrumentTable } from './instruments';
import { isMultipleOf, mulDivTrunc } from './integer-math';
import { LevelPool } from './level-pool';
import { EngineLimits, validateLimits } from './limits';
import * as orderPool from './order-pool';
import { OrderPool } from './order-pool';
import { PriceLadder } from './price-ladder';
import { Commands, Events, unpackSymbol } from './schema';
import * as schema from './schema';
import type { RiskLayer } from './risk-layer';
import type { ImageComponent, ImagePart } from './state-image';

/** Module constants, not import bindings: folded into optimized code (see the note in order-pool.ts). */
const {
  CancelReason, InstrumentState, ORDER_FLAGS_ALL, OrderFlag, OrderType, RejectReason, SelfTradePrevention, Side, StateChangeReason, TimeInForce,
} = codes;
const { CLIENT_ORDER_ID_LIMIT } = clientOrderIds;
const { BASIS_POINTS, MAX_PRICE, MAX_QUANTITY } = instruments;
const { NO_SLOT, OrderStatus } = orderPool;
const { CommandHeader } = schema;
const C = Commands;
const E = Events;
const NO = C.NewOrder.at;

export interface EngineOptions {
  limits?: Partial<EngineLimits>;
  sink?: EventSink;
  /** Copy each command into the output stream ahead of its events (for the journal). */
  echoCommands?: boolean;
  /** Accounts and pre-trade risk; null runs the matcher alone (any account id may trade). */
  risk?: RiskLayer | null;
}

export class Matcher implements ImageComponent {
  readonly limits: EngineLimits;
  readonly orders: OrderPool;
  readonly levels: LevelPool;
  readonly instruments: InstrumentTable;
  /** order id -> order slot, for live orders. */
  readonly orderIndex: OrderIndex;
  readonly clientOrderIds: ClientOrderIds;
  readonly expiry: ExpiryHeap;
  readonly out: EventBuffer;
  /** Copy each command into the output ahead of its events (on for the journal; off while replaying). */
  echoCommands: boolean;
  risk: RiskLayer | null;

  /** Next exchange order id; ids below it were issued (so "not live" means too late). */
  nextOrderId = 1;
  tradeDate = 1;
  /** The newest calendar day an EndOfDay ended (0: none dated yet); makes the supervisor's EndOfDay idempotent. */
  lastEndedCalendarDate = 0;
  makerFeeBasisPoints = 0;
  takerFeeBasisPoints = 0;
  /** Timestamp of the command being processed. */
  now = 0;

  /** FIFO of stop slots triggered and waiting to enter the book (bounded by maxOrders). */
  private readonly triggered: Int32Array;
  private triggeredHead = 0;
  private triggeredCount = 0;
  /** Scratch for the levels popped from a stop ladder by one trade. */
  private readonly poppedLevels: Int32Array;
  /** Set when the order being matched must stop (STP cancel of the taker, band halt). */
  private takerStopped = false;

  constructor(options: EngineOptions = {}) {
    const limits = validateLimits(options.limits);
    this.limits = limits;
    this.orders = new OrderPool(limits.maxOrders, limits.maxAccounts);
    this.levels = new LevelPool(limits.maxPriceLevels);
    this.instruments = new InstrumentTable(limits.maxInstruments, limits.maxLevelsPerSide, this.levels);
    this.orderIndex = new OrderIndex(this.orders);
    this.clientOrderIds = new ClientOrderIds(limits.maxAccounts, limits.clientOrderIdWindow);
    this.expiry = new ExpiryHeap(this.orders);
    this.out = new EventBuffer(limits.eventBatchCapacity, options.sink ?? DISCARD_SINK);
    this.echoCommands = options.echoCommands ?? false;
    this.triggered = new Int32Array(limits.maxOrders);
    this.poppedLevels = new Int32Array(limits.maxLevelsPerSide);
    this.risk = options.risk ?? null;
    if (this.risk !== null) this.risk.attach(this);
  }

  /** Applies one command record; its events go to the output buffer. */
  process(w: Float64Array, o: number): void {
    const type = w[o + CommandHeader.type];
    this.now = w[o + CommandHeader.timestamp];
    this.out.timestamp = this.now;
    this.out.origin = w[o + CommandHeader.origin];
    if (this.echoCommands) this.out.echo(w, o);
    this.dispatch(type, w, o);
    if (this.risk !== null) this.risk.afterCommand();
  }

  private dispatch(type: number, w: Float64Array, o: number): void {
    switch (type) {
      case C.NewOrder.code: return this.newOrder(w, o);
      case C.CancelOrder.code: return this.cancelOrder(w[o + C.CancelOrder.at.account], w[o + C.CancelOrder.at.orderId]);
      case C.ReplaceOrder.code: return this.replaceOrder(w, o);
      case C.MassCancel.code: return this.massCancel(w, o);
      case C.AddInstrument.code: return this.addInstrument(w, o);
      case C.SessionOpen.code: return this.sessionOpen(w[o + C.SessionOpen.at.instrument]);
      case C.SessionClose.code: return this.sessionClose(w[o + C.SessionClose.at.instrument]);
      case C.HaltInstrument.code: return this.haltOrResume(C.HaltInstrument.code, w[o + C.HaltInstrument.at.instrument]);
      case C.ResumeInstrument.code: return this.haltOrResume(C.ResumeInstrument.code, w[o + C.ResumeInstrument.at.instrument]);
      case C.Clock.code: return this.clock();
      case C.EndOfDay.code: return this.endOfDay(w[o + C.EndOfDay.at.calendarDate]);
      case C.SetFeeSchedule.code: return this.setFeeSchedule(w, o);
      default:
        if (this.risk !== null && this.risk.handles(type)) return this.risk.process(type, w, o);
        return this.commandRejected(type, 0, RejectReason.UNKNOWN_COMMAND, 0);
    }
  }

  /** Hands buffered events to the sink. */
  flush(): void {
    this.out.flush();
  }

  // ------------------------------------------------------------ new orders

  private newOrder(w: Float64Array, o: number): void {
    const reason = this.newOrderReason(w, o);
    if (reason !== 0) {
      return this.orderRejected(w[o + NO.account], w[o + NO.instrument], w[o + NO.clientOrderId], 0, reason, C.NewOrder.code);
    }
    // Every field below passed the static checks.
    const account = w[o + NO.account];
    const instrument = w[o + NO.instrument];
    const clientOrderId = w[o + NO.clientOrderId];
    const side = w[o + NO.side];
    const orderType = w[o + NO.orderType];
    const tif = w[o + NO.timeInForce];
    const quantity = w[o + NO.quantity];
    const stpRaw = w[o + NO.selfTradePrevention];
    const flags = w[o + NO.flags];
    const isStop = orderType === OrderType.Stop || orderType === OrderType.StopLimit;
    const hasLimit = orderType === OrderType.Limit || orderType === OrderType.StopLimit;
    const price = hasLimit ? w[o + NO.price] : 0;
    const stopPrice = isStop ? w[o + NO.stopPrice] : 0;
    const ins = this.instruments;
    const isBuy = side === Side.Buy;
    // Market orders (and stop-market once triggered) are bounded by the band edge.
    const protection = isBuy ? ins.bandHigh[instrument] : ins.bandLow[instrument];
    const effectivePrice = hasLimit ? price : orderType === OrderType.Market ? protection : stopPrice;
    if (this.clientOrderIds.has(account, clientOrderId)) {
      return this.orderRejected(account, instrument, clientOrderId, 0, RejectReason.DUPLICATE_CLIENT_ORDER_ID, C.NewOrder.code);
    }
    if ((flags & OrderFlag.PostOnly) !== 0 && this.wouldCross(instrument, isBuy, price)) {
      return this.orderRejected(account, instrument, clientOrderId, 0, RejectReason.POST_ONLY_WOULD_CROSS, C.NewOrder.code);
    }
    const capacity = this.capacityReason(instrument, side, orderType, isStop ? stopPrice : price);
    if (capacity !== 0) return this.orderRejected(account, instrument, clientOrderId, 0, capacity, C.NewOrder.code);
    if (this.risk !== null) {
      const riskReason = this.risk.checkNewOrder(account, instrument, side, orderType, effectivePrice, quantity);
      if (riskReason !== 0) return this.orderRejected(account, instrument, clientOrderId, 0, riskReason, C.NewOrder.code);
    }

    // Accepted: from here on the order exists and every outcome is an event about it.
    const orders = this.orders;
    const slot = orders.allocate(account);
    const orderId = this.nextOrderId++;
    orders.orderId[slot] = orderId;
    orders.clientOrderId[slot] = clientOrderId;
    orders.instrument[slot] = instrument;
    orders.side[slot] = side;
    orders.orderType[slot] = orderType;
    orders.timeInForce[slot] = tif;
    orders.selfTradePrevention[slot] = stpRaw === 0 ? SelfTradePrevention.CancelTaker : stpRaw;
    orders.flags[slot] = flags;
    orders.price[slot] = orderType === OrderType.Market ? protection : price;
    orders.stopPrice[slot] = stopPrice;
    orders.quantity[slot] = quantity;
    orders.leaves[slot] = quantity;
    orders.expireTime[slot] = tif === TimeInForce.GTD ? w[o + NO.expireTime] : 0;
    orders.status[slot] = OrderStatus.Matching;
    this.orderIndex.set(orderId, slot);
    this.clientOrderIds.add(account, clientOrderId);

    this.accepted(slot, price);

    if (isStop) {
      // A stop whose trigger is already touched enters at once; otherwise it waits off-book.
      if (this.stopIsTouched(instrument, isBuy, stopPrice)) this.enqueueTriggered(slot);
      else this.restStop(slot);
    } else {
      this.enter(slot);
    }
    this.runTriggeredStops();
  }

  /**
   * An order the exchange itself places (liquidation): a market order for the
   * account, client order id 0, no pre-trade checks (the risk layer asked for it).
   * Skipped only if the order pool is full.
   */
  submitSystemOrder(account: number, instrument: number, side: number, quantity: number): void {
    if (this.orders.full) return;
    const ins = this.instruments;
    const orders = this.orders;
    const slot = orders.allocate(account);
    const orderId = this.nextOrderId++;
    orders.orderId[slot] = orderId;
    orders.clientOrderId[slot] = 0;
    orders.instrument[slot] = instrument;
    orders.side[slot] = side;
    orders.orderType[slot] = OrderType.Market;
    orders.timeInForce[slot] = TimeInForce.IOC;
    orders.selfTradePrevention[slot] = SelfTradePrevention.CancelTaker;
    orders.flags[slot] = 0;
    orders.price[slot] = side === Side.Buy ? ins.bandHigh[instrument] : ins.bandLow[instrument];
    orders.stopPrice[slot] = 0;
    orders.quantity[slot] = quantity;
    orders.leaves[slot] = quantity;
    orders.expireTime[slot] = 0;
    orders.status[slot] = OrderStatus.Matching;
    this.orderIndex.set(orderId, slot);
    this.accepted(slot, 0);
    this.enter(slot);
    this.runTriggeredStops();
  }

  /**
   * OrderAccepted for a freshly filled-in slot (`price` as sent: 0 for market and
   * stop-market orders, whose slot holds the protection price), then the risk holds.
   */
  private accepted(slot: number, price: number): void {
    const orders = this.orders;
    const e = this.out.begin(E.OrderAccepted.code);
    const ev = this.out.words;
    const A = E.OrderAccepted.at;
    ev[e + A.orderId] = orders.orderId[slot];
    ev[e + A.account] = orders.account[slot];
    ev[e + A.instrument] = orders.instrument[slot];
    ev[e + A.clientOrderId] = orders.clientOrderId[slot];
    ev[e + A.side] = orders.side[slot];
    ev[e + A.orderType] = orders.orderType[slot];
    ev[e + A.timeInForce] = orders.timeInForce[slot];
    ev[e + A.price] = price;
    ev[e + A.quantity] = orders.quantity[slot];
    ev[e + A.stopPrice] = orders.stopPrice[slot];
    if (this.risk !== null) this.risk.onOrderAccepted(slot);
  }

  /**
   * Static checks of a new order record, in the documented order (docs/matching.md,
   * steps 1-8, up to NOTIONAL_ABOVE_MAX); 0 when it passes. It reads the record itself:
   * passing a dozen fields as arguments costs more than the checks (each is boxed into
   * a tagged value and unboxed again), and skipping this function altogether measured
   * ~20% faster, most of it that traffic.
   */
  private newOrderReason(w: Float64Array, o: number): number {
    const account = w[o + NO.account];
    const clientOrderId = w[o + NO.clientOrderId];
    const side = w[o + NO.side];
    const orderType = w[o + NO.orderType];
    const tif = w[o + NO.timeInForce];
    const stp = w[o + NO.selfTradePrevention];
    const flags = w[o + NO.flags];
    const quantity = w[o + NO.quantity];
    if (!Number.isInteger(account) || account < 1 || account > this.limits.maxAccounts) return RejectReason.INVALID_FIELD;
    if (!Number.isInteger(clientOrderId) || clientOrderId < 1 || clientOrderId >= CLIENT_ORDER_ID_LIMIT) return RejectReason.INVALID_FIELD;
    if (side !== Side.Buy && side !== Side.Sell) return RejectReason.INVALID_FIELD;
    if (!(orderType >= OrderType.Limit && orderType <= OrderType.StopLimit && Number.isInteger(orderType))) return RejectReason.INVALID_FIELD;
    if (!(tif >= TimeInForce.GTC && tif <= TimeInForce.FOK && Number.isInteger(tif))) return RejectReason.INVALID_FIELD;
    if (!(stp >= 0 && stp <= SelfTradePrevention.CancelBoth && Number.isInteger(stp))) return RejectReason.INVALID_FIELD;
    if (!Number.isInteger(flags) || flags < 0 || (flags & ~ORDER_FLAGS_ALL) !== 0) return RejectReason.INVALID_FIELD;
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_QUANTITY) return RejectReason.INVALID_FIELD;
    // MARKET and STOP ignore the price field; LIMIT and MARKET ignore the stop price.
    const hasLimit = orderType === OrderType.Limit || orderType === OrderType.StopLimit;
    const price = hasLimit ? w[o + NO.price] : 0;
    if (hasLimit && !(Number.isInteger(price) && price >= 1 && price <= MAX_PRICE)) return RejectReason.INVALID_FIELD;
    const isStop = orderType === OrderType.Stop || orderType === OrderType.StopLimit;
    const stopPrice = isStop ? w[o + NO.stopPrice] : 0;
    if (isStop && !(Number.isInteger(stopPrice) && stopPrice >= 1 && stopPrice <= MAX_PRICE)) return RejectReason.INVALID_FIELD;
    // Post-only is a resting instruction: only a limit order that may rest can carry it.
    if ((flags & OrderFlag.PostOnly) !== 0 && (orderType !== OrderType.Limit || tif === TimeInForce.IOC || tif === TimeInForce.FOK)) {
      return RejectReason.INVALID_FIELD;
    }
    const isGtd = tif === TimeInForce.GTD;
    const expireTime = isGtd ? w[o + NO.expireTime] : 0;
    if (isGtd && !Number.isSafeInteger(expireTime)) return RejectReason.INVALID_FIELD;
    const instrument = w[o + NO.instrument];
    const ins = this.instruments;
    if (!ins.has(instrument)) return RejectReason.UNKNOWN_INSTRUMENT;
    if (this.risk !== null) {
      const accountReason = this.risk.checkAccountCanTrade(account);
      if (accountReason !== 0) return accountReason;
    }
    const stateReason = this.stateReason(instrument);
    if (stateReason !== 0) return stateReason;
    const tick = ins.tickSize[instrument];
    if (hasLimit && !isMultipleOf(price, tick)) return RejectReason.PRICE_OFF_TICK;
    if (isStop && !isMultipleOf(stopPrice, tick)) return RejectReason.PRICE_OFF_TICK;
    if (!isMultipleOf(quantity, ins.lotSize[instrument])) return RejectReason.QUANTITY_OFF_LOT;
    if (quantity > ins.maxOrderQuantity[instrument]) return RejectReason.QUANTITY_ABOVE_MAX;
    const bandLow = ins.bandLow[instrument];
    const bandHigh = ins.bandHigh[instrument];
    if (orderType === OrderType.Limit && (price < bandLow || price > bandHigh)) return RejectReason.PRICE_OUTSIDE_BANDS;
    if (isGtd && expireTime <= this.now) return RejectReason.EXPIRE_TIME_IN_PAST;
    // The effective price: limit, a market order's protection (band edge), or the stop price.
    const effectivePrice = hasLimit ? price : orderType === OrderType.Market ? (side === Side.Buy ? bandHigh : bandLow) : stopPrice;
    if (effectivePrice * quantity > ins.maxOrderNotional[instrument]) return RejectReason.NOTIONAL_ABOVE_MAX;
    return 0;
  }

  private stateReason(instrument: number): number {
    switch (this.instruments.state[instrument]) {
      case InstrumentState.Open: return 0;
      case InstrumentState.Halted: return RejectReason.INSTRUMENT_HALTED;
      case InstrumentState.Closed: return RejectReason.INSTRUMENT_CLOSED;
      default: return RejectReason.INSTRUMENT_NOT_OPEN;
    }
  }

  /**
   * Capacity is checked before acceptance so an accepted order can always rest:
   * the order pool must have a slot and, if the order may need a new price level,
   * its ladder and the level pool must have room for one.
   */
  private capacityReason(instrument: number, side: number, orderType: number, price: number): number {
    if (this.orders.full) return RejectReason.ORDER_CAPACITY_EXCEEDED;
    if (orderType === OrderType.Market) return 0;
    const ins = this.instruments;
    const isStop = orderType === OrderType.Stop || orderType === OrderType.StopLimit;
    const ladder = isStop
      ? (side === Side.Buy ? ins.buyStops : ins.sellStops)[instrument]
      : (side === Side.Buy ? ins.bids : ins.asks)[instrument];
    // Room for a new level: no need to search for an existing one (the common case).
    if (ladder.count < ladder.capacity && this.levels.freeHead !== NO_SLOT) return 0;
    if (ladder.find(price) !== NO_SLOT) return 0;
    return isStop ? RejectReason.STOP_CAPACITY_EXCEEDED : RejectReason.LEVEL_CAPACITY_EXCEEDED;
  }

  private wouldCross(instrument: number, isBuy: boolean, price: number): boolean {
    const ladder = isBuy ? this.instruments.asks[instrument] : this.instruments.bids[instrument];
    const best = ladder.best();
    if (best === NO_SLOT) return false;
    const bestPrice = this.levels.price[best];
    return isBuy ? bestPrice <= price : bestPrice >= price;
  }

  // ------------------------------------------------------------ matching

  /**
   * An accepted (or triggered, or re-priced) order enters the book: FOK check,
   * match against the opposite side, then rest or cancel the remainder.
   */
  private enter(slot: number): void {
    const orders = this.orders;
    const instrument = orders.instrument[slot];
    if (orders.timeInForce[slot] === TimeInForce.FOK && !this.canFillCompletely(slot)) {
      return this.finishCanceled(slot, CancelReason.FOK);
    }
    this.takerStopped = false;
    const outcome = this.match(slot);
    if (this.takerStopped) return; // canceled inside the loop (self-trade or halt)
    if (orders.leaves[slot] === 0) return this.finishFilled(slot);
    const orderType = orders.orderType[slot];
    if (orderType === OrderType.Market || orderType === OrderType.Stop) {
      return this.finishCanceled(slot, outcome === MatchOutcome.Exhausted ? CancelReason.NO_LIQUIDITY : CancelReason.PROTECTION);
    }
    const tif = orders.timeInForce[slot];
    if (tif === TimeInForce.IOC) return this.finishCanceled(slot, CancelReason.IOC);
    if (tif === TimeInForce.FOK) return this.finishCanceled(slot, CancelReason.FOK);
    this.rest(slot, instrument);
  }

  /** Matches the order in `slot` against the opposite side until filled, priced out or stopped. */
  private match(slot: number): number {
    const orders = this.orders;
    const levels = this.levels;
    const ins = this.instruments;
    const instrument = orders.instrument[slot];
    const isBuy = orders.side[slot] === Side.Buy;
    const ladder = isBuy ? ins.asks[instrument] : ins.bids[instrument];
    const limit = orders.price[slot];
    const takerAccount = orders.account[slot];
    const stp = orders.selfTradePrevention[slot];
    for (;;) {
      if (orders.leaves[slot] === 0) return MatchOutcome.Filled;
      const level = ladder.best();
      if (level === NO_SLOT) return MatchOutcome.Exhausted;
      const price = levels.price[level];
      if (isBuy ? price > limit : price < limit) return MatchOutcome.PricedOut;
      if (price < ins.bandLow[instrument] || price > ins.bandHigh[instrument]) {
        this.haltOnBand(instrument, slot);
        return MatchOutcome.Stopped;
      }
      let maker = levels.head[level];
      while (maker !== NO_SLOT && orders.leaves[slot] > 0) {
        const nextMaker = orders.next[maker];
        if (orders.account[maker] === takerAccount && stp !== SelfTradePrevention.None) {
          if (stp === SelfTradePrevention.CancelMaker || stp === SelfTradePrevention.CancelBoth) {
            this.unlinkResting(maker);
            this.finishCanceled(maker, CancelReason.SELF_TRADE);
          }
          if (stp !== SelfTradePrevention.CancelMaker) {
            if (levels.orderCount[level] === 0) ladder.remove(level);
            this.finishCanceled(slot, CancelReason.SELF_TRADE);
            this.takerStopped = true;
            return MatchOutcome.Stopped;
          }
        } else {
          this.trade(maker, slot, level, price);
        }
        maker = nextMaker;
      }
      if (levels.orderCount[level] === 0) ladder.remove(level);
    }
  }

  /** One fill between a resting maker and the taker at the maker's price. */
  private trade(maker: number, taker: number, level: number, price: number): void {
    const orders = this.orders;
    const makerLeaves = orders.leaves[maker];
    const takerLeaves = orders.leaves[taker];
    const quantity = makerLeaves < takerLeaves ? makerLeaves : takerLeaves;
    orders.leaves[maker] = makerLeaves - quantity;
    orders.leaves[taker] = takerLeaves - quantity;
    this.levels.quantity[level] -= quantity;
    const instrument = orders.instrument[taker];
    const notional = price * quantity;
    const makerFee = this.makerFeeBasisPoints === 0 ? 0 : mulDivTrunc(notional, this.makerFeeBasisPoints, BASIS_POINTS);
    const takerFee = this.takerFeeBasisPoints === 0 ? 0 : mulDivTrunc(notional, this.takerFeeBasisPoints, BASIS_POINTS);

    const e = this.out.begin(E.Trade.code);
    const ev = this.out.words;
    const T = E.Trade.at;
    ev[e + T.instrument] = instrument;
    ev[e + T.makerOrderId] = orders.orderId[maker];
    ev[e + T.takerOrderId] = orders.orderId[taker];
    ev[e + T.price] = price;
    ev[e + T.quantity] = quantity;
    ev[e + T.aggressorSide] = orders.side[taker];
    ev[e + T.makerAccount] = orders.account[maker];
    ev[e + T.takerAccount] = orders.account[taker];
    ev[e + T.makerLeaves] = makerLeaves - quantity;
    ev[e + T.takerLeaves] = takerLeaves - quantity;
    ev[e + T.makerFee] = makerFee;
    ev[e + T.takerFee] = takerFee;

    const ins = this.instruments;
    ins.lastPrice[instrument] = price;
    if (ins.referencePrice[instrument] !== price) ins.setReference(instrument, price);
    if (this.risk !== null) this.risk.onTrade(maker, taker, price, quantity, makerFee, takerFee);
    if (makerLeaves === quantity) {
      // The sweep in match() drops the level once it is empty.
      this.unlinkResting(maker);
      this.finishFilled(maker);
    }
    this.collectTriggeredStops(instrument, price);
  }

  /** A trade would print outside the band: halt instead, cancel the aggressor's remainder. */
  private haltOnBand(instrument: number, taker: number): void {
    this.setState(instrument, InstrumentState.Halted, StateChangeReason.PriceBand);
    this.finishCanceled(taker, CancelReason.HALTED);
    this.takerStopped = true;
  }

  /** Walks the opposite side as matching would, without changing anything. */
  private canFillCompletely(slot: number): boolean {
    const orders = this.orders;
    const levels = this.levels;
    const ins = this.instruments;
    const instrument = orders.instrument[slot];
    const isBuy = orders.side[slot] === Side.Buy;
    const ladder = isBuy ? ins.asks[instrument] : ins.bids[instrument];
    const limit = orders.price[slot];
    const account = orders.account[slot];
    const stp = orders.selfTradePrevention[slot];
    let needed = orders.leaves[slot];
    // The band moves with every fill (it is centred on the last trade): simulate that too.
    let low = ins.bandLow[instrument];
    let high = ins.bandHigh[instrument];
    for (let i = ladder.count - 1; i >= 0; i--) {
      const level = ladder.levels[i];
      const price = levels.price[level];
      if (isBuy ? price > limit : price < limit) return false;
      if (price < low || price > high) return false;
      for (let maker = levels.head[level]; maker !== NO_SLOT; maker = orders.next[maker]) {
        if (orders.account[maker] === account && stp !== SelfTradePrevention.None) {
          if (stp === SelfTradePrevention.CancelMaker) continue;
          return false;
        }
        needed -= orders.leaves[maker];
        if (needed <= 0) return true;
        low = ins.bandLowAt(instrument, price);
        high = ins.bandHighAt(instrument, price);
      }
    }
    return false;
  }

  // ------------------------------------------------------------ book membership

  private rest(slot: number, instrument: number): void {
    const orders = this.orders;
    const isBuy = orders.side[slot] === Side.Buy;
    const ladder = isBuy ? this.instruments.bids[instrument] : this.instruments.asks[instrument];
    const level = ladder.findOrCreate(orders.price[slot]);
    if (level === NO_SLOT) {
      // Only reachable by a triggered stop-limit or a re-priced order when the level
      // pool is exhausted; capacity is checked on entry for everything else.
      return this.finishCanceled(slot, CancelReason.CAPACITY);
    }
    this.appendToLevel(slot, level);
    orders.status[slot] = OrderStatus.Resting;
    if (orders.timeInForce[slot] === TimeInForce.GTD) this.expiry.push(slot);
  }

  private appendToLevel(slot: number, level: number): void {
    const orders = this.orders;
    const levels = this.levels;
    const tail = levels.tail[level];
    orders.prev[slot] = tail;
    orders.next[slot] = NO_SLOT;
    if (tail === NO_SLOT) levels.head[level] = slot;
    else orders.next[tail] = slot;
    levels.tail[level] = slot;
    levels.orderCount[level]++;
    levels.quantity[level] += orders.leaves[slot];
    orders.level[slot] = level;
  }

  /** Unlinks an order from its level's FIFO and the level's quantity; returns the level. */
  private unlinkFromLevel(slot: number): number {
    const orders = this.orders;
    const levels = this.levels;
    const level = orders.level[slot];
    const before = orders.prev[slot];
    const after = orders.next[slot];
    if (before === NO_SLOT) levels.head[level] = after;
    else orders.next[before] = after;
    if (after === NO_SLOT) levels.tail[level] = before;
    else orders.prev[after] = before;
    levels.orderCount[level]--;
    levels.quantity[level] -= orders.status[slot] === OrderStatus.PendingStop ? orders.quantity[slot] : orders.leaves[slot];
    orders.level[slot] = NO_SLOT;
    return level;
  }

  /** Takes a resting order out of its level (leaving an emptied level in place) and out of the expiry heap. */
  private unlinkResting(slot: number): void {
    this.unlinkFromLevel(slot);
    this.expiry.remove(slot);
  }

  /** Removes a resting order or pending stop from its ladder, dropping its level if emptied. */
  private removeFromBook(slot: number): void {
    const orders = this.orders;
    if (orders.level[slot] === NO_SLOT) return;
    const wasStop = orders.status[slot] === OrderStatus.PendingStop;
    const level = this.unlinkFromLevel(slot);
    this.expiry.remove(slot);
    if (this.levels.orderCount[level] !== 0) return;
    const instrument = orders.instrument[slot];
    const isBuy = orders.side[slot] === Side.Buy;
    const ins = this.instruments;
    const ladder: PriceLadder = wasStop
      ? (isBuy ? ins.buyStops : ins.sellStops)[instrument]
      : (isBuy ? ins.bids : ins.asks)[instrument];
    ladder.remove(level);
  }

  /** The order filled completely (or was never more than its fills): release it. */
  private finishFilled(slot: number): void {
    if (this.risk !== null) this.risk.onOrderDone(slot);
    this.free(slot);
  }

  /** Emits OrderCanceled for the order's open quantity and frees it. The order must be off the book. */
  private finishCanceled(slot: number, reason: number): void {
    const orders = this.orders;
    const e = this.out.begin(E.OrderCanceled.code);
    const ev = this.out.words;
    const X = E.OrderCanceled.at;
    ev[e + X.orderId] = orders.orderId[slot];
    ev[e + X.account] = orders.account[slot];
    ev[e + X.instrument] = orders.instrument[slot];
    ev[e + X.side] = orders.side[slot];
    ev[e + X.price] = orders.price[slot];
    ev[e + X.canceledQuantity] = orders.leaves[slot];
    ev[e + X.reason] = reason;
    // The risk layer releases what the open quantity still holds, so it must see it first.
    if (this.risk !== null) this.risk.onOrderDone(slot);
    orders.leaves[slot] = 0;
    this.free(slot);
  }

  private free(slot: number): void {
    this.orderIndex.delete(this.orders.orderId[slot]);
    this.orders.release(slot);
  }

  // ------------------------------------------------------------ stops

  private stopIsTouched(instrument: number, isBuy: boolean, stopPrice: number): boolean {
    const last = this.instruments.lastPrice[instrument];
    if (last === 0) return false;
    return isBuy ? last >= stopPrice : last <= stopPrice;
  }

  private restStop(slot: number): void {
    const orders = this.orders;
    const instrument = orders.instrument[slot];
    const ins = this.instruments;
    const ladder = (orders.side[slot] === Side.Buy ? ins.buyStops : ins.sellStops)[instrument];
    const level = ladder.findOrCreate(orders.stopPrice[slot]);
    orders.status[slot] = OrderStatus.PendingStop;
    this.appendToLevel(slot, level);
    // Stop levels count quantity, not leaves (appendToLevel added leaves == quantity here).
    if (orders.timeInForce[slot] === TimeInForce.GTD) this.expiry.push(slot);
  }

  /**
   * After a trade at `price`, moves every stop it touches to the triggered queue:
   * buy stops with stop <= price and sell stops with stop >= price; within one
   * trade, most aggressive stop price first (buy: highest, sell: lowest), then
   * arrival; buys before sells.
   */
  private collectTriggeredStops(instrument: number, price: number): void {
    const ins = this.instruments;
    this.popTouched(ins.buyStops[instrument], price, true);
    this.popTouched(ins.sellStops[instrument], price, false);
  }

  private popTouched(ladder: PriceLadder, price: number, isBuy: boolean): void {
    const levels = this.levels;
    let popped = 0;
    for (;;) {
      const level = ladder.best();
      if (level === NO_SLOT) break;
      const stop = levels.price[level];
      if (isBuy ? stop > price : stop < price) break;
      // Detach the level's orders from the ladder but keep the chain for queueing.
      this.poppedLevels[popped++] = level;
      ladder.count--; // best is at the end: dropping it is a decrement
    }
    // Ladder order was least aggressive first (next to trigger); queue the reverse.
    const orders = this.orders;
    for (let i = popped - 1; i >= 0; i--) {
      const level = this.poppedLevels[i];
      for (let slot = levels.head[level]; slot !== NO_SLOT; ) {
        const next = orders.next[slot];
        orders.level[slot] = NO_SLOT;
        orders.next[slot] = NO_SLOT;
        orders.prev[slot] = NO_SLOT;
        this.expiry.remove(slot);
        this.enqueueTriggered(slot);
        slot = next;
      }
      levels.release(level);
    }
  }

  private enqueueTriggered(slot: number): void {
    const capacity = this.triggered.length;
    this.triggered[(this.triggeredHead + this.triggeredCount) % capacity] = slot;
    this.triggeredCount++;
    this.orders.status[slot] = OrderStatus.Matching;
  }

  /** Runs the stop cascade to completion: each triggered stop enters as market/limit. */
  private runTriggeredStops(): void {
    const orders = this.orders;
    const ins = this.instruments;
    while (this.triggeredCount > 0) {
      const slot = this.triggered[this.triggeredHead];
      this.triggeredHead = (this.triggeredHead + 1) % this.triggered.length;
      this.triggeredCount--;
      const instrument = orders.instrument[slot];
      const isBuy = orders.side[slot] === Side.Buy;
      const e = this.out.begin(E.StopTriggered.code);
      const ev = this.out.words;
      const S = E.StopTriggered.at;
      ev[e + S.orderId] = orders.orderId[slot];
      ev[e + S.account] = orders.account[slot];
      ev[e + S.instrument] = instrument;
      ev[e + S.stopPrice] = orders.stopPrice[slot];
      ev[e + S.lastPrice] = ins.lastPrice[instrument];
      if (orders.orderType[slot] === OrderType.Stop) {
        orders.orderType[slot] = OrderType.Market;
        orders.price[slot] = isBuy ? ins.bandHigh[instrument] : ins.bandLow[instrument];
      } else {
        orders.orderType[slot] = OrderType.Limit;
      }
      if (!ins.isOpen(instrument)) this.finishCanceled(slot, CancelReason.HALTED);
      else if (this.risk !== null && !this.risk.repriceTriggered(slot)) this.finishCanceled(slot, CancelReason.INSUFFICIENT_BUYING_POWER);
      else this.enter(slot);
    }
  }

  // ------------------------------------------------------------ cancel and replace

  /** The live slot of orderId for account, or a CancelRejected reason as a negative number. */
  private liveSlotFor(account: number, orderId: number): number {
    const slot = Number.isSafeInteger(orderId) && orderId >= 1 ? this.orderIndex.get(orderId) : NO_SLOT;
    if (slot === NO_SLOT) {
      const issued = Number.isInteger(orderId) && orderId >= 1 && orderId < this.nextOrderId;
      return issued ? -RejectReason.TOO_LATE_TO_CANCEL : -RejectReason.UNKNOWN_ORDER;
    }
    if (this.orders.account[slot] !== account) return -RejectReason.NOT_AUTHORIZED;
    return slot;
  }

  private cancelOrder(account: number, orderId: number): void {
    const slot = this.liveSlotFor(account, orderId);
    if (slot < 0) return this.cancelRejected(orderId, account, -slot, C.CancelOrder.code);
    this.removeFromBook(slot);
    this.finishCanceled(slot, CancelReason.USER);
  }

  private replaceOrder(w: Float64Array, o: number): void {
    const R = C.ReplaceOrder.at;
    const account = w[o + R.account];
    const orderId = w[o + R.orderId];
    const slot = this.liveSlotFor(account, orderId);
    if (slot < 0) return this.cancelRejected(orderId, account, -slot, C.ReplaceOrder.code);
    const orders = this.orders;
    const oldPrice = orders.price[slot];
    const oldLeaves = orders.leaves[slot];
    // 0 keeps the current value: a replace may change price, quantity or both.
    const newPrice = w[o + R.price] === 0 ? oldPrice : w[o + R.price];
    const newQuantity = w[o + R.quantity] === 0 ? orders.quantity[slot] : w[o + R.quantity];
    const reason = this.replaceReason(slot, newPrice, newQuantity);
    if (reason === REPLACE_TO_FILLED) {
      this.removeFromBook(slot);
      return this.finishCanceled(slot, CancelReason.REPLACED_TO_FILLED);
    }
    if (reason !== 0) {
      return this.orderRejected(account, orders.instrument[slot], orders.clientOrderId[slot], orderId, reason, C.ReplaceOrder.code);
    }
    const isPendingStop = orders.status[slot] === OrderStatus.PendingStop;
    const newLeaves = newQuantity - (orders.quantity[slot] - oldLeaves);
    const keepsPriority = isPendingStop || (newPrice === oldPrice && newQuantity <= orders.quantity[slot]);
    if (keepsPriority) {
      const level = orders.level[slot];
      if (level !== NO_SLOT) {
        this.levels.quantity[level] += isPendingStop ? newQuantity - orders.quantity[slot] : newLeaves - oldLeaves;
      }
      orders.quantity[slot] = newQuantity;
      orders.leaves[slot] = newLeaves;
      orders.price[slot] = newPrice;
      this.replaced(slot, 1, oldPrice, oldLeaves);
      if (this.risk !== null) this.risk.onReplaced(slot, oldPrice, oldLeaves);
      return;
    }
    // Loses priority: leave the book, take the new terms, enter again as an aggressor.
    this.removeFromBook(slot);
    orders.quantity[slot] = newQuantity;
    orders.leaves[slot] = newLeaves;
    orders.price[slot] = newPrice;
    orders.status[slot] = OrderStatus.Matching;
    this.replaced(slot, 0, oldPrice, oldLeaves);
    if (this.risk !== null) this.risk.onReplaced(slot, oldPrice, oldLeaves);
    this.enter(slot);
    this.runTriggeredStops();
  }

  /** 0 when the replace may proceed, REPLACE_TO_FILLED, or the OrderRejected reason. */
  private replaceReason(slot: number, newPrice: number, newQuantity: number): number {
    const orders = this.orders;
    const ins = this.instruments;
    const instrument = orders.instrument[slot];
    const oldPrice = orders.price[slot];
    const orderType = orders.orderType[slot];
    const hasLimit = orderType === OrderType.Limit || orderType === OrderType.StopLimit;
    if (!Number.isInteger(newQuantity) || newQuantity < 1 || newQuantity > MAX_QUANTITY) return RejectReason.INVALID_FIELD;
    if (!Number.isInteger(newPrice) || newPrice < 0 || newPrice > MAX_PRICE) return RejectReason.INVALID_FIELD;
    if (!hasLimit && newPrice !== oldPrice) return RejectReason.INVALID_FIELD; // a stop-market has no limit price
    const stateReason = this.stateReason(instrument);
    if (stateReason !== 0) return stateReason;
    if (newQuantity <= orders.quantity[slot] - orders.leaves[slot]) return REPLACE_TO_FILLED;
    if (!isMultipleOf(newPrice, ins.tickSize[instrument])) return RejectReason.PRICE_OFF_TICK;
    if (!isMultipleOf(newQuantity, ins.lotSize[instrument])) return RejectReason.QUANTITY_OFF_LOT;
    if (newQuantity > ins.maxOrderQuantity[instrument]) return RejectReason.QUANTITY_ABOVE_MAX;
    const priceChanged = newPrice !== oldPrice;
    const isPendingStop = orders.status[slot] === OrderStatus.PendingStop;
    if (priceChanged && !isPendingStop && (newPrice < ins.bandLow[instrument] || newPrice > ins.bandHigh[instrument])) {
      return RejectReason.PRICE_OUTSIDE_BANDS;
    }
    const notionalPrice = orderType === OrderType.Stop ? orders.stopPrice[slot] : newPrice;
    if (notionalPrice * newQuantity > ins.maxOrderNotional[instrument]) return RejectReason.NOTIONAL_ABOVE_MAX;
    const isBuy = orders.side[slot] === Side.Buy;
    if (priceChanged && !isPendingStop) {
      if ((orders.flags[slot] & OrderFlag.PostOnly) !== 0 && this.wouldCross(instrument, isBuy, newPrice)) {
        return RejectReason.POST_ONLY_WOULD_CROSS;
      }
      const book = isBuy ? ins.bids[instrument] : ins.asks[instrument];
      if (book.find(newPrice) === NO_SLOT && (book.count === book.capacity || this.levels.freeHead === NO_SLOT)) {
        return RejectReason.LEVEL_CAPACITY_EXCEEDED;
      }
    }
    if (this.risk !== null) {
      const newLeaves = newQuantity - (orders.quantity[slot] - orders.leaves[slot]);
      return this.risk.checkReplace(slot, newPrice, newLeaves);
    }
    return 0;
  }

  private replaced(slot: number, priorityKept: number, oldPrice: number, oldLeaves: number): void {
    const orders = this.orders;
    const e = this.out.begin(E.OrderReplaced.code);
    const ev = this.out.words;
    const P = E.OrderReplaced.at;
    ev[e + P.orderId] = orders.orderId[slot];
    ev[e + P.account] = orders.account[slot];
    ev[e + P.instrument] = orders.instrument[slot];
    ev[e + P.side] = orders.side[slot];
    ev[e + P.price] = orders.price[slot];
    ev[e + P.quantity] = orders.quantity[slot];
    ev[e + P.leavesQuantity] = orders.leaves[slot];
    ev[e + P.priorityKept] = priorityKept;
    ev[e + P.oldPrice] = oldPrice;
    ev[e + P.oldLeaves] = oldLeaves;
  }

  private massCancel(w: Float64Array, o: number): void {
    const M = C.MassCancel.at;
    const account = w[o + M.account];
    const instrument = w[o + M.instrument];
    const side = w[o + M.side];
    const validAccount = Number.isInteger(account) && account >= 0 && account <= this.limits.maxAccounts;
    const validSide = side === 0 || side === Side.Buy || side === Side.Sell;
    if (!validAccount || !validSide || !(instrument === 0 || this.instruments.has(instrument))) {
      return this.commandRejected(C.MassCancel.code, account, instrument === 0 || this.instruments.has(instrument) ? RejectReason.INVALID_FIELD : RejectReason.UNKNOWN_INSTRUMENT, 0);
    }
    const count = this.cancelWhere(account, instrument, side, CancelReason.MASS_CANCEL);
    const e = this.out.begin(E.MassCancelDone.code);
    const ev = this.out.words;
    ev[e + E.MassCancelDone.at.account] = account;
    ev[e + E.MassCancelDone.at.instrument] = instrument;
    ev[e + E.MassCancelDone.at.side] = side;
    ev[e + E.MassCancelDone.at.canceledCount] = count;
  }

  /**
   * Cancels every live order matching the filter (0 = any), in order id order so
   * the events are deterministic and easy to audit. Returns how many.
   */
  cancelWhere(account: number, instrument: number, side: number, reason: number): number {
    const slots = this.collectOrders(account, instrument, side, 0);
    for (let i = 0; i < slots.length; i++) {
      this.removeFromBook(slots[i]);
      this.finishCanceled(slots[i], reason);
    }
    return slots.length;
  }

  /**
   * Live order slots matching a filter, sorted by order id. Allocates: used only
   * by rare administrative paths (mass cancel, session close, corporate actions).
   */
  collectOrders(account: number, instrument: number, side: number, timeInForce: number): number[] {
    const orders = this.orders;
    const found: number[] = [];
    const consider = (slot: number) => {
      if (instrument !== 0 && orders.instrument[slot] !== instrument) return;
      if (side !== 0 && orders.side[slot] !== side) return;
      if (timeInForce !== 0 && orders.timeInForce[slot] !== timeInForce) return;
      found.push(slot);
    };
    if (account !== 0) {
      for (let slot = orders.accountHead[account]; slot !== NO_SLOT; slot = orders.accountNext[slot]) consider(slot);
    } else if (instrument !== 0) {
      const ins = this.instruments;
      for (const ladder of [ins.bids[instrument], ins.asks[instrument], ins.buyStops[instrument], ins.sellStops[instrument]]) {
        for (let i = 0; i < ladder.count; i++) {
          for (let slot = this.levels.head[ladder.levels[i]]; slot !== NO_SLOT; slot = orders.next[slot]) consider(slot);
        }
      }
    } else {
      for (let slot = 0; slot < orders.capacity; slot++) {
        const status = orders.status[slot];
        if (status === OrderStatus.Resting || status === OrderStatus.PendingStop) consider(slot);
      }
    }
    found.sort((a, b) => orders.orderId[a] - orders.orderId[b]);
    return found;
  }

  // ------------------------------------------------------------ instruments and sessions

  private addInstrument(w: Float64Array, o: number): void {
    const A = C.AddInstrument.at;
    const instrument = w[o + A.instrument];
    const tick = w[o + A.tickSize];
    const lot = w[o + A.lotSize];
    const band = w[o + A.bandBasisPoints];
    const maxQuantity = w[o + A.maxOrderQuantity];
    const maxNotional = w[o + A.maxOrderNotional];
    const reference = w[o + A.referencePrice];
    const settlementDays = w[o + A.settlementDays] === 0 ? 1 : w[o + A.settlementDays];
    const state = w[o + A.initialState] === 0 ? InstrumentState.Open : w[o + A.initialState];
    const ins = this.instruments;
    const reject = (reason: number) => this.commandRejected(C.AddInstrument.code, instrument, reason, 0);
    if (!Number.isInteger(instrument) || instrument < 1) return reject(RejectReason.INVALID_FIELD);
    if (instrument > this.limits.maxInstruments) return reject(RejectReason.INSTRUMENT_CAPACITY_EXCEEDED);
    const head = w[o + A.symbolHead];
    const tail = w[o + A.symbolTail];
    const symbol = isAscii7(head) && isAscii7(tail) ? unpackSymbol(head, tail) : '';
    if (!SYMBOL_PATTERN.test(symbol)) return reject(RejectReason.INVALID_FIELD);
    if (ins.has(instrument) || ins.bySymbol.has(symbol)) return reject(RejectReason.INSTRUMENT_EXISTS);
    const positive = (v: number, max: number) => Number.isInteger(v) && v >= 1 && v <= max;
    if (!positive(tick, MAX_PRICE) || !positive(lot, MAX_QUANTITY) || !positive(maxQuantity, MAX_QUANTITY)) {
      return reject(RejectReason.INVALID_FIELD);
    }
    if (!positive(maxNotional, Number.MAX_SAFE_INTEGER) || !positive(reference, MAX_PRICE) || reference % tick !== 0) {
      return reject(RejectReason.INVALID_FIELD);
    }
    if (!Number.isInteger(band) || band < 0 || band >= BASIS_POINTS) return reject(RejectReason.INVALID_FIELD);
    if (!(settlementDays >= 1 && settlementDays <= 2)) return reject(RejectReason.INVALID_FIELD);
    if (!(state >= InstrumentState.PreOpen && state <= InstrumentState.Closed)) return reject(RejectReason.INVALID_FIELD);
    if (this.levels.capacity - this.levels.used < 4) return reject(RejectReason.LEVEL_CAPACITY_EXCEEDED);

    ins.add(instrument, symbol);
    ins.tickSize[instrument] = tick;
    ins.lotSize[instrument] = lot;
    ins.bandBasisPoints[instrument] = band;
    ins.maxOrderQuantity[instrument] = maxQuantity;
    ins.maxOrderNotional[instrument] = maxNotional;
    ins.settlementDays[instrument] = settlementDays;
    ins.state[instrument] = state;
    ins.symbolHead[instrument] = w[o + A.symbolHead];
    ins.symbolTail[instrument] = w[o + A.symbolTail];
    ins.currency[instrument] = w[o + A.currency];
    ins.setReference(instrument, reference);
    const e = this.out.begin(E.InstrumentAdded.code);
    const ev = this.out.words;
    const I = E.InstrumentAdded.at;
    ev[e + I.instrument] = instrument;
    ev[e + I.symbolHead] = w[o + A.symbolHead];
    ev[e + I.symbolTail] = w[o + A.symbolTail];
    ev[e + I.tickSize] = tick;
    ev[e + I.lotSize] = lot;
    ev[e + I.bandBasisPoints] = band;
    ev[e + I.referencePrice] = reference;
    ev[e + I.state] = state;
    ev[e + I.settlementDays] = settlementDays;
  }

  setState(instrument: number, state: number, reason: number): void {
    const ins = this.instruments;
    const previous = ins.state[instrument];
    ins.state[instrument] = state;
    const e = this.out.begin(E.InstrumentStateChanged.code);
    const ev = this.out.words;
    const S = E.InstrumentStateChanged.at;
    ev[e + S.instrument] = instrument;
    ev[e + S.state] = state;
    ev[e + S.previousState] = previous;
    ev[e + S.reason] = reason;
  }

  /**
   * Applies a state transition to one instrument or (instrument 0) to every
   * instrument it is valid for. Rejected when it applies to none.
   */
  private transition(commandType: number, instrument: number, from: readonly number[], to: number, reason: number): number[] {
    const ins = this.instruments;
    const changed: number[] = [];
    if (instrument !== 0 && !ins.has(instrument)) {
      this.commandRejected(commandType, instrument, RejectReason.UNKNOWN_INSTRUMENT, 0);
      return changed;
    }
    const first = instrument === 0 ? 1 : instrument;
    const last = instrument === 0 ? this.limits.maxInstruments : instrument;
    for (let i = first; i <= last; i++) {
      if (ins.exists[i] === 1 && from.includes(ins.state[i])) {
        this.setState(i, to, reason);
        changed.push(i);
      }
    }
    if (changed.length === 0) this.commandRejected(commandType, instrument, RejectReason.INVALID_STATE_TRANSITION, 0);
    return changed;
  }

  private sessionOpen(instrument: number): void {
    const S = InstrumentState;
    this.transition(C.SessionOpen.code, instrument, [S.PreOpen, S.Closed], S.Open, StateChangeReason.SessionOpen);
  }

  /** Closes trading and expires DAY orders (resting and pending stops) of the closed instruments. */
  private sessionClose(instrument: number): void {
    const S = InstrumentState;
    const closed = this.transition(C.SessionClose.code, instrument, [S.PreOpen, S.Open, S.Halted], S.Closed, StateChangeReason.SessionClose);
    for (const i of closed) {
      const slots = this.collectOrders(0, i, 0, TimeInForce.DAY);
      for (const slot of slots) {
        this.removeFromBook(slot);
        this.finishCanceled(slot, CancelReason.EXPIRED);
      }
    }
  }

  private haltOrResume(commandType: number, instrument: number): void {
    const S = InstrumentState;
    if (instrument === 0) return this.commandRejected(commandType, 0, RejectReason.UNKNOWN_INSTRUMENT, 0);
    if (commandType === C.HaltInstrument.code) this.transition(commandType, instrument, [S.Open], S.Halted, StateChangeReason.Admin);
    else this.transition(commandType, instrument, [S.Halted], S.Open, StateChangeReason.Admin);
  }

  /** Time passes: GTD orders whose expiry is at or before now are canceled (EXPIRED). */
  private clock(): void {
    this.out.begin(E.ClockAdvanced.code);
    const orders = this.orders;
    for (;;) {
      const slot = this.expiry.peek();
      if (slot === NO_SLOT || orders.expireTime[slot] > this.now) break;
      this.removeFromBook(slot);
      this.finishCanceled(slot, CancelReason.EXPIRED);
    }
  }

  private endOfDay(calendarDate: number): void {
    if (!Number.isInteger(calendarDate) || calendarDate < 0 || calendarDate > 0xffff_ffff) {
      return this.commandRejected(C.EndOfDay.code, 0, RejectReason.INVALID_FIELD, 0);
    }
    if (calendarDate !== 0) {
      if (calendarDate <= this.lastEndedCalendarDate) {
        return this.commandRejected(C.EndOfDay.code, 0, RejectReason.TRADING_DAY_ALREADY_ENDED, calendarDate);
      }
      this.lastEndedCalendarDate = calendarDate;
    }
    this.tradeDate++;
    this.clientOrderIds.clear();
    const e = this.out.begin(E.TradingDayEnded.code);
    this.out.words[e + E.TradingDayEnded.at.tradeDate] = this.tradeDate;
    if (this.risk !== null) this.risk.onEndOfDay(this.tradeDate);
  }

  private setFeeSchedule(w: Float64Array, o: number): void {
    const F = C.SetFeeSchedule.at;
    const maker = w[o + F.makerFeeBasisPoints];
    const taker = w[o + F.takerFeeBasisPoints];
    const feeAccount = w[o + F.feeAccount];
    const valid = (v: number) => Number.isInteger(v) && v > -BASIS_POINTS && v < BASIS_POINTS;
    if (!valid(maker) || !valid(taker) || !Number.isInteger(feeAccount) || feeAccount < 0 || feeAccount > this.limits.maxAccounts) {
      return this.commandRejected(C.SetFeeSchedule.code, feeAccount, RejectReason.INVALID_FIELD, 0);
    }
    if (this.risk !== null) {
      const reason = this.risk.checkFeeAccount(feeAccount, maker, taker);
      if (reason !== 0) return this.commandRejected(C.SetFeeSchedule.code, feeAccount, reason, 0);
      this.risk.setFeeAccount(feeAccount);
    }
    this.makerFeeBasisPoints = maker;
    this.takerFeeBasisPoints = taker;
    const e = this.out.begin(E.FeeScheduleSet.code);
    const ev = this.out.words;
    ev[e + E.FeeScheduleSet.at.makerFeeBasisPoints] = maker;
    ev[e + E.FeeScheduleSet.at.takerFeeBasisPoints] = taker;
    ev[e + E.FeeScheduleSet.at.feeAccount] = feeAccount;
  }

  // ------------------------------------------------------------ snapshot image

  imageParts(): ImagePart[] {
    const o = this.orders;
    const n = o.highWater;
    const l = this.levels;
    const ins = this.instruments;
    const parts: ImagePart[] = [
      { name: 'orders.orderId', array: o.orderId, length: n },
      { name: 'orders.clientOrderId', array: o.clientOrderId, length: n },
      { name: 'orders.account', array: o.account, length: n },
      { name: 'orders.instrument', array: o.instrument, length: n },
      { name: 'orders.side', array: o.side, length: n },
      { name: 'orders.orderType', array: o.orderType, length: n },
      { name: 'orders.timeInForce', array: o.timeInForce, length: n },
      { name: 'orders.selfTradePrevention', array: o.selfTradePrevention, length: n },
      { name: 'orders.flags', array: o.flags, length: n },
      { name: 'orders.status', array: o.status, length: n },
      { name: 'orders.price', array: o.price, length: n },
      { name: 'orders.stopPrice', array: o.stopPrice, length: n },
      { name: 'orders.quantity', array: o.quantity, length: n },
      { name: 'orders.leaves', array: o.leaves, length: n },
      { name: 'orders.expireTime', array: o.expireTime, length: n },
      { name: 'orders.reservedCash', array: o.reservedCash, length: n },
      { name: 'orders.next', array: o.next, length: n },
      { name: 'orders.prev', array: o.prev, length: n },
      { name: 'orders.level', array: o.level, length: n },
      { name: 'orders.accountNext', array: o.accountNext, length: n },
      { name: 'orders.accountPrev', array: o.accountPrev, length: n },
      { name: 'orders.expiryIndex', array: o.expiryIndex, length: n },
      { name: 'orders.accountHead', array: o.accountHead, length: o.accountHead.length },
      { name: 'orders.accountOrderCount', array: o.accountOrderCount, length: o.accountOrderCount.length },
      { name: 'levels.price', array: l.price, length: l.highWater },
      { name: 'levels.quantity', array: l.quantity, length: l.highWater },
      { name: 'levels.head', array: l.head, length: l.highWater },
      { name: 'levels.tail', array: l.tail, length: l.highWater },
      { name: 'levels.orderCount', array: l.orderCount, length: l.highWater },
      { name: 'expiry.slots', array: this.expiry.slots, length: this.expiry.size },
      ...this.clientOrderIds.imageParts(),
    ];
    const tables: Array<[string, Float64Array | Uint8Array]> = [
      ['exists', ins.exists], ['state', ins.state], ['tickSize', ins.tickSize], ['lotSize', ins.lotSize],
      ['bandBasisPoints', ins.bandBasisPoints], ['maxOrderQuantity', ins.maxOrderQuantity],
      ['maxOrderNotional', ins.maxOrderNotional], ['settlementDays', ins.settlementDays],
      ['referencePrice', ins.referencePrice], ['lastPrice', ins.lastPrice], ['bandLow', ins.bandLow],
      ['bandHigh', ins.bandHigh], ['symbolHead', ins.symbolHead], ['symbolTail', ins.symbolTail], ['currency', ins.currency],
    ];
    for (const [name, array] of tables) parts.push({ name: `instruments.${name}`, array, length: array.length });
    for (const i of this.instrumentIds()) {
      for (const [name, ladder] of this.laddersOf(i)) {
        parts.push({ name: `ladder.${i}.${name}.levels`, array: ladder.levels, length: ladder.count });
        parts.push({ name: `ladder.${i}.${name}.keys`, array: ladder.keys, length: ladder.count });
      }
    }
    return parts;
  }

  imageScalars(): Record<string, unknown> {
    if (this.triggeredCount !== 0) throw new Error('state image cut in the middle of a stop cascade');
    const ins = this.instruments;
    return {
      nextOrderId: this.nextOrderId,
      tradeDate: this.tradeDate,
      lastEndedCalendarDate: this.lastEndedCalendarDate,
      makerFeeBasisPoints: this.makerFeeBasisPoints,
      takerFeeBasisPoints: this.takerFeeBasisPoints,
      now: this.now,
      sequence: this.out.sequence,
      orders: [this.orders.freeHead, this.orders.used, this.orders.highWater],
      levels: [this.levels.freeHead, this.levels.used, this.levels.highWater],
      expirySize: this.expiry.size,
      clientOrderIds: this.clientOrderIds.imageScalars(),
      instruments: this.instrumentIds().map((i) => [i, ins.symbol[i], this.laddersOf(i).map(([, ladder]) => ladder.count)]),
    };
  }

  restoreScalars(scalars: Record<string, unknown>): void {
    const s = scalars as {
      nextOrderId: number; tradeDate: number; lastEndedCalendarDate?: number; makerFeeBasisPoints: number; takerFeeBasisPoints: number; now: number;
      sequence: number; orders: number[]; levels: number[]; expirySize: number; clientOrderIds: number[];
      instruments: Array<[number, string, number[]]>;
    };
    this.nextOrderId = s.nextOrderId;
    this.tradeDate = s.tradeDate;
    this.lastEndedCalendarDate = s.lastEndedCalendarDate ?? 0; // images cut before dated days existed
    this.makerFeeBasisPoints = s.makerFeeBasisPoints;
    this.takerFeeBasisPoints = s.takerFeeBasisPoints;
    this.now = s.now;
    this.out.sequence = s.sequence;
    [this.orders.freeHead, this.orders.used, this.orders.highWater] = s.orders;
    [this.levels.freeHead, this.levels.used, this.levels.highWater] = s.levels;
    this.expiry.size = s.expirySize;
    this.clientOrderIds.restoreScalars(s.clientOrderIds);
    for (const [id, symbol, counts] of s.instruments) {
      this.instruments.add(id, symbol);
      this.laddersOf(id).forEach(([, ladder], k) => (ladder.count = counts[k]));
    }
  }

  rebuildIndexes(): void {
    const o = this.orders;
    this.orderIndex.clear();
    for (let slot = 0; slot < o.highWater; slot++) {
      if (o.status[slot] !== OrderStatus.Free) this.orderIndex.set(o.orderId[slot], slot);
    }
    this.clientOrderIds.older.rebuild();
  }

  private instrumentIds(): number[] {
    const ids: number[] = [];
    for (let i = 1; i <= this.limits.maxInstruments; i++) if (this.instruments.exists[i] === 1) ids.push(i);
    return ids;
  }

  private laddersOf(i: number): Array<[string, PriceLadder]> {
    const ins = this.instruments;
    return [['bids', ins.bids[i]], ['asks', ins.asks[i]], ['buyStops', ins.buyStops[i]], ['sellStops', ins.sellStops[i]]];
  }

  // ------------------------------------------------------------ rejections

  orderRejected(account: number, instrument: number, clientOrderId: number, orderId: number, reason: number, commandType: number): void {
    const e = this.out.begin(E.OrderRejected.code);
    const ev = this.out.words;
    const R = E.OrderRejected.at;
    ev[e + R.account] = safeOrZero(account);
    ev[e + R.instrument] = safeOrZero(instrument);
    ev[e + R.clientOrderId] = safeOrZero(clientOrderId);
    ev[e + R.orderId] = safeOrZero(orderId);
    ev[e + R.reason] = reason;
    ev[e + R.commandType] = commandType;
  }

  private cancelRejected(orderId: number, account: number, reason: number, commandType: number): void {
    const e = this.out.begin(E.CancelRejected.code);
    const ev = this.out.words;
    const R = E.CancelRejected.at;
    ev[e + R.orderId] = safeOrZero(orderId);
    ev[e + R.account] = safeOrZero(account);
    ev[e + R.reason] = reason;
    ev[e + R.commandType] = commandType;
  }

  commandRejected(commandType: number, subject: number, reason: number, reference: number): void {
    const e = this.out.begin(E.CommandRejected.code);
    const ev = this.out.words;
    const R = E.CommandRejected.at;
    ev[e + R.commandType] = safeOrZero(commandType);
    ev[e + R.subject] = safeOrZero(subject);
    ev[e + R.reason] = reason;
    ev[e + R.reference] = safeOrZero(reference);
  }
}

/** Internal outcome of replaceReason: the new quantity is at or below what already filled. */
const REPLACE_TO_FILLED = -1;

const MatchOutcome = { Filled: 0, Exhausted: 1, PricedOut: 2, Stopped: 3 } as const;

/** Symbols: upper-case letters, digits, '.', '-' and '_', starting with a letter or digit. */
const SYMBOL_PATTERN = /^[A-Z0-9][A-Z0-9._-]{0,13}$/;

function isAscii7(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0 && value < 128 ** 7;
}

/** Echoes of malformed input are normalised so every event word stays a safe integer. */
function safeOrZero(value: number): number {
  return Number.isSafeInteger(value) ? value : 0;
}
