/**
 * Market-data messages <-> wire messages (gateway/protocol/market-data-schema.ts).
 *
 * Sender: `MarketDataWireEncoder.encode(message)` turns one typed message into its run
 * of fixed-layout wire messages (a snapshot or an L2 update becomes several),
 * concatenated; the endpoint encodes each published message once and copies the
 * bytes into every subscriber's frames. `wireSize(message)` is the exact size without
 * encoding (the publisher's messageBytes, so subscriber limits count wire bytes).
 *
 * Receiver: `MarketDataAssembler.accept(template, record)` takes decoded wire messages
 * in order and returns the typed message once its run is complete (null inside a
 * run), or a control message (Subscribed, Unsubscribed, SubscriptionReject,
 * Heartbeat). A run broken by an unexpected message is dropped and reported in
 * `broken` (the client resyncs that instrument).
 */
import { packSymbol, unpackSymbol } from '../../../core/schema';
import { FrameEncoder } from '../../protocol/encoder';
import { MESSAGES_PER_FRAME_CEILING } from '../../protocol/frame-limits';
import {
  ChannelCode, L2Action, MarketDataServerTemplates, channelOfCode,
} from '../../protocol/market-data-schema';
import { RECORD_WORDS, WireTemplate } from '../../protocol/wire-schema';
import { intervalName } from '../candles';
import type {
  Channel, L2Change, L2Level, L2Snapshot, L2Update, MarketDataMessage, OrderBookSnapshot, OrderEntry,
} from '../messages';

const T = MarketDataServerTemplates.byName;
const CHUNK_BYTES = 65_536;

/** Exact wire bytes of a message. */
export function wireSize(message: MarketDataMessage): number {
  switch (message.type) {
    case 'add': return T.OrderAdd.blockLength;
    case 'execute': return T.OrderExecute.blockLength;
    case 'cancel': return T.OrderCancel.blockLength;
    case 'replace': return T.OrderReplace.blockLength;
    case 'delete': return T.OrderDelete.blockLength;
    case 'snapshot':
      return message.channel === 'l2'
        ? T.L2SnapshotBegin.blockLength + (message.bids.length + message.asks.length) * T.L2Level.blockLength + T.L2SnapshotEnd.blockLength
        : T.OrderSnapshotBegin.blockLength + (message.bids.length + message.asks.length) * T.OrderSnapshotEntry.blockLength + T.OrderSnapshotEnd.blockLength;
    case 'update': return Math.max(1, message.changes.length) * T.L2Change.blockLength;
    case 'trade': return T.TradePrint.blockLength;
    case 'bbo': return T.Bbo.blockLength;
    case 'candle': return T.Candle.blockLength;
    case 'status': return T.InstrumentStatus.blockLength;
  }
}

export class MarketDataWireEncoder {
  private readonly buffer = new Uint8Array(CHUNK_BYTES);
  private readonly encoder = new FrameEncoder(this.buffer, { maxFrameBytes: CHUNK_BYTES, maxMessagesPerFrame: MESSAGES_PER_FRAME_CEILING });
  private readonly record = new Float64Array(RECORD_WORDS);
  private parts: Uint8Array[] = [];
  /** Wire messages in the last encode(). */
  messages = 0;

  /** Every wire message of `message`, concatenated (a fresh array the caller owns). */
  encode(message: MarketDataMessage): Uint8Array {
    this.begin();
    const r = this.record;
    switch (message.type) {
      case 'add': {
        const a = this.head(T.OrderAdd, message);
        r[a.orderId] = message.orderId; r[a.side] = message.side; r[a.price] = message.price; r[a.quantity] = message.quantity;
        this.put(T.OrderAdd);
        break;
      }
      case 'execute': {
        const a = this.head(T.OrderExecute, message);
        r[a.orderId] = message.orderId; r[a.side] = message.side; r[a.price] = message.price; r[a.quantity] = message.quantity;
        r[a.leaves] = message.leaves; r[a.tradeId] = message.tradeId;
        this.put(T.OrderExecute);
        break;
      }
      case 'cancel': {
        const a = this.head(T.OrderCancel, message);
        r[a.orderId] = message.orderId; r[a.side] = message.side; r[a.price] = message.price;
        r[a.canceledQuantity] = message.canceledQuantity; r[a.reason] = message.reason;
        this.put(T.OrderCancel);
        break;
      }
      case 'replace': {
        const a = this.head(T.OrderReplace, message);
        r[a.orderId] = message.orderId; r[a.side] = message.side; r[a.oldPrice] = message.oldPrice; r[a.oldQuantity] = message.oldQuantity;
        r[a.price] = message.price; r[a.quantity] = message.quantity; r[a.priorityKept] = message.priorityKept ? 1 : 0;
        this.put(T.OrderReplace);
        break;
      }
      case 'delete': {
        const a = this.head(T.OrderDelete, message);
        r[a.orderId] = message.orderId; r[a.side] = message.side; r[a.price] = message.price;
        this.put(T.OrderDelete);
        break;
      }
      case 'snapshot':
        if (message.channel === 'l2') this.l2Snapshot(message);
        else this.orderSnapshot(message);
        break;
      case 'update': this.l2Update(message); break;
      case 'trade': {
        const a = this.head(T.TradePrint, message);
        r[a.tradeId] = message.tradeId; r[a.price] = message.price; r[a.quantity] = message.quantity; r[a.aggressorSide] = message.aggressorSide;
        r[a.makerOrderId] = message.makerOrderId; r[a.takerOrderId] = message.takerOrderId;
        this.put(T.TradePrint);
        break;
      }
      case 'bbo': {
        const a = this.head(T.Bbo, message);
        r[a.bidPrice] = message.bidPrice; r[a.bidQuantity] = message.bidQuantity; r[a.askPrice] = message.askPrice; r[a.askQuantity] = message.askQuantity;
        this.put(T.Bbo);
        break;
      }
      case 'candle': {
        const a = this.head(T.Candle, message);
        r[a.intervalMicros] = message.intervalMicros; r[a.start] = message.start; r[a.open] = message.open; r[a.high] = message.high;
        r[a.low] = message.low; r[a.close] = message.close; r[a.volume] = message.volume; r[a.notional] = message.notional; r[a.trades] = message.trades;
        this.put(T.Candle);
        break;
      }
      case 'status': {
        const a = this.head(T.InstrumentStatus, message);
        const [head, tail] = message.symbol.length === 0 ? [0, 0] : packSymbol(message.symbol);
        r[a.symbolHead] = head; r[a.symbolTail] = tail; r[a.state] = message.state; r[a.previousState] = message.previousState; r[a.reason] = message.reason;
        this.put(T.InstrumentStatus);
        break;
      }
    }
    return this.end();
  }

  /** One control message (Subscribed, Unsubscribed, SubscriptionReject, Heartbeat) from field values. */
  encodeControl(template: WireTemplate, values: Readonly<Record<string, number>>): Uint8Array {
    this.begin();
    for (const [name, value] of Object.entries(values)) {
      const word = template.at[name];
      if (word === undefined) throw new Error(`${template.name} has no field ${name}`);
      this.record[word] = value;
    }
    this.put(template);
    return this.end();
  }

  private l2Snapshot(s: L2Snapshot): void {
    const r = this.record;
    const b = this.head(T.L2SnapshotBegin, s);
    r[b.depth] = s.depth; r[b.bidCount] = s.bids.length; r[b.askCount] = s.asks.length;
    this.put(T.L2SnapshotBegin);
    const levels = (side: number, list: readonly L2Level[]) => {
      for (const level of list) {
        const a = this.head(T.L2Level, s);
        r[a.side] = side; r[a.price] = level.price; r[a.quantity] = level.quantity; r[a.count] = level.count;
        this.put(T.L2Level);
      }
    };
    levels(1, s.bids);
    levels(2, s.asks);
    const e = this.head(T.L2SnapshotEnd, s);
    r[e.checksum] = s.checksum;
    this.put(T.L2SnapshotEnd);
  }

  private orderSnapshot(s: OrderBookSnapshot): void {
    const r = this.record;
    const b = this.head(T.OrderSnapshotBegin, s);
    r[b.bidCount] = s.bids.length; r[b.askCount] = s.asks.length;
    this.put(T.OrderSnapshotBegin);
    const entries = (side: number, list: readonly OrderEntry[]) => {
      for (const order of list) {
        const a = this.head(T.OrderSnapshotEntry, s);
        r[a.side] = side; r[a.orderId] = order.orderId; r[a.price] = order.price; r[a.quantity] = order.quantity;
        this.put(T.OrderSnapshotEntry);
      }
    };
    entries(1, s.bids);
    entries(2, s.asks);
    this.head(T.OrderSnapshotEnd, s);
    this.put(T.OrderSnapshotEnd);
  }

  private l2Update(u: L2Update): void {
    const r = this.record;
    const count = u.changes.length;
    for (let i = 0; i < Math.max(1, count); i++) {
      const a = this.head(T.L2Change, u);
      r[a.changeIndex] = i; r[a.changeCount] = count; r[a.checksum] = u.checksum;
      if (count > 0) {
        const c = u.changes[i];
        r[a.action] = c.action === 'set' ? L2Action.Set : L2Action.Delete; r[a.side] = c.side; r[a.price] = c.price;
        r[a.quantity] = c.quantity; r[a.count] = c.count;
      }
      this.put(T.L2Change);
    }
  }

  /** Clears the record and writes the common head; returns the template's words. */
  private head(template: WireTemplate, m: { instrument: number; sequence: number; timestamp: number }): Readonly<Record<string, number>> {
    const r = this.record;
    r.fill(0);
    const a = template.at;
    r[a.instrument] = m.instrument;
    r[a.sequence] = m.sequence;
    r[a.timestamp] = m.timestamp;
    return a;
  }

  private begin(): void {
    this.encoder.reset();
    this.parts = [];
    this.messages = 0;
    this.record.fill(0);
  }

  private put(template: WireTemplate): void {
    if (!this.encoder.append(template, this.record, 0, 0)) {
      this.parts.push(this.encoder.view().slice());
      this.encoder.reset();
      this.encoder.append(template, this.record, 0, 0);
    }
    this.messages++;
  }

  private end(): Uint8Array {
    const last = this.encoder.view().slice();
    if (this.parts.length === 0) return last;
    this.parts.push(last);
    return Buffer.concat(this.parts);
  }
}

// ------------------------------------------------------------------ receiving

export type MarketDataControlMessage =
  | { readonly type: 'subscribed'; readonly instrument: number; readonly channel: Channel; readonly snapshot: boolean; readonly sequence: number; readonly timestamp: number }
  | { readonly type: 'unsubscribed'; readonly instrument: number; readonly channel: Channel; readonly sequence: number; readonly timestamp: number }
  | {
    readonly type: 'reject'; readonly instrument: number; readonly channel: Channel | null; readonly reason: number;
    readonly refTemplateId: number; readonly timestamp: number;
  }
  | { readonly type: 'heartbeat'; readonly testRequestId: number };

export type DecodedMarketData = MarketDataMessage | MarketDataControlMessage;

export function isControlMessage(message: DecodedMarketData): message is MarketDataControlMessage {
  return message.type === 'subscribed' || message.type === 'unsubscribed' || message.type === 'reject' || message.type === 'heartbeat';
}

type Run =
  | { kind: 'l2'; instrument: number; sequence: number; timestamp: number; depth: number; bidCount: number; askCount: number; bids: L2Level[]; asks: L2Level[] }
  | { kind: 'orders'; instrument: number; sequence: number; timestamp: number; bidCount: number; askCount: number; bids: OrderEntry[]; asks: OrderEntry[] }
  | { kind: 'update'; instrument: number; sequence: number; timestamp: number; changeCount: number; changes: L2Change[] };

export class MarketDataAssembler {
  private run: Run | null = null;
  /** Instruments whose run (snapshot or update) was broken since the last takeBroken(). */
  private broken: number[] = [];

  takeBroken(): number[] {
    const b = this.broken;
    this.broken = [];
    return b;
  }

  /** A decoded server message (template + record): the complete typed message, or null inside a run. */
  accept(template: WireTemplate, r: Float64Array): DecodedMarketData | null {
    const a = template.at;
    const instrument = r[a.instrument];
    const sequence = r[a.sequence];
    const timestamp = r[a.timestamp];
    const run = this.run;
    const name = template.name;
    const inRun = name === 'L2Level' || name === 'L2SnapshotEnd' || name === 'OrderSnapshotEntry' || name === 'OrderSnapshotEnd'
      || (name === 'L2Change' && r[a.changeIndex] > 0);
    if (run !== null && !inRun) this.breakRun(); // a new message while a run was open
    if (inRun && (this.run === null || this.run.instrument !== instrument || this.run.sequence !== sequence)) {
      if (this.run !== null) this.breakRun();
      else this.broken.push(instrument);
      return null;
    }
    switch (name) {
      case 'Subscribed':
        return { type: 'subscribed', instrument, channel: channelOfCode(r[a.channel])!, snapshot: r[a.snapshot] === 1, sequence, timestamp };
      case 'Unsubscribed':
        return { type: 'unsubscribed', instrument, channel: channelOfCode(r[a.channel])!, sequence, timestamp };
      case 'SubscriptionReject':
        return { type: 'reject', instrument, channel: channelOfCode(r[a.channel]) ?? null, reason: r[a.reason], refTemplateId: r[a.refTemplateId], timestamp };
      case 'Heartbeat':
        return { type: 'heartbeat', testRequestId: r[a.testRequestId] };
      case 'OrderAdd':
        return { channel: 'orders', type: 'add', instrument, sequence, timestamp, orderId: r[a.orderId], side: r[a.side], price: r[a.price], quantity: r[a.quantity] };
      case 'OrderExecute':
        return {
          channel: 'orders', type: 'execute', instrument, sequence, timestamp, orderId: r[a.orderId], side: r[a.side], price: r[a.price],
          quantity: r[a.quantity], leaves: r[a.leaves], tradeId: r[a.tradeId],
        };
      case 'OrderCancel':
        return {
          channel: 'orders', type: 'cancel', instrument, sequence, timestamp, orderId: r[a.orderId], side: r[a.side], price: r[a.price],
          canceledQuantity: r[a.canceledQuantity], reason: r[a.reason],
        };
      case 'OrderReplace':
        return {
          channel: 'orders', type: 'replace', instrument, sequence, timestamp, orderId: r[a.orderId], side: r[a.side], oldPrice: r[a.oldPrice],
          oldQuantity: r[a.oldQuantity], price: r[a.price], quantity: r[a.quantity], priorityKept: r[a.priorityKept] === 1,
        };
      case 'OrderDelete':
        return { channel: 'orders', type: 'delete', instrument, sequence, timestamp, orderId: r[a.orderId], side: r[a.side], price: r[a.price] };
      case 'OrderSnapshotBegin':
        this.run = { kind: 'orders', instrument, sequence, timestamp, bidCount: r[a.bidCount], askCount: r[a.askCount], bids: [], asks: [] };
        return null;
      case 'OrderSnapshotEntry': {
        const run = this.run as Run;
        if (run.kind !== 'orders') return this.breakRun();
        (r[a.side] === 1 ? run.bids : run.asks).push({ orderId: r[a.orderId], price: r[a.price], quantity: r[a.quantity] });
        return null;
      }
      case 'OrderSnapshotEnd': {
        const run = this.run as Run;
        if (run.kind !== 'orders' || run.bids.length !== run.bidCount || run.asks.length !== run.askCount) return this.breakRun();
        this.run = null;
        return { channel: 'orders', type: 'snapshot', instrument, sequence, timestamp: run.timestamp, bids: run.bids, asks: run.asks };
      }
      case 'L2SnapshotBegin':
        this.run = { kind: 'l2', instrument, sequence, timestamp, depth: r[a.depth], bidCount: r[a.bidCount], askCount: r[a.askCount], bids: [], asks: [] };
        return null;
      case 'L2Level': {
        const run = this.run as Run;
        if (run.kind !== 'l2') return this.breakRun();
        (r[a.side] === 1 ? run.bids : run.asks).push({ price: r[a.price], quantity: r[a.quantity], count: r[a.count] });
        return null;
      }
      case 'L2SnapshotEnd': {
        const run = this.run as Run;
        if (run.kind !== 'l2' || run.bids.length !== run.bidCount || run.asks.length !== run.askCount) return this.breakRun();
        this.run = null;
        return {
          channel: 'l2', type: 'snapshot', instrument, sequence, timestamp: run.timestamp, depth: run.depth, bids: run.bids, asks: run.asks,
          checksum: r[a.checksum],
        };
      }
      case 'L2Change': {
        const index = r[a.changeIndex];
        const count = r[a.changeCount];
        if (index === 0) this.run = { kind: 'update', instrument, sequence, timestamp, changeCount: count, changes: [] };
        const run = this.run as Run;
        if (run.kind !== 'update' || run.changeCount !== count || run.changes.length !== index) return this.breakRun();
        if (count > 0) {
          const action = r[a.action];
          if (action !== L2Action.Set && action !== L2Action.Delete) return this.breakRun();
          run.changes.push({ action: action === L2Action.Set ? 'set' : 'delete', side: r[a.side], price: r[a.price], quantity: r[a.quantity], count: r[a.count] });
        }
        if (count > 0 && index < count - 1) return null;
        this.run = null;
        return { channel: 'l2', type: 'update', instrument, sequence, timestamp, changes: run.changes, checksum: r[a.checksum] };
      }
      case 'TradePrint':
        return {
          channel: 'trades', type: 'trade', instrument, sequence, timestamp, tradeId: r[a.tradeId], price: r[a.price], quantity: r[a.quantity],
          aggressorSide: r[a.aggressorSide], makerOrderId: r[a.makerOrderId], takerOrderId: r[a.takerOrderId],
        };
      case 'Bbo':
        return {
          channel: 'bbo', type: 'bbo', instrument, sequence, timestamp, bidPrice: r[a.bidPrice], bidQuantity: r[a.bidQuantity],
          askPrice: r[a.askPrice], askQuantity: r[a.askQuantity],
        };
      case 'Candle': {
        const intervalMicros = r[a.intervalMicros];
        const start = r[a.start];
        return {
          channel: 'candles', type: 'candle', instrument, sequence, timestamp, interval: intervalName(intervalMicros), intervalMicros, start,
          end: start + intervalMicros, open: r[a.open], high: r[a.high], low: r[a.low], close: r[a.close], volume: r[a.volume],
          notional: r[a.notional], trades: r[a.trades],
        };
      }
      case 'InstrumentStatus':
        return {
          channel: 'status', type: 'status', instrument, sequence, timestamp, symbol: unpackSymbol(r[a.symbolHead], r[a.symbolTail]),
          state: r[a.state], previousState: r[a.previousState], reason: r[a.reason],
        };
      default:
        return null;
    }
  }

  private breakRun(): null {
    if (this.run !== null) this.broken.push(this.run.instrument);
    this.run = null;
    return null;
  }
}

/** Wire channel code of a channel name (re-export for SDK users). */
export { ChannelCode };
