/**
 * The market-data endpoint over real sockets: a real exchange (startTestExchange),
 * order-entry clients driving the book, MarketDataClient subscribers keeping
 * verified local books; gap resync, checksum-mismatch resync, malformed input,
 * a slow subscriber disconnected while a normal one keeps up, and a restart on the
 * same data directory that rebuilds the same book from the journal.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { startTestExchange, TestExchange } from './helpers/test-exchange';
import type { ExchangeConfig } from '../core/runtime/config';
import { OrderType, Side, TimeInForce } from '../core/codes';
import { ExchangeClient, ServerMessage } from '../gateway/client/exchange-client';
import { MarketDataClient, DecodedMarketData } from '../gateway/client/market-data-client';
import { bookChecksum } from '../gateway/market-data/checksum';
import type { L2ClientBook } from '../gateway/market-data/l2-client-book';
import type { L2Level, L2Snapshot, MarketDataMessage, StatusMessage, TradeMessage } from '../gateway/market-data/messages';
import { CloseCode } from '../gateway/protocol/close-codes';
import { GatewayReject } from '../gateway/protocol/reject-codes';
import {
  MD_GENERATED_BEGIN, MD_GENERATED_END, MarketDataClientTemplates, MarketDataReject, MarketDataServerTemplates, describeMarketDataTemplates,
} from '../gateway/protocol/market-data-schema';
import { ClientTemplates, ServerTemplates } from '../gateway/protocol/wire-schema';
import { DecodeStep, FrameDecoder } from '../gateway/protocol/decoder';
import { MD_SERVER_FRAME_LIMITS } from '../gateway/protocol/market-data-schema';
import { MarketDataAssembler, MarketDataWireEncoder, wireSize } from '../gateway/market-data/endpoint/wire-codec';

const DIR = mkdtempSync(path.join(os.tmpdir(), 'md-endpoint-'));
const OVERRIDES = {
  throttle: { ordersPerSecond: 1_000_000, orderBurst: 1_000_000, cancelsPerSecond: 1_000_000, cancelBurst: 1_000_000 },
  // Small per-subscriber limits so the slow-consumer test needs little traffic beyond the kernel's socket buffers.
  // closeGraceMs: the paused subscriber must still find its 4006 close frame when it reads again.
  marketData: { maxPendingMessages: 20_000, maxPendingBytes: 1 << 20, sendHighWaterBytes: 128 << 10, maxBufferedBytes: 8 << 20, closeGraceMs: 25_000 },
} as Partial<ExchangeConfig>;

let exchange: TestExchange;
let clientOrderId = 0;
const clients: Array<ExchangeClient | MarketDataClient> = [];

before(async () => {
  exchange = await startTestExchange(OVERRIDES, DIR);
});
after(async () => {
  for (const c of clients) c.terminate();
  await exchange.stop();
  rmSync(DIR, { recursive: true, force: true });
  assert.deepEqual(exchange.fatal, []);
});

async function md(): Promise<MarketDataClient> {
  const client = new MarketDataClient({ url: `ws://127.0.0.1:${exchange.config.marketDataPort}` });
  await client.connect();
  clients.push(client);
  return client;
}

async function trader(keyId: number): Promise<ExchangeClient> {
  const client = exchange.client(keyId, { cancelOnDisconnect: false });
  await client.connect();
  client.keepReceived = false;
  clients.push(client);
  return client;
}

function order(account: number, side: number, price: number, quantity: number, extra: Record<string, number> = {}): Record<string, number> {
  return {
    account, instrument: 1, clientOrderId: ++clientOrderId, side, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, price, quantity, ...extra,
  };
}

/** Resolves after `count` messages of `type` reached the client. */
function expectMessages(client: ExchangeClient, type: string, count: number, timeoutMs = 10_000): Promise<ServerMessage[]> {
  const seen: ServerMessage[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${seen.length}/${count} ${type} within ${timeoutMs} ms`)), timeoutMs);
    const listener = (m: ServerMessage) => {
      if (m.type === 'OrderRejected' || m.type === 'Reject') {
        clearTimeout(timer);
        client.off('message', listener);
        reject(new Error(`refused: ${JSON.stringify(m)}`));
      }
      if (m.type !== type) return;
      seen.push(m);
      if (seen.length < count) return;
      clearTimeout(timer);
      client.off('message', listener);
      resolve(seen);
    };
    client.on('message', listener);
  });
}

const level = (price: number, quantity: number, count: number): L2Level => ({ price, quantity, count });

function sameBook(book: L2ClientBook | undefined, bids: L2Level[], asks: L2Level[]): boolean {
  if (book === undefined || book.sequence < 0) return false;
  return JSON.stringify(book.levels(Side.Buy)) === JSON.stringify(bids) && JSON.stringify(book.levels(Side.Sell)) === JSON.stringify(asks);
}

async function untilBook(client: MarketDataClient, bids: L2Level[], asks: L2Level[], timeoutMs = 5000): Promise<void> {
  await client.until(() => !client.isResyncing(1) && sameBook(client.book(1), bids, asks), timeoutMs).catch(() => {
    const book = client.book(1);
    assert.fail(`book ${JSON.stringify({ bids: book?.levels(Side.Buy), asks: book?.levels(Side.Sell) })} != ${JSON.stringify({ bids, asks })}`);
  });
}

const isData = (m: DecodedMarketData): m is MarketDataMessage => 'channel' in m && m.type !== 'subscribed' && m.type !== 'unsubscribed' && m.type !== 'reject';

// The book the tests build on instrument 1, level by level.
const BIDS = [level(9_900, 40, 1), level(9_800, 10, 1)];

test('l2, trades, bbo, candles and status follow the orders; the local book verifies', async () => {
  const client = await md();
  for (const channel of ['status', 'l2', 'trades', 'bbo', 'candles'] as const) client.subscribe(1, channel);
  for (const channel of ['status', 'l2', 'trades', 'bbo', 'candles']) {
    const ack = await client.next((m) => m.type === 'subscribed' && m.channel === channel);
    assert.equal(ack.type === 'subscribed' && ack.instrument, 1);
  }
  const status = (await client.next((m) => m.type === 'status')) as StatusMessage;
  assert.equal(status.symbol, 'ACME');
  assert.ok(status.state > 0);
  await untilBook(client, [], []);

  const maker = await trader(2);
  const accepted = expectMessages(maker, 'OrderAccepted', 5);
  maker.batch(() => {
    maker.send('NewOrder', order(2, Side.Sell, 10_100, 30));
    maker.send('NewOrder', order(2, Side.Sell, 10_100, 20));
    maker.send('NewOrder', order(2, Side.Sell, 10_200, 50));
    maker.send('NewOrder', order(2, Side.Buy, 9_900, 40));
    maker.send('NewOrder', order(2, Side.Buy, 9_800, 10));
  });
  await accepted;
  await untilBook(client, BIDS, [level(10_100, 50, 2), level(10_200, 50, 1)]);

  const taker = await trader(4);
  taker.send('NewOrder', order(4, Side.Buy, 10_100, 25));
  const trade = (await client.next((m) => m.type === 'trade')) as TradeMessage;
  assert.equal(trade.price, 10_100);
  assert.equal(trade.quantity, 25);
  assert.equal(trade.aggressorSide, Side.Buy);
  assert.equal(trade.sequence, 1);
  const asks = [level(10_100, 25, 2), level(10_200, 50, 1)];
  await untilBook(client, BIDS, asks);
  assert.equal(client.book(1)!.checksum(), bookChecksum(BIDS, asks));

  const bbo = await client.next((m) => m.type === 'bbo' && m.askQuantity === 25);
  assert.deepEqual(
    bbo.type === 'bbo' && [bbo.bidPrice, bbo.bidQuantity, bbo.askPrice, bbo.askQuantity],
    [9_900, 40, 10_100, 25],
  );
  // The 1 s candle closes at the supervisor's next Clock (every second).
  const candle = await client.next((m) => m.type === 'candle' && m.interval === '1s', 5000);
  assert.equal(candle.type, 'candle');
  if (candle.type === 'candle') {
    assert.deepEqual([candle.open, candle.high, candle.low, candle.close, candle.volume, candle.notional, candle.trades], [10_100, 10_100, 10_100, 10_100, 25, 252_500, 1]);
  }
  assert.equal(client.resyncs, 0);
  assert.equal(client.checksumMismatches, 0);
  await Promise.all([client.close(), maker.logout(), taker.logout()]);
});

test('a dropped update is a gap, a corrupted checksum a mismatch: both resync from a snapshot', async () => {
  const client = await md();
  client.subscribe(1, 'l2');
  let asks = [level(10_100, 25, 2), level(10_200, 50, 1)];
  await untilBook(client, BIDS, asks);

  let dropped = false;
  client.dropIncoming = (m) => {
    if (dropped || m.type !== 'update') return false;
    dropped = true;
    return true;
  };
  const resync = once(client, 'resync');
  const maker = await trader(2);
  const accepted = expectMessages(maker, 'OrderAccepted', 2);
  maker.send('NewOrder', order(2, Side.Sell, 10_150, 5));
  maker.send('NewOrder', order(2, Side.Sell, 10_160, 7));
  await accepted;
  const [, channel, reason] = await resync;
  assert.deepEqual([channel, reason], ['l2', 'gap']);
  asks = [level(10_100, 25, 2), level(10_150, 5, 1), level(10_160, 7, 1), level(10_200, 50, 1)];
  await untilBook(client, BIDS, asks);
  assert.equal(client.resyncs, 1);

  let corrupted = false;
  client.dropIncoming = (m) => {
    if (!corrupted && m.type === 'update') {
      corrupted = true;
      (m as { checksum: number }).checksum ^= 1;
    }
    return false;
  };
  const mismatch = once(client, 'resync');
  const canceled = expectMessages(maker, 'OrderCanceled', 1);
  const placed = expectMessages(maker, 'OrderAccepted', 1);
  maker.send('NewOrder', order(2, Side.Sell, 10_170, 3));
  const accepted170 = await placed;
  maker.send('CancelOrder', { account: 2, orderId: Number(accepted170[0].orderId) });
  await canceled;
  const [, , reason2] = await mismatch;
  assert.equal(reason2, 'checksum-mismatch');
  await untilBook(client, BIDS, asks);
  assert.equal(client.resyncs, 2);
  assert.equal(client.checksumMismatches, 1);
  await Promise.all([client.close(), maker.logout()]);
});

test('malformed input: message-level errors are rejected, frame-level errors close with documented codes', async () => {
  const client = await md();
  // Unknown template id 99 (a 4-byte header only): SubscriptionReject, connection stays.
  client.sendRaw(Buffer.from([4, 0, 99, 1]));
  let reject = await client.next((m) => m.type === 'reject');
  assert.equal(reject.type === 'reject' && reject.reason, GatewayReject.PROTO_UNKNOWN_TEMPLATE);
  // Subscribe with channel 9: bad enum.
  client.sendRaw(Buffer.from([10, 0, 137, 1, 1, 0, 0, 0, 9, 1]));
  reject = await client.next((m) => m.type === 'reject');
  assert.equal(reject.type === 'reject' && reject.reason, GatewayReject.PROTO_BAD_ENUM);
  // An instrument that does not exist.
  client.subscribe(99, 'trades');
  reject = await client.next((m) => m.type === 'reject');
  assert.deepEqual(reject.type === 'reject' && [reject.reason, reject.instrument, reject.channel], [MarketDataReject.UNKNOWN_INSTRUMENT, 99, 'trades']);
  // Heartbeat with a test request id is echoed.
  client.heartbeat(77);
  const echo = await client.next((m) => m.type === 'heartbeat');
  assert.equal(echo.type === 'heartbeat' && echo.testRequestId, 77);
  // Truncated frame: close 4000.
  const closed = once(client, 'close');
  client.sendRaw(Buffer.from([10, 0, 137]));
  assert.equal((await closed)[0], CloseCode.MALFORMED_FRAME);

  const text = await md();
  const textClosed = once(text, 'close');
  text.sendRaw('subscribe please');
  assert.equal((await textClosed)[0], CloseCode.UNSUPPORTED_DATA);
});

test('a subscriber that stops reading is closed with 4006; a normal subscriber keeps receiving', async () => {
  const normal = await md();
  normal.keepReceived = false;
  normal.subscribe(1, 'l2');
  normal.subscribe(1, 'trades');
  const slow = await md();
  for (const channel of ['l2', 'orders', 'trades', 'bbo'] as const) slow.subscribe(1, channel);
  await slow.next((m) => m.type === 'subscribed' && m.channel === 'bbo');
  await normal.until(() => normal.lastSequence(1, 'l2') >= 0);
  let slowCode = 0;
  slow.once('close', (code: number) => (slowCode = code));
  (slow.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();

  let gaps = 0;
  normal.on('gap', () => gaps++);
  const maker = await trader(2);
  const taker = await trader(3);
  // Each round: 500 one-lot asks (500 commands), then one buy that sweeps 500 lots:
  // about 116 KB of market data per round for the slow subscriber, 9 MB in all. It is
  // cut off after the kernel's socket buffers (about 4 MB on loopback), the 128 KiB
  // send high-water mark and its 1 MiB buffer are full.
  const ROUNDS = 80;
  const started = Date.now();
  for (let round = 0; round < ROUNDS; round++) {
    const accepted = expectMessages(maker, 'OrderAccepted', 500);
    maker.batch(() => {
      for (let k = 0; k < 500; k++) maker.send('NewOrder', order(2, Side.Sell, 10_300 + (k % 20), 1));
    });
    await accepted;
    const done = taker.next((m) => m.type === 'Trade' && m.takerLeaves === 0, 10_000);
    taker.send('NewOrder', order(3, Side.Buy, 10_400, 500, { timeInForce: TimeInForce.IOC }));
    await done;
  }
  const elapsed = Date.now() - started;
  // The normal subscriber saw every trade, in sequence, without a gap or resync.
  const probe = await md();
  probe.subscribe(1, 'trades');
  const ack = await probe.next((m) => m.type === 'subscribed');
  const lastTrade = ack.type === 'subscribed' ? ack.sequence : -1;
  assert.ok(lastTrade > ROUNDS * 400);
  await normal.until(() => normal.lastSequence(1, 'trades') === lastTrade, 10_000);
  assert.equal(gaps, 0);
  assert.equal(normal.resyncs, 0);
  // The slow one: once it reads again it finds the 4006 close after what was already sent.
  (slow.socket as unknown as { _socket: { resume(): void } })._socket.resume();
  if (slowCode === 0) await Promise.race([once(slow, 'close'), new Promise((resolve) => setTimeout(resolve, 5000))]);
  assert.equal(slowCode, CloseCode.SLOW_CONSUMER, `slow subscriber closed with ${slowCode} (flood took ${elapsed} ms)`);
  await Promise.all([normal.close(), probe.close(), maker.logout(), taker.logout()]);
});

test('a restart on the same data directory rebuilds the same book and BBO (from the shutdown snapshot and the journal)', async () => {
  const before = await md();
  before.subscribe(1, 'l2');
  before.subscribe(1, 'bbo');
  before.subscribe(1, 'trades');
  const snapshot = (await before.next((m) => m.type === 'snapshot' && isData(m) && m.channel === 'l2')) as L2Snapshot;
  const bbo = await before.next((m) => m.type === 'bbo');
  const trades = await before.next((m) => m.type === 'subscribed' && m.channel === 'trades');
  assert.ok(snapshot.bids.length + snapshot.asks.length > 0);
  await before.close();

  await exchange.stop();
  assert.deepEqual(exchange.fatal, []);
  exchange = await startTestExchange(OVERRIDES, DIR);

  const after = await md();
  after.subscribe(1, 'l2');
  after.subscribe(1, 'bbo');
  after.subscribe(1, 'trades');
  // The restart seeds market data from the shutdown snapshot (not from event 1), so channel
  // sequences start a new epoch; the book itself, its checksum and the BBO are the same.
  const rebuilt = (await after.next((m) => m.type === 'snapshot' && isData(m) && m.channel === 'l2')) as L2Snapshot;
  assert.deepEqual(rebuilt.bids, snapshot.bids);
  assert.deepEqual(rebuilt.asks, snapshot.asks);
  assert.equal(rebuilt.checksum, snapshot.checksum);
  const bboAfter = await after.next((m) => m.type === 'bbo');
  for (const field of ['bidPrice', 'bidQuantity', 'askPrice', 'askQuantity']) {
    assert.equal((bboAfter as unknown as Record<string, number>)[field], (bbo as unknown as Record<string, number>)[field], field);
  }
  assert.ok(trades !== undefined);
  assert.ok(sameBook(after.book(1), snapshot.bids as L2Level[], snapshot.asks as L2Level[]));
  await after.close();
});

test('docs/market-data.md carries the generated template tables', () => {
  const doc = readFileSync(path.join(__dirname, '..', '..', 'docs', 'market-data.md'), 'utf8');
  const begin = doc.indexOf(MD_GENERATED_BEGIN);
  const end = doc.indexOf(MD_GENERATED_END);
  assert.ok(begin >= 0 && end > begin, 'generated markers present');
  assert.equal(doc.slice(begin + MD_GENERATED_BEGIN.length, end).trim(), describeMarketDataTemplates().trim());
});

test('market-data template ids stay clear of the order-entry ones (Heartbeat is shared)', () => {
  for (const [md, orderEntry] of [[MarketDataClientTemplates, ClientTemplates], [MarketDataServerTemplates, ServerTemplates]] as const) {
    for (const template of md.templates) {
      const other = orderEntry.byId[template.id];
      if (template.name === 'Heartbeat') assert.equal(other?.blockLength, template.blockLength);
      else assert.equal(other, undefined, `${template.name} id ${template.id} is also ${other?.name}`);
    }
  }
});

test('every message type survives encode -> frames -> decode -> reassembly', () => {
  const base = { instrument: 3, sequence: 41, timestamp: 1_700_000_000_123_456 };
  const many = Array.from({ length: 1500 }, (_, i) => ({ orderId: 10_000 + i, price: 9_000 + (i % 70), quantity: 1 + i }));
  const messages: MarketDataMessage[] = [
    { ...base, channel: 'orders', type: 'add', orderId: 7, side: 1, price: 10_050, quantity: 300 },
    { ...base, channel: 'orders', type: 'execute', orderId: 7, side: 1, price: 10_050, quantity: 100, leaves: 200, tradeId: 99 },
    { ...base, channel: 'orders', type: 'cancel', orderId: 7, side: 1, price: 10_050, canceledQuantity: 200, reason: 1 },
    { ...base, channel: 'orders', type: 'replace', orderId: 8, side: 2, oldPrice: 10_100, oldQuantity: 5, price: 10_090, quantity: 4, priorityKept: false },
    { ...base, channel: 'orders', type: 'delete', orderId: 8, side: 2, price: 10_090 },
    { ...base, channel: 'orders', type: 'snapshot', bids: many.slice(0, 900), asks: many.slice(900) },
    { ...base, sequence: 0, channel: 'orders', type: 'snapshot', bids: [], asks: [] },
    { ...base, channel: 'l2', type: 'snapshot', depth: 50, bids: [level(9_900, 40, 1)], asks: [level(10_100, 50, 2)], checksum: 4_000_000_000 },
    { ...base, channel: 'l2', type: 'update', changes: [{ action: 'set', side: 1, price: 9_900, quantity: 41, count: 2 }, { action: 'delete', side: 2, price: 10_100, quantity: 0, count: 0 }], checksum: 17 },
    { ...base, channel: 'trades', type: 'trade', tradeId: 12_345, price: 10_100, quantity: 25, aggressorSide: 1, makerOrderId: 3, takerOrderId: 4 },
    { ...base, channel: 'bbo', type: 'bbo', bidPrice: 9_900, bidQuantity: 40, askPrice: 0, askQuantity: 0 },
    {
      ...base, channel: 'candles', type: 'candle', interval: '1m', intervalMicros: 60_000_000, start: 1_699_999_980_000_000, end: 1_700_000_040_000_000,
      open: 1, high: 5, low: 1, close: 4, volume: 10, notional: 33, trades: 3,
    },
    { ...base, channel: 'status', type: 'status', symbol: 'LONGSYMBOL.AB', state: 3, previousState: 2, reason: 4 },
  ];
  const encoder = new MarketDataWireEncoder();
  const bytes = Buffer.concat(messages.map((m) => {
    const b = encoder.encode(m);
    assert.equal(b.length, wireSize(m), m.type);
    return b;
  }));
  // Cut the stream into frames at message boundaries, as the endpoint does (runs span frames).
  const decoder = new FrameDecoder(MarketDataServerTemplates, MD_SERVER_FRAME_LIMITS);
  const assembler = new MarketDataAssembler();
  const out: DecodedMarketData[] = [];
  for (let p = 0; p < bytes.length;) {
    let end = p;
    while (end < bytes.length && end - p + bytes.readUInt16LE(end) <= 4096) end += bytes.readUInt16LE(end);
    assert.equal(decoder.begin(bytes.subarray(p, end)), null);
    for (let step = decoder.next(); step !== DecodeStep.End; step = decoder.next()) {
      assert.equal(step, DecodeStep.Message);
      const m = assembler.accept(decoder.template!, decoder.record);
      if (m !== null) out.push(m);
    }
    p = end;
  }
  assert.deepEqual(assembler.takeBroken(), []);
  assert.deepEqual(out, messages);
});
