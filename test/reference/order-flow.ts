/**
 * Seeded random command streams for the matcher: realistic (prices clustered near
 * the last/reference price, several accounts trading against each other) and nasty
 * (off-tick, off-lot, out-of-band and invalid values, unknown and foreign order ids,
 * duplicate client order ids, halts, session closes, expiring GTD orders, ...).
 *
 * Deterministic: the same seed gives the same stream. A stream is a setup (from one
 * seed) followed by steps, each built from its own seed, so fast-check can shrink a
 * failing stream by dropping steps or simplifying step seeds. The builder runs a
 * shadow reference matcher to learn which orders are live, so cancels and replaces
 * mostly name real orders.
 */
import { OrderType, Side, TimeInForce } from '../../core/codes';
import { CommandObject, decodeCommand, encodeCommand } from '../../core/record-objects';
import { CommandName, packAscii7 } from '../../core/schema';
import { RefInstrument, ReferenceMatcher, ReferenceOptions } from './reference-matcher';

/** Limits the tests give both the engine and the reference (generous: never reached). */
export const FLOW_LIMITS = {
  maxOrders: 8192,
  maxPriceLevels: 8192,
  maxLevelsPerSide: 2048,
  maxInstruments: 16,
  maxAccounts: 64,
  clientOrderIdWindow: 65536,
  maxPositions: 4096,
} as const;

export const REFERENCE_OPTIONS: ReferenceOptions = {
  maxAccounts: FLOW_LIMITS.maxAccounts,
  maxInstruments: FLOW_LIMITS.maxInstruments,
  clientOrderIdWindow: FLOW_LIMITS.clientOrderIdWindow,
};

/** mulberry32: a tiny, well-known 32-bit PRNG. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [low, high]. */
  int(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  /** Picks a key by weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const keys = Object.keys(weights) as K[];
    const total = keys.reduce((sum, k) => sum + weights[k], 0);
    let x = this.next() * total;
    for (const key of keys) {
      x -= weights[key];
      if (x < 0) return key;
    }
    return keys[keys.length - 1];
  }
  /** Roughly bell-shaped integer in [-width, width]. */
  around(width: number): number {
    return Math.round((this.next() + this.next() + this.next() - 1.5) * (2 / 3) * width);
  }
}

/** A command object exactly as the engine would see it (through the record encoding). */
export function makeCommand<N extends CommandName>(
  name: N, fields: Record<string, number>, timestamp: number, origin: number,
): CommandObject {
  return decodeCommand(encodeCommand(name, fields as never, timestamp, origin));
}

/** Encodes a command object back into a record for the real matcher. */
export function encodeCommandObject(command: CommandObject): Float64Array {
  const fields: Record<string, number> = {};
  for (const key of Object.keys(command)) {
    if (key !== 'type' && key !== 'timestamp' && key !== 'origin') fields[key] = Number(command[key]);
  }
  return encodeCommand(command.type as CommandName, fields as never, command.timestamp, command.origin);
}

const ACCOUNTS = [1, 2, 3, 4, 5] as const;

interface InstrumentPlan {
  id: number;
  symbol: string;
  tickSize: number;
  lotSize: number;
  bandBasisPoints: number;
  maxOrderQuantity: number;
  maxOrderNotional: number;
  referencePrice: number;
  initialState: number;
}

export class FlowBuilder {
  readonly commands: CommandObject[] = [];
  readonly shadow = new ReferenceMatcher(REFERENCE_OPTIONS);
  private time = 1_000_000;
  private plans: InstrumentPlan[] = [];
  private clientOrderIds = new Map<number, number>();
  private recentClientOrderIds: Array<[number, number]> = [];

  constructor(setupSeed: number) {
    const rng = new Rng(setupSeed ^ 0x5eed);
    const count = rng.int(1, 3);
    for (let i = 0; i < count; i++) {
      const tickSize = rng.pick([1, 1, 5, 10, 25]);
      const lotSize = rng.pick([1, 1, 10, 100]);
      const referencePrice = tickSize * rng.int(20, 400);
      const plan: InstrumentPlan = {
        id: i + 1,
        symbol: rng.pick(['AAPL', 'MSFT', 'BRK.B', 'X', 'ABC-D', 'Q1_Z']) + (i + 1),
        tickSize,
        lotSize,
        bandBasisPoints: rng.pick([0, 50, 100, 300, 500, 1000, 2500]),
        maxOrderQuantity: lotSize * rng.pick([20, 100, 1000]),
        maxOrderNotional: rng.chance(0.3) ? referencePrice * lotSize * rng.int(5, 40) : 1e13,
        referencePrice,
        initialState: rng.chance(0.8) ? 0 : rng.pick([1, 2, 3, 4]),
      };
      this.plans.push(plan);
      this.emitAddInstrument(plan, 0);
    }
    if (rng.chance(0.3)) this.push('SetFeeSchedule', { makerFeeBasisPoints: rng.int(-5, 10), takerFeeBasisPoints: rng.int(0, 30), feeAccount: rng.int(0, 5) }, rng);
  }

  private push(name: CommandName, fields: Record<string, number>, rng: Rng, advance = rng.int(0, 3) * rng.int(0, 2000)): void {
    this.time += advance;
    const command = makeCommand(name, fields, this.time, rng.int(0, 7));
    this.commands.push(command);
    this.shadow.process(command);
  }

  private emitAddInstrument(plan: InstrumentPlan, origin: number): void {
    const head = packAscii7(plan.symbol.slice(0, 7));
    const tail = packAscii7(plan.symbol.slice(7, 14));
    const command = makeCommand('AddInstrument', {
      instrument: plan.id, symbolHead: head, symbolTail: tail, tickSize: plan.tickSize, lotSize: plan.lotSize,
      bandBasisPoints: plan.bandBasisPoints, maxOrderQuantity: plan.maxOrderQuantity,
      maxOrderNotional: plan.maxOrderNotional, referencePrice: plan.referencePrice, settlementDays: 0,
      initialState: plan.initialState, currency: packAscii7('USD'),
    }, this.time, origin);
    this.commands.push(command);
    this.shadow.process(command);
  }

  private instrument(id: number): RefInstrument | undefined {
    return this.shadow.instruments.get(id);
  }

  /** One more command built from its own seed. */
  step(seed: number): void {
    const rng = new Rng(seed);
    const notOpen = [...this.shadow.instruments.values()].filter((i) => i.state !== 2).length;
    const kind = rng.weighted({
      newOrder: 60, cancel: 9, replace: 11, massCancel: 1.5, sessionClose: 1, sessionOpen: 1 + 6 * notOpen,
      halt: 0.7, resume: 1 + 6 * notOpen, clock: 4, endOfDay: 0.7, fees: 0.7, addInstrument: 0.6,
    });
    switch (kind) {
      case 'newOrder': return this.newOrder(rng);
      case 'cancel': return this.push('CancelOrder', { ...this.orderReference(rng) }, rng);
      case 'replace': return this.replace(rng);
      case 'massCancel': return this.push('MassCancel', {
        account: rng.chance(0.4) ? 0 : rng.pick(ACCOUNTS), instrument: rng.chance(0.4) ? 0 : this.instrumentId(rng),
        side: rng.pick([0, 0, 1, 2]),
      }, rng);
      case 'sessionClose': return this.push('SessionClose', { instrument: rng.chance(0.3) ? 0 : this.instrumentId(rng) }, rng);
      case 'sessionOpen': return this.push('SessionOpen', { instrument: rng.chance(0.3) ? 0 : this.instrumentIn(rng, [1, 4]) }, rng);
      case 'halt': return this.push('HaltInstrument', { instrument: this.instrumentId(rng) }, rng);
      case 'resume': return this.push('ResumeInstrument', { instrument: this.instrumentIn(rng, [3]) }, rng);
      case 'clock': return this.push('Clock', {}, rng, rng.chance(0.05) ? -rng.int(1, 3000) : rng.int(0, 3) * rng.int(0, 8000));
      case 'endOfDay': return this.push('EndOfDay', {
        // Undated, dated (sometimes a day already ended), or nonsense.
        calendarDate: rng.chance(0.4) ? 0 : rng.chance(0.05) ? rng.pick([-1, 1.5, 2 ** 32]) : 20261100 + rng.int(1, 30),
      }, rng);
      case 'fees': return this.push('SetFeeSchedule', {
        makerFeeBasisPoints: rng.chance(0.1) ? rng.pick([-10000, 10000, 2.5]) : rng.int(-5, 10),
        takerFeeBasisPoints: rng.int(0, 30), feeAccount: rng.chance(0.1) ? FLOW_LIMITS.maxAccounts + 1 : rng.int(0, 5),
      }, rng);
      case 'addInstrument': return this.nastyAddInstrument(rng);
    }
  }

  /** An instrument id: mostly a planned one, sometimes unknown. */
  private instrumentId(rng: Rng): number {
    if (rng.chance(0.04)) return rng.pick([0, 9, FLOW_LIMITS.maxInstruments + 1]);
    return rng.pick(this.plans).id;
  }

  /** Mostly an instrument in one of `states` (so reopening commands usually do something). */
  private instrumentIn(rng: Rng, states: number[]): number {
    const candidates = this.plans.filter((p) => states.includes(this.instrument(p.id)?.state ?? 0));
    return candidates.length > 0 && rng.chance(0.8) ? rng.pick(candidates).id : this.instrumentId(rng);
  }

  private account(rng: Rng): number {
    return rng.pick([1, 1, 2, 2, 3, 4, 5]);
  }

  private center(instrument: RefInstrument | undefined, plan: InstrumentPlan): number {
    if (instrument === undefined) return plan.referencePrice;
    return instrument.lastPrice > 0 ? instrument.lastPrice : instrument.referencePrice;
  }

  private onTick(plan: InstrumentPlan, price: number): number {
    return Math.max(plan.tickSize, Math.round(price / plan.tickSize) * plan.tickSize);
  }

  /** A valid price near the centre: mostly inside the band, sometimes just outside or far away. */
  private price(rng: Rng, plan: InstrumentPlan, center: number): number {
    const tick = plan.tickSize;
    const bandTicks = plan.bandBasisPoints === 0 ? 10 : Math.ceil((center * plan.bandBasisPoints) / 10000 / tick);
    const width = Math.max(3, Math.min(40, Math.ceil(bandTicks * 1.3)));
    if (rng.chance(0.95)) return this.onTick(plan, center + rng.around(width) * tick);
    return this.onTick(plan, rng.chance(0.5) ? center * rng.pick([2, 3]) : center / rng.pick([2, 3]));
  }

  /** A limit price for a new order: often at or through the opposite best (so it trades), else near the centre. */
  private limitPrice(rng: Rng, plan: InstrumentPlan, side: number, center: number): number {
    const instrument = this.instrument(plan.id);
    const opposite = instrument === undefined ? [] : side === Side.Buy ? instrument.asks : instrument.bids;
    if (opposite.length > 0 && rng.chance(0.35)) {
      const through = rng.int(-1, 3) * plan.tickSize;
      return this.onTick(plan, opposite[0].price + (side === Side.Buy ? through : -through));
    }
    return this.price(rng, plan, center);
  }

  private quantity(rng: Rng, plan: InstrumentPlan): number {
    const lot = plan.lotSize;
    if (rng.chance(0.97)) return lot * rng.pick([1, 1, 2, 3, 5, 8, 10, 15]);
    return Math.min(plan.maxOrderQuantity, lot * rng.int(10, 1000));
  }

  private clientOrderId(rng: Rng, account: number): number {
    if (rng.chance(0.03) && this.recentClientOrderIds.length > 0) {
      const [, id] = rng.pick(this.recentClientOrderIds.slice(-20));
      return id;
    }
    const next = (this.clientOrderIds.get(account) ?? 0) + 1;
    this.clientOrderIds.set(account, next);
    this.recentClientOrderIds.push([account, next]);
    return next;
  }

  private newOrder(rng: Rng): void {
    const plan = rng.pick(this.plans);
    const instrument = this.instrument(plan.id);
    const center = this.center(instrument, plan);
    const tick = plan.tickSize;
    const account = this.account(rng);
    const side = rng.pick([Side.Buy, Side.Sell]);
    const orderType = rng.pick([
      OrderType.Limit, OrderType.Limit, OrderType.Limit, OrderType.Limit, OrderType.Limit, OrderType.Limit,
      OrderType.Limit, OrderType.Market, OrderType.Stop, OrderType.StopLimit, OrderType.StopLimit,
    ]);
    const timeInForce = rng.pick([
      TimeInForce.GTC, TimeInForce.GTC, TimeInForce.GTC, TimeInForce.GTC, TimeInForce.DAY, TimeInForce.DAY,
      TimeInForce.GTD, TimeInForce.IOC, TimeInForce.IOC, TimeInForce.FOK,
    ]);
    let stopPrice = 0;
    if (orderType === OrderType.Stop || orderType === OrderType.StopLimit) {
      // Mostly on the far side of the last price (a real stop), sometimes touched already.
      const away = rng.int(-1, 6) * tick;
      stopPrice = side === Side.Buy ? center + away : Math.max(tick, center - away);
    }
    let price = orderType === OrderType.Market ? 0 : this.limitPrice(rng, plan, side, center);
    if (orderType === OrderType.StopLimit && rng.chance(0.6)) {
      // A stop-limit's limit sits near its stop, sometimes far outside the band.
      const slack = rng.int(-2, 8) * tick;
      price = Math.max(tick, side === Side.Buy ? stopPrice + slack : stopPrice - slack);
      if (rng.chance(0.15)) price = side === Side.Buy ? stopPrice * 2 : tick;
    }
    const restable = timeInForce === TimeInForce.GTC || timeInForce === TimeInForce.DAY || timeInForce === TimeInForce.GTD;
    const fields: Record<string, number> = {
      account, instrument: plan.id, clientOrderId: this.clientOrderId(rng, account), side, orderType, timeInForce,
      price, quantity: this.quantity(rng, plan), stopPrice,
      selfTradePrevention: rng.pick([0, 0, 0, 1, 2, 3, 4]),
      flags: orderType === OrderType.Limit && restable && rng.chance(0.15) ? 1 : 0,
      expireTime: timeInForce === TimeInForce.GTD ? this.expireTime(rng) : 0,
    };
    if (rng.chance(0.15)) this.spoil(rng, plan, fields);
    this.push('NewOrder', fields, rng);
  }

  /** A future expiry; often a round time, so several orders expire at once (ties go by order id). */
  private expireTime(rng: Rng): number {
    if (rng.chance(0.5)) return (Math.floor(this.time / 5000) + rng.int(1, 3)) * 5000;
    return this.time + rng.int(1, 20_000);
  }

  /** Makes one field of a new order wrong (or merely unusual). */
  private spoil(rng: Rng, plan: InstrumentPlan, fields: Record<string, number>): void {
    const tick = plan.tickSize;
    const lot = plan.lotSize;
    switch (rng.int(0, 17)) {
      case 0: fields.account = rng.pick([0, FLOW_LIMITS.maxAccounts, FLOW_LIMITS.maxAccounts + 1, 2.5, -1]); break;
      case 1: fields.clientOrderId = rng.pick([0, 2 ** 32 - 1, 2 ** 32, 1.5, -4]); break;
      case 2: fields.side = rng.pick([0, 3]); break;
      case 3: fields.orderType = rng.pick([0, 5]); break;
      case 4: fields.timeInForce = rng.pick([0, 6]); break;
      case 5: fields.selfTradePrevention = rng.pick([5, -1]); break;
      case 6: fields.flags = rng.pick([1, 2, 3]); break;
      case 7: fields.quantity = rng.pick([0, -lot, 2 ** 36, 2 ** 36 + 1, lot + 0.25, Number.NaN]); break;
      case 8: fields.quantity = lot * rng.int(1, 10) + (lot > 1 ? rng.int(1, lot - 1) : 1); break;
      case 9: fields.quantity = plan.maxOrderQuantity + rng.pick([0, lot]); break;
      case 10: fields.price = rng.pick([0, -tick, 2 ** 36, 2 ** 36 + tick, tick + 0.5, Number.NaN]); break;
      case 11: fields.price = (fields.price > 0 ? fields.price : plan.referencePrice) + (tick > 1 ? rng.int(1, tick - 1) : 0.5); break;
      case 12: fields.stopPrice = rng.pick([0, -tick, 2 ** 36 + tick, 2.5, fields.price + (tick > 1 ? 1 : 0)]); break;
      case 13: fields.instrument = rng.pick([0, 9, FLOW_LIMITS.maxInstruments + 1, 1.5]); break;
      case 14: fields.expireTime = rng.pick([0, this.time, this.time - rng.int(1, 1000), 1.5, this.time + 0.5, this.time + 1]); break;
      case 15: fields.timeInForce = TimeInForce.GTD; fields.expireTime = this.time + rng.int(1, 3000); break;
      case 16: fields.price = this.onTick(plan, rng.chance(0.5) ? fields.price * 3 : fields.price / 3); break;
      default: fields.price = rng.pick([2 ** 36 - (2 ** 36 % tick), tick]);
    }
  }

  /** (account, orderId) for a cancel or replace: mostly a live order of its owner. */
  private orderReference(rng: Rng): { account: number; orderId: number } {
    const live = this.shadow.liveOrders();
    const issued = this.shadow.issuedOrderIds();
    const roll = rng.next();
    if (roll < 0.75 && live.length > 0) {
      const order = rng.chance(0.5) ? live[live.length - 1 - rng.int(0, Math.min(4, live.length - 1))] : rng.pick(live);
      return { account: rng.chance(0.9) ? order.account : rng.pick(ACCOUNTS), orderId: order.id };
    }
    if (roll < 0.9 && issued > 0) return { account: rng.pick(ACCOUNTS), orderId: rng.int(1, issued) };
    return { account: rng.pick(ACCOUNTS), orderId: rng.pick([issued + 1, issued + 7, 0, -3, 2.5]) };
  }

  private replace(rng: Rng): void {
    const target = this.orderReference(rng);
    const order = this.shadow.orders.get(target.orderId);
    const plan = this.plans.find((p) => p.id === order?.instrument) ?? rng.pick(this.plans);
    const instrument = this.instrument(plan.id);
    const center = order !== undefined && order.price > 0 && rng.chance(0.6) ? order.price : this.center(instrument, plan);
    let price = 0;
    if (rng.chance(0.6)) price = rng.chance(0.3) ? this.price(rng, plan, center) : Math.max(plan.tickSize, center + rng.int(-3, 3) * plan.tickSize);
    if (order !== undefined && order.status === 'book' && rng.chance(0.15)) {
      // Move it to (or through) the opposite best: the replace trades at once.
      const instrumentNow = this.instrument(order.instrument);
      const opposite = instrumentNow === undefined ? [] : order.side === Side.Buy ? instrumentNow.asks : instrumentNow.bids;
      if (opposite.length > 0) price = opposite[0].price + (order.side === Side.Buy ? 1 : -1) * rng.int(0, 2) * plan.tickSize;
    }
    if (rng.chance(0.05)) price = rng.pick([-plan.tickSize, 2 ** 36 + plan.tickSize, 1.5, Number.NaN, center + (plan.tickSize > 1 ? 1 : 0)]);
    let quantity = 0;
    if (rng.chance(0.65)) {
      const roll = rng.next();
      if (order !== undefined && roll < 0.3) {
        const filled = order.quantity - order.leaves;
        quantity = Math.max(0, filled + rng.int(-2, 2) * plan.lotSize);
      } else if (order !== undefined && roll < 0.6) {
        quantity = Math.max(plan.lotSize, order.quantity + rng.int(-3, 3) * plan.lotSize);
      } else {
        quantity = this.quantity(rng, plan);
      }
    }
    if (rng.chance(0.04)) quantity = rng.pick([-plan.lotSize, 2 ** 36 + 1, 2.5, Number.NaN, plan.maxOrderQuantity + plan.lotSize, plan.lotSize + (plan.lotSize > 1 ? 1 : 0)]);
    this.push('ReplaceOrder', { ...target, price, quantity }, rng);
  }

  private nastyAddInstrument(rng: Rng): void {
    const id = rng.pick([this.plans.length + 1, 1, 0, FLOW_LIMITS.maxInstruments + 1, 12]);
    const plan: InstrumentPlan = {
      id, symbol: rng.pick(['NEW' + id, 'AAPL1', 'bad', 'SP ACE', '-X', 'ABCDEFGHIJKLMN', 'NEW' + id]),
      tickSize: rng.pick([1, 2, 0, -1]), lotSize: rng.pick([1, 10, 0]), bandBasisPoints: rng.pick([0, 200, 9999, 10000]),
      maxOrderQuantity: rng.pick([1000, 0]), maxOrderNotional: rng.pick([1e9, 1e13, 0]),
      referencePrice: rng.pick([100, 101, 0]), initialState: rng.pick([0, 1, 2, 3, 4, 5]),
    };
    this.time += rng.int(0, 100);
    if (plan.symbol.length > 14 || /[^\x01-\x7f]/.test(plan.symbol)) plan.symbol = 'Y';
    this.emitAddInstrument(plan, rng.int(0, 7));
    const added = this.shadow.instruments.get(id);
    if (added !== undefined && !this.plans.some((p) => p.id === id)) this.plans.push(plan);
  }
}

/** The stream for a setup seed and one seed per step. */
export function streamFromSteps(setupSeed: number, stepSeeds: readonly number[]): CommandObject[] {
  const builder = new FlowBuilder(setupSeed);
  for (const seed of stepSeeds) builder.step(seed);
  return builder.commands;
}

/** A stream of about `length` commands, fully determined by `seed`. */
export function generateStream(seed: number, length: number): CommandObject[] {
  const rng = new Rng(seed);
  const steps: number[] = [];
  for (let i = 0; i < length; i++) steps.push(Math.floor(rng.next() * 4294967296));
  return streamFromSteps(seed, steps);
}
