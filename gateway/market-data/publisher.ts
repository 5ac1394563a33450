/**
 * The market-data publisher: matcher output records in, per-channel messages out
 * to subscribers (docs/market-data.md).
 *
 * Input: the outbound stream as the matcher writes it — event records, and the
 * command echoes and BATCH_END records of the running exchange, which are used as
 * command boundaries (without echoes, call endCommand() after each command). It is
 * also an EventSink, so it can be a matcher's sink directly.
 *
 * Per command: book events go to the OrderBookView (whose listener is the
 * order-level feed), Trade events to the trades channel and the candles,
 * InstrumentAdded / InstrumentStateChanged to the status channel, ClockAdvanced
 * closes due candles. At the boundary the last aggressor rests, the L2 and BBO
 * channels diff the instruments the command touched, and all the command's
 * messages are delivered, in production order, to the subscribers of their
 * (instrument, channel) and to onMessage. Subscribers therefore only ever see
 * whole commands.
 */
import type { EventSink } from '../../core/event-buffer';
import { EVENT_WORDS, EventHeader, Events } from '../../core/schema';
import { BboFeed } from './bbo-feed';
import { CandleBuilder } from './candles';
import { L2Feed } from './l2-feed';
import {
  BboMessage, CHANNELS, Channel, L2Snapshot, MarketDataMessage, MessageSink, OrderBookSnapshot, StatusMessage, channelIndex,
} from './messages';
import { OrderBookView } from './order-book-view';
import { OrderFeed } from './order-feed';
import { isCommandBoundary } from './records';
import { StatusFeed } from './status-feed';
import { Subscriber, SubscriberLimits, SubscriptionHost } from './subscriber';
import { TradeFeed } from './trade-feed';

export interface PublisherOptions extends SubscriberLimits {
  /** Levels per side of the l2 channel (>= 10; default 50). */
  l2Depth?: number;
  /** Candle lengths in µs (default 1s, 1m, 1h). */
  candleIntervals?: readonly number[];
  /** Close due candles at each ClockAdvanced event's timestamp (default true). */
  flushCandlesOnClock?: boolean;
  /** Size of a message against maxPendingBytes (default estimateMessageBytes; pass the encoded size when known). */
  messageBytes?: (message: MarketDataMessage) => number;
  /** Called once when a subscriber is disconnected as a slow consumer. */
  onSlowConsumer?: (subscriber: Subscriber) => void;
  /** Every message, in delivery order (e.g. to encode once per channel and broadcast). */
  onMessage?: MessageSink;
}

/** A rough wire size: 48 bytes per message plus 24 per level, change or order it lists. */
export function estimateMessageBytes(message: MarketDataMessage): number {
  switch (message.type) {
    case 'update': return 48 + 24 * message.changes.length;
    case 'snapshot': return 48 + 24 * (message.bids.length + message.asks.length);
    default: return 48;
  }
}

const CHANNEL_COUNT = CHANNELS.length;

export class MarketDataPublisher implements EventSink, SubscriptionHost {
  readonly view: OrderBookView;
  readonly orders: OrderFeed;
  readonly l2: L2Feed;
  readonly trades: TradeFeed;
  readonly bbo: BboFeed;
  readonly candles: CandleBuilder;
  readonly status: StatusFeed;
  /** Global sequence of the last event applied (0: none). */
  lastEventSequence = 0;
  /** Commands completed (boundaries that closed a command with events). */
  commands = 0;

  private readonly options: PublisherOptions;
  private readonly messageBytes: (message: MarketDataMessage) => number;
  private readonly flushOnClock: boolean;
  /** Messages of the command in progress (or produced between commands), not yet delivered. */
  private pending: MarketDataMessage[] = [];
  private inCommandFlag = false;
  private readonly routes = new Map<number, Subscriber[]>();
  private readonly subscribers = new Set<Subscriber>();
  /** Subscriptions asked for in the middle of a command: applied after its delivery. */
  private deferred: Array<{ subscriber: Subscriber; instrument: number; channel: Channel; snapshot: boolean }> = [];
  private slow: Subscriber[] = [];
  private nextSubscriberId = 1;

  constructor(options: PublisherOptions = {}) {
    this.options = options;
    this.messageBytes = options.messageBytes ?? estimateMessageBytes;
    this.flushOnClock = options.flushCandlesOnClock ?? true;
    const collect: MessageSink = (message) => this.pending.push(message);
    this.view = new OrderBookView();
    const watching = (channel: Channel) => {
      const index = channelIndex(channel);
      return (instrument: number) => this.options.onMessage !== undefined || this.routes.has(instrument * CHANNEL_COUNT + index);
    };
    this.orders = new OrderFeed(this.view, collect, watching('orders'));
    this.view.listener = this.orders;
    this.l2 = new L2Feed(this.view, collect, { depth: options.l2Depth }, watching('l2'));
    this.trades = new TradeFeed(collect, watching('trades'));
    this.bbo = new BboFeed(this.view, collect, watching('bbo'));
    this.candles = new CandleBuilder(collect, options.candleIntervals);
    this.status = new StatusFeed(collect);
  }

  // ------------------------------------------------------------------ input

  /** EventSink: `count` consecutive records from word 0. */
  onEvents(words: Float64Array, count: number): void {
    for (let i = 0; i < count; i++) this.onRecord(words, i * EVENT_WORDS);
  }

  /** `count` consecutive records starting at word `offset`. */
  onRecords(words: Float64Array, offset: number, count: number): void {
    for (let i = 0; i < count; i++) this.onRecord(words, offset + i * EVENT_WORDS);
  }

  /** One record: an event, a command echo or BATCH_END (boundaries), or an empty record (ignored). */
  onRecord(words: Float64Array, offset: number): void {
    const code = words[offset + EventHeader.type];
    if (code === 0) return;
    if (isCommandBoundary(words, offset)) {
      this.endCommand();
      return;
    }
    this.inCommandFlag = true;
    this.lastEventSequence = words[offset + EventHeader.sequence];
    this.view.apply(words, offset);
    switch (code) {
      case Events.Trade.code: {
        this.trades.onTrade(words, offset);
        const A = Events.Trade.at;
        this.candles.onTrade(words[offset + A.instrument], words[offset + A.price], words[offset + A.quantity], words[offset + EventHeader.timestamp]);
        break;
      }
      case Events.InstrumentAdded.code: this.status.onInstrumentAdded(words, offset); break;
      case Events.InstrumentStateChanged.code: this.status.onStateChanged(words, offset); break;
      case Events.ClockAdvanced.code: if (this.flushOnClock) this.candles.flush(words[offset + EventHeader.timestamp]); break;
      default: break;
    }
  }

  /** The current command is complete: publish its L2/BBO changes and deliver its messages. Idempotent. */
  endCommand(): void {
    if (this.inCommandFlag) {
      this.view.endCommand();
      const timestamp = this.view.timestamp;
      this.l2.endCommand(timestamp);
      this.bbo.endCommand(timestamp);
      this.view.clearDirty();
      this.inCommandFlag = false;
      this.commands++;
    }
    this.deliver();
    if (this.deferred.length > 0) {
      const deferred = this.deferred;
      this.deferred = [];
      for (const d of deferred) {
        if (d.subscriber.status === 'active') this.addSubscription(d.subscriber, d.instrument, d.channel, d.snapshot);
      }
    }
  }

  /** True between an event and the boundary that completes its command. */
  get inCommand(): boolean {
    return this.inCommandFlag;
  }

  /** Closes candles whose end is at or before `time` (µs); delivered now between commands, else with the command. */
  flushCandles(time: number): void {
    this.candles.flush(time);
    if (!this.inCommandFlag) this.deliver();
  }

  // ------------------------------------------------------------------ snapshots

  /** The published L2 book (top l2Depth levels) and the l2 sequence it is valid at; any time. */
  snapshot(instrument: number): L2Snapshot {
    return this.l2.snapshot(instrument);
  }

  /** Every resting order and the orders-channel sequence it is valid at; only between commands. */
  orderSnapshot(instrument: number): OrderBookSnapshot {
    if (this.inCommandFlag) throw new Error('orderSnapshot: a command is in progress (call it between commands)');
    return this.orders.snapshot(instrument);
  }

  bboSnapshot(instrument: number): BboMessage {
    return this.bbo.current(instrument);
  }

  statusSnapshot(instrument: number): StatusMessage | undefined {
    return this.status.current(instrument);
  }

  // ------------------------------------------------------------------ subscribers

  createSubscriber(limits: SubscriberLimits = {}): Subscriber {
    const subscriber = new Subscriber(this.nextSubscriberId++, this, {
      maxPendingMessages: limits.maxPendingMessages ?? this.options.maxPendingMessages,
      maxPendingBytes: limits.maxPendingBytes ?? this.options.maxPendingBytes,
    });
    this.subscribers.add(subscriber);
    return subscriber;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Subscribers disconnected as slow consumers since the last call. */
  takeSlowConsumers(): Subscriber[] {
    const slow = this.slow;
    this.slow = [];
    return slow;
  }

  addSubscription(subscriber: Subscriber, instrument: number, channel: Channel, snapshot: boolean): void {
    const key = routeKey(instrument, channel);
    if (subscriber.status !== 'active') return;
    if (this.inCommandFlag) {
      this.deferred.push({ subscriber, instrument, channel, snapshot });
      return;
    }
    const name = `${instrument}:${channel}`;
    if (!subscriber.subscriptions.has(name)) {
      subscriber.subscriptions.add(name);
      let list = this.routes.get(key);
      if (list === undefined) this.routes.set(key, (list = []));
      list.push(subscriber);
    }
    if (!snapshot) return;
    const message = this.snapshotFor(instrument, channel);
    if (message !== undefined) this.offer(subscriber, message);
  }

  removeSubscription(subscriber: Subscriber, instrument: number, channel: Channel): void {
    subscriber.subscriptions.delete(`${instrument}:${channel}`);
    const key = routeKey(instrument, channel);
    const list = this.routes.get(key);
    if (list === undefined) return;
    const at = list.indexOf(subscriber);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) this.routes.delete(key);
  }

  removeSubscriber(subscriber: Subscriber): void {
    for (const name of [...subscriber.subscriptions]) {
      const colon = name.indexOf(':');
      this.removeSubscription(subscriber, Number(name.slice(0, colon)), name.slice(colon + 1) as Channel);
    }
    this.subscribers.delete(subscriber);
  }

  private snapshotFor(instrument: number, channel: Channel): MarketDataMessage | undefined {
    switch (channel) {
      case 'l2': return this.l2.snapshot(instrument);
      case 'orders': return this.orders.snapshot(instrument);
      case 'bbo': return this.bbo.current(instrument);
      case 'status': return this.status.current(instrument);
      default: return undefined;
    }
  }

  private deliver(): void {
    const messages = this.pending;
    if (messages.length === 0) return;
    this.pending = [];
    const onMessage = this.options.onMessage;
    for (const message of messages) {
      onMessage?.(message);
      const list = this.routes.get(routeKey(message.instrument, message.channel));
      if (list === undefined) continue;
      let bytes = -1;
      for (let i = 0; i < list.length; i++) {
        const subscriber = list[i];
        if (bytes < 0) bytes = this.messageBytes(message);
        if (!this.offer(subscriber, message, bytes)) i--; // it left this list
      }
    }
  }

  /** Queues a message for a subscriber; on overflow disconnects it (returns false). */
  private offer(subscriber: Subscriber, message: MarketDataMessage, bytes = this.messageBytes(message)): boolean {
    if (subscriber.offer(message, bytes)) return true;
    subscriber.markSlow();
    this.removeSubscriber(subscriber);
    this.slow.push(subscriber);
    this.options.onSlowConsumer?.(subscriber);
    return false;
  }
}

function routeKey(instrument: number, channel: Channel): number {
  return instrument * CHANNEL_COUNT + channelIndex(channel);
}
