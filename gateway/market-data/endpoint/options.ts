/**
 * The market-data endpoint's options (named, with defaults, validated), shared by the
 * supervisor side (gateway/services.ts) and the worker thread.
 */
import { CHECKSUM_LEVELS } from '../checksum';
import { L2_DEPTH_DEFAULT } from '../l2-feed';
import { MAX_PENDING_BYTES_DEFAULT, MAX_PENDING_MESSAGES_DEFAULT } from '../subscriber';

export interface MarketDataEndpointOptions {
  /** Levels per side of the l2 channel. */
  l2Depth: number;
  /** Per subscriber: messages waiting in its bounded buffer before it is a slow consumer. */
  maxPendingMessages: number;
  /** Per subscriber: wire bytes waiting in its bounded buffer before it is a slow consumer. */
  maxPendingBytes: number;
  /** Messages move from a subscriber's buffer into its socket only while the socket's unsent bytes (ws bufferedAmount) are below this. */
  sendHighWaterBytes: number;
  /** A socket whose unsent bytes exceed this is closed as a slow consumer at once (backstop; normally the buffer limit trips first). */
  maxBufferedBytes: number;
  /** (instrument, channel) pairs one connection may follow. */
  maxSubscriptionsPerConnection: number;
  /** Open connections; more are closed at once with 1013 (try again later). */
  maxConnections: number;
  /** A connection that was sent nothing for this long gets a Heartbeat. */
  heartbeatIntervalMs: number;
  /** After a close frame, how long the peer has to complete the close handshake before the socket is destroyed. */
  closeGraceMs: number;
}

export const MARKET_DATA_DEFAULTS: Readonly<MarketDataEndpointOptions> = Object.freeze({
  l2Depth: L2_DEPTH_DEFAULT,
  maxPendingMessages: MAX_PENDING_MESSAGES_DEFAULT,
  maxPendingBytes: MAX_PENDING_BYTES_DEFAULT,
  sendHighWaterBytes: 1 << 20,
  maxBufferedBytes: 16 << 20,
  maxSubscriptionsPerConnection: 1024,
  maxConnections: 10_000,
  heartbeatIntervalMs: 5000,
  closeGraceMs: 10_000,
});

export function resolveMarketDataOptions(partial: Partial<MarketDataEndpointOptions> = {}): MarketDataEndpointOptions {
  const o: MarketDataEndpointOptions = { ...MARKET_DATA_DEFAULTS, ...partial };
  const integer = (key: keyof MarketDataEndpointOptions, min: number, max: number) => {
    const value = o[key];
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new RangeError(`market-data options: ${key} must be an integer in ${min}..${max}, got ${value}`);
    }
  };
  integer('l2Depth', CHECKSUM_LEVELS, 10_000);
  integer('maxPendingMessages', 1, 1 << 24);
  integer('maxPendingBytes', 1024, 1 << 30);
  integer('sendHighWaterBytes', 1024, 1 << 30);
  integer('maxBufferedBytes', o.sendHighWaterBytes, 1 << 30);
  integer('maxSubscriptionsPerConnection', 1, 1 << 20);
  integer('maxConnections', 1, 1 << 20);
  integer('heartbeatIntervalMs', 100, 600_000);
  integer('closeGraceMs', 0, 600_000);
  return Object.freeze(o);
}
