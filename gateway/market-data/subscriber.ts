/**
 * One market-data subscriber (a WebSocket connection, say): the channels it
 * follows and a bounded buffer of messages waiting to be sent.
 *
 * Slow-consumer policy: when a message would take the buffer past either limit
 * (maxPendingMessages, maxPendingBytes), the subscriber is disconnected at once:
 * status 'slow-consumer', buffer emptied, every subscription dropped, the
 * publisher's onSlowConsumer called. Nothing else is delayed or dropped: other
 * subscribers are unaffected. A disconnected subscriber resubscribes as a new one
 * (with snapshots).
 */
import type { Channel, MarketDataMessage } from './messages';

export const MAX_PENDING_MESSAGES_DEFAULT = 10_000;
export const MAX_PENDING_BYTES_DEFAULT = 8 * 1024 * 1024;

export interface SubscriberLimits {
  /** Most messages waiting in the buffer (default 10 000). */
  maxPendingMessages?: number;
  /** Most bytes waiting, as counted by the publisher's messageBytes (default 8 MiB). */
  maxPendingBytes?: number;
}

export type SubscriberStatus = 'active' | 'slow-consumer' | 'closed';

/** The publisher side of a subscriber (implemented by MarketDataPublisher). */
export interface SubscriptionHost {
  addSubscription(subscriber: Subscriber, instrument: number, channel: Channel, snapshot: boolean): void;
  removeSubscription(subscriber: Subscriber, instrument: number, channel: Channel): void;
  removeSubscriber(subscriber: Subscriber): void;
}

export class Subscriber {
  status: SubscriberStatus = 'active';
  readonly maxPendingMessages: number;
  readonly maxPendingBytes: number;
  /** Bytes waiting (sum of messageBytes over the buffer). */
  pendingBytes = 0;
  /** Messages accepted into the buffer since creation. */
  delivered = 0;
  /** "instrument:channel" keys currently subscribed. */
  readonly subscriptions = new Set<string>();
  private queue: MarketDataMessage[] = [];
  private sizes: number[] = [];
  private head = 0;

  constructor(
    readonly id: number,
    private readonly host: SubscriptionHost,
    limits: SubscriberLimits = {},
  ) {
    this.maxPendingMessages = limits.maxPendingMessages ?? MAX_PENDING_MESSAGES_DEFAULT;
    this.maxPendingBytes = limits.maxPendingBytes ?? MAX_PENDING_BYTES_DEFAULT;
    if (!(this.maxPendingMessages >= 1) || !(this.maxPendingBytes >= 1)) throw new RangeError('subscriber limits must be >= 1');
  }

  get pendingMessages(): number {
    return this.queue.length - this.head;
  }

  /**
   * Follows a channel of an instrument. snapshot: first queue the channel's current
   * state (l2: L2Snapshot, orders: OrderBookSnapshot, bbo: last BBO, status: last
   * status; nothing for trades and candles); every later message has a higher sequence.
   */
  subscribe(instrument: number, channel: Channel, options: { snapshot?: boolean } = {}): void {
    if (this.status !== 'active') throw new Error(`subscriber ${this.id} is ${this.status}`);
    this.host.addSubscription(this, instrument, channel, options.snapshot ?? false);
  }

  unsubscribe(instrument: number, channel: Channel): void {
    this.host.removeSubscription(this, instrument, channel);
  }

  /** Takes up to `max` waiting messages, oldest first. */
  drain(max = Infinity): MarketDataMessage[] {
    const available = this.queue.length - this.head;
    const n = Math.min(max, available);
    if (n === available && this.head === 0) {
      const all = this.queue;
      this.queue = [];
      this.sizes = [];
      this.pendingBytes = 0;
      return all;
    }
    const out = this.queue.slice(this.head, this.head + n);
    for (let i = this.head; i < this.head + n; i++) this.pendingBytes -= this.sizes[i];
    this.head += n;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.sizes = [];
      this.head = 0;
      this.pendingBytes = 0;
    }
    return out;
  }

  /** Leaves every channel; the subscriber cannot be used again. */
  close(): void {
    if (this.status === 'active') this.status = 'closed';
    this.host.removeSubscriber(this);
    this.clear();
  }

  /**
   * Queues a message (called by the publisher). Returns false, queuing nothing, if
   * it would take the buffer past a limit: the caller then disconnects the subscriber.
   */
  offer(message: MarketDataMessage, bytes: number): boolean {
    if (this.status !== 'active') return true;
    if (this.pendingMessages + 1 > this.maxPendingMessages || this.pendingBytes + bytes > this.maxPendingBytes) return false;
    this.queue.push(message);
    this.sizes.push(bytes);
    this.pendingBytes += bytes;
    this.delivered++;
    return true;
  }

  /** Marks the subscriber as a slow consumer and empties its buffer (called by the publisher). */
  markSlow(): void {
    this.status = 'slow-consumer';
    this.clear();
  }

  private clear(): void {
    this.queue = [];
    this.sizes = [];
    this.head = 0;
    this.pendingBytes = 0;
  }
}
