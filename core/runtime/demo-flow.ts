/**
 * A demo market: a market maker quoting a ladder around a drifting mid on every
 * instrument (mass-cancel then re-quote each cycle) and a taker crossing the spread
 * with IOC orders. It submits through the supervisor's inbound producer, so its
 * orders are journaled and matched like anyone's. Randomness lives here, outside
 * the matcher; the commands it produces are what the journal records.
 */
import { OrderType, SelfTradePrevention, Side, TimeInForce } from '../codes';
import { encodeCommand } from '../record-objects';
import type { ExchangeConfig } from './config';

export interface DemoFlowOptions {
  makerAccount: number;
  takerAccount: number;
  /** Quote refresh cycles per second. */
  cyclesPerSecond: number;
  /** Price levels quoted per side. */
  levels: number;
}

export class DemoFlow {
  private timer?: NodeJS.Timeout;
  private clientOrderId = 1;
  private readonly mids: Map<number, number>;
  private readonly words = new Float64Array(16);

  constructor(
    private readonly config: ExchangeConfig,
    private readonly submit: (words: Float64Array) => boolean,
    private readonly options: DemoFlowOptions = { makerAccount: 2, takerAccount: 3, cyclesPerSecond: 4, levels: 5 },
  ) {
    this.mids = new Map(config.instruments.map((i) => [i.id, i.referencePrice]));
    // Client order ids must be unique per day: start from the clock so restarts do not collide.
    this.clientOrderId = (Math.floor(Date.now() / 1000) % 1_000_000) * 1000 + 1;  // clock-ok: supervisor side, never inside the matcher
  }

  start(): void {
    this.timer = setInterval(() => this.cycle(), 1000 / this.options.cyclesPerSecond);  // clock-ok: supervisor side, never inside the matcher
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  private send(name: Parameters<typeof encodeCommand>[0], fields: Record<string, number>): void {
    encodeCommand(name, fields as never, Date.now() * 1000, 0, this.words);  // clock-ok: supervisor side, never inside the matcher
    this.submit(this.words);
  }

  private nextId(): number {
    this.clientOrderId = (this.clientOrderId % 4_000_000_000) + 1;
    return this.clientOrderId;
  }

  private cycle(): void {
    const { makerAccount, takerAccount, levels } = this.options;
    for (const instrument of this.config.instruments) {
      const id = instrument.id;
      const tick = instrument.tickSize;
      const band = instrument.referencePrice * (instrument.bandBasisPoints / 10_000) * 0.3;
      let mid = this.mids.get(id)! + Math.round((Math.random() - 0.5) * 6) * tick;  // clock-ok: supervisor side, never inside the matcher
      mid = Math.min(instrument.referencePrice + band, Math.max(instrument.referencePrice - band, mid));
      mid = Math.round(mid / tick) * tick;
      this.mids.set(id, mid);
      this.send('MassCancel', { account: makerAccount, instrument: id, side: 0 });
      for (let level = 1; level <= levels; level++) {
        const quantity = instrument.lotSize * (10 + Math.floor(Math.random() * 90));  // clock-ok: supervisor side, never inside the matcher
        const common = { account: makerAccount, instrument: id, orderType: OrderType.Limit, timeInForce: TimeInForce.DAY, selfTradePrevention: SelfTradePrevention.CancelMaker };
        this.send('NewOrder', { ...common, clientOrderId: this.nextId(), side: Side.Buy, price: mid - level * tick, quantity });
        this.send('NewOrder', { ...common, clientOrderId: this.nextId(), side: Side.Sell, price: mid + level * tick, quantity });
      }
      if (Math.random() < 0.6) {  // clock-ok: supervisor side, never inside the matcher
        const side = Math.random() < 0.5 ? Side.Buy : Side.Sell;  // clock-ok: supervisor side, never inside the matcher
        const price = side === Side.Buy ? mid + 2 * tick : mid - 2 * tick;
        this.send('NewOrder', {
          account: takerAccount, instrument: id, clientOrderId: this.nextId(), side, orderType: OrderType.Limit,
          timeInForce: TimeInForce.IOC, price, quantity: instrument.lotSize * (1 + Math.floor(Math.random() * 20)),  // clock-ok: supervisor side, never inside the matcher
        });
      }
    }
  }
}
