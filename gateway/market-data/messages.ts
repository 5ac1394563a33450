/**
 * The market-data messages, as plain typed objects (docs/market-data.md).
 *
 * The wire encoding is someone else's job: every field is a number (or a short
 * string tag), so a codec can map them one to one. Prices are minor units,
 * quantities shares, timestamps microseconds (the causing command's timestamp),
 * sides and reasons the codes of core/codes.ts.
 *
 * Every message of a channel except snapshots carries `sequence`: 1, 2, 3, ... per
 * (instrument, channel), without gaps. A snapshot carries the sequence of the last
 * message of its channel it already includes (0 = none yet).
 */

export const CHANNELS = ['orders', 'l2', 'trades', 'bbo', 'candles', 'status'] as const;
export type Channel = (typeof CHANNELS)[number];

/**
 * Whether anyone receives an instrument's messages on a feed's channel. A feed keeps its state and
 * sequences exactly the same either way; it only skips building messages (and, for l2, change lists
 * and checksums until asked) that nobody would receive.
 */
export type Watching = (instrument: number) => boolean;
export const ALWAYS_WATCHED: Watching = () => true;

/** Index of a channel in CHANNELS (routing keys, per-channel sequence arrays). */
export function channelIndex(channel: Channel): number {
  const index = CHANNELS.indexOf(channel);
  if (index < 0) throw new RangeError(`unknown market-data channel "${channel}"`);
  return index;
}

interface Base {
  readonly instrument: number;
  /** Per (instrument, channel) sequence number; for snapshots, the sequence they are valid at. */
  readonly sequence: number;
  /** Microseconds: the timestamp of the command that caused the message. */
  readonly timestamp: number;
}

// ---------------------------------------------------------------- orders (ITCH-like)

/** An order starts resting on the book (the remainder of a limit order, after its matching). */
export interface OrderAddMessage extends Base {
  readonly channel: 'orders';
  readonly type: 'add';
  readonly orderId: number;
  readonly side: number;
  readonly price: number;
  readonly quantity: number;
}

/** A resting order traded as maker; leaves 0 means it left the book. */
export interface OrderExecuteMessage extends Base {
  readonly channel: 'orders';
  readonly type: 'execute';
  readonly orderId: number;
  readonly side: number;
  readonly price: number;
  /** Executed quantity. */
  readonly quantity: number;
  /** What is left on the book after this execution (0: the order is gone). */
  readonly leaves: number;
  /** The Trade event's global sequence number (also the trade id on the trades channel). */
  readonly tradeId: number;
}

/** A visible order was canceled (OrderCanceled): it leaves the book entirely. */
export interface OrderCancelMessage extends Base {
  readonly channel: 'orders';
  readonly type: 'cancel';
  readonly orderId: number;
  readonly side: number;
  readonly price: number;
  readonly canceledQuantity: number;
  /** CancelReason code. */
  readonly reason: number;
}

/**
 * A visible order's terms changed. priorityKept: it stayed in place (same price,
 * smaller or equal size). Otherwise it moved to the back of the level at `price`
 * (a replace that lost priority and rested again without trading).
 */
export interface OrderReplaceMessage extends Base {
  readonly channel: 'orders';
  readonly type: 'replace';
  readonly orderId: number;
  readonly side: number;
  readonly oldPrice: number;
  readonly oldQuantity: number;
  readonly price: number;
  readonly quantity: number;
  readonly priorityKept: boolean;
}

/**
 * A visible order left the book without a cancel: it was replaced, lost priority
 * and traded on re-entry. If it rests again afterwards, an `add` follows.
 */
export interface OrderDeleteMessage extends Base {
  readonly channel: 'orders';
  readonly type: 'delete';
  readonly orderId: number;
  readonly side: number;
  readonly price: number;
}

export interface OrderEntry {
  readonly orderId: number;
  readonly price: number;
  readonly quantity: number;
}

/** Every resting order, best price first, time priority within a price. */
export interface OrderBookSnapshot extends Base {
  readonly channel: 'orders';
  readonly type: 'snapshot';
  readonly bids: readonly OrderEntry[];
  readonly asks: readonly OrderEntry[];
}

export type OrderMessage = OrderAddMessage | OrderExecuteMessage | OrderCancelMessage | OrderReplaceMessage | OrderDeleteMessage;

// ---------------------------------------------------------------- l2

export interface L2Level {
  readonly price: number;
  readonly quantity: number;
  /** Number of resting orders at the price. */
  readonly count: number;
}

/** One level's new state; action 'delete' (quantity and count 0) removes it from the client's book. */
export interface L2Change {
  readonly action: 'set' | 'delete';
  readonly side: number;
  readonly price: number;
  readonly quantity: number;
  readonly count: number;
}

/** The top `depth` levels per side, best first. */
export interface L2Snapshot extends Base {
  readonly channel: 'l2';
  readonly type: 'snapshot';
  readonly depth: number;
  readonly bids: readonly L2Level[];
  readonly asks: readonly L2Level[];
  /** bookChecksum of this book (see checksum.ts). */
  readonly checksum: number;
}

/** Every level change of one command (coalesced), then the checksum of the resulting book. */
export interface L2Update extends Base {
  readonly channel: 'l2';
  readonly type: 'update';
  readonly changes: readonly L2Change[];
  readonly checksum: number;
}

// ---------------------------------------------------------------- trades, bbo, candles, status

export interface TradeMessage extends Base {
  readonly channel: 'trades';
  readonly type: 'trade';
  /** The Trade event's global sequence number: unique across the exchange. */
  readonly tradeId: number;
  readonly price: number;
  readonly quantity: number;
  readonly aggressorSide: number;
  readonly makerOrderId: number;
  readonly takerOrderId: number;
}

/** Best bid and ask after a command, sent when any of the four values changed. 0/0 = empty side. */
export interface BboMessage extends Base {
  readonly channel: 'bbo';
  readonly type: 'bbo';
  readonly bidPrice: number;
  readonly bidQuantity: number;
  readonly askPrice: number;
  readonly askQuantity: number;
}

export interface CandleMessage extends Base {
  readonly channel: 'candles';
  readonly type: 'candle';
  /** '1s', '1m', '1h' (or `${n}us` for other configured lengths). */
  readonly interval: string;
  readonly intervalMicros: number;
  /** Start of the candle (multiple of intervalMicros), inclusive; end = start + intervalMicros, exclusive. */
  readonly start: number;
  readonly end: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume: number;
  /** Sum of price × quantity. */
  readonly notional: number;
  readonly trades: number;
}

export interface StatusMessage extends Base {
  readonly channel: 'status';
  readonly type: 'status';
  readonly symbol: string;
  /** InstrumentState code. */
  readonly state: number;
  /** 0 for the first message (InstrumentAdded). */
  readonly previousState: number;
  /** StateChangeReason code; 0 for InstrumentAdded. */
  readonly reason: number;
}

export type MarketDataMessage =
  | OrderMessage
  | OrderBookSnapshot
  | L2Snapshot
  | L2Update
  | TradeMessage
  | BboMessage
  | CandleMessage
  | StatusMessage;

/** Receives each message as it is produced. */
export type MessageSink = (message: MarketDataMessage) => void;
