/**
 * Market data (gateway/market-data, docs/market-data.md):
 *
 *   1. the OrderBookView, fed only the real engine's events, equals the engine's
 *      book (Harness.depth: levels, quantities, counts, order ids in priority
 *      order, live order count) after EVERY command, over many randomFlow seeds and
 *      the nastier reference streams;
 *   2. client books built from snapshot + incremental messages (L2 with checksums,
 *      and the order-level feed) stay equal to the view; a sequence gap is detected;
 *      resync works; the checksum is CRC-32 of the documented text;
 *   3. candles: OHLCV for scripted trades across 1s/1m/1h boundaries, flush;
 *   4. BBO is published only when it changes;
 *   5. a slow subscriber is disconnected, the others keep receiving everything;
 *   plus the outbound-ring path (echoes, BATCH_END) and the order-level messages
 *   of replaces and stops.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { OrderType, Side, TimeInForce } from '../core/codes';
import { CommandObject } from '../core/record-objects';
import { EVENT_WORDS, EventHeader, EventName, Events, eventByCode, packSymbol } from '../core/schema';
import { BATCH_END_CODE, RingSink } from '../core/runtime/ring-sink';
import { SpmcConsumer, SpmcRing } from '../core/ring';
import { Harness } from './helpers/harness';
import { FlowCommand, randomFlow } from './helpers/random-flow';
import { FLOW_LIMITS, encodeCommandObject, generateStream } from './reference/order-flow';
import {
  CandleBuilder, CandleMessage, L2ClientBook, L2Level, L2Snapshot, L2Update, MarketDataMessage, MarketDataPublisher, OrderBookSnapshot,
  OrderMessage, PublisherOptions, bookChecksum, checksumText, drainOutboundRing,
} from '../gateway/market-data';

/**
 * randomFlow with a valid symbol in its AddInstrument commands: the helper packs
 * "A" + char code 1/2, which the engine's symbol rule ([A-Z0-9][A-Z0-9._-]*) rejects,
 * leaving every later order on an unknown instrument.
 */
function flow(seed: number, count: number): FlowCommand[] {
  return randomFlow(seed, count).map((command) => {
    if (command.name !== 'AddInstrument') return command;
    const [symbolHead, symbolTail] = packSymbol(`SYM${command.fields.instrument}`);
    return { ...command, fields: { ...command.fields, symbolHead, symbolTail } };
  });
}

const BATCH_END = (() => {
  const r = new Float64Array(EVENT_WORDS);
  r[0] = BATCH_END_CODE;
  return r;
})();

/** The real engine (echoing commands, like the running exchange) feeding a publisher. */
class Rig {
  readonly harness: Harness;
  readonly publisher: MarketDataPublisher;
  readonly messages: MarketDataMessage[] = [];
  readonly eventCounts = new Map<string, number>();
  /** More publishers fed the same records (without an onMessage of the rig's). */
  readonly followers: MarketDataPublisher[] = [];

  constructor(options: PublisherOptions = {}, limits: Record<string, number> = {}) {
    this.harness = new Harness({ echoCommands: true, limits: { ...FLOW_LIMITS, ...limits } });
    this.publisher = new MarketDataPublisher({ ...options, onMessage: (m) => this.messages.push(m) });
    const sink = this.harness.sink;
    const publisher = this.publisher;
    const counts = this.eventCounts;
    const followers = this.followers;
    this.harness.matcher.out.sink = {
      onEvents(words: Float64Array, count: number) {
        publisher.onEvents(words, count);
        for (const follower of followers) follower.onEvents(words, count);
        sink.onEvents(words, count);
        for (let i = 0; i < count; i++) {
          const code = words[i * EVENT_WORDS];
          const spec = eventByCode[code];
          if (spec === undefined) continue;
          let name: string = spec.name;
          if (code === Events.OrderReplaced.code) name += words[i * EVENT_WORDS + Events.OrderReplaced.at.priorityKept] ? '+kept' : '+lost';
          counts.set(name, (counts.get(name) ?? 0) + 1);
        }
      },
    };
  }

  /** One command, then BATCH_END (the matcher worker's batch of one). */
  run(command: FlowCommand): void {
    this.harness.send(command.name, command.fields as never, command.timestamp);
    this.publisher.onRecord(BATCH_END, 0);
    for (const follower of this.followers) follower.onRecord(BATCH_END, 0);
  }

  runObject(command: CommandObject): void {
    this.harness.matcher.process(encodeCommandObject(command), 0);
    this.harness.matcher.flush();
    this.harness.sink.take();
    this.publisher.onRecord(BATCH_END, 0);
  }

  instruments(): number[] {
    const out: number[] = [];
    const ins = this.harness.matcher.instruments;
    for (let i = 1; i <= FLOW_LIMITS.maxInstruments; i++) if (ins.has(i)) out.push(i);
    return out;
  }

  /** The key property: the view's book is the engine's book. */
  assertViewMatchesEngine(where: string): void {
    const view = this.publisher.view;
    assert.deepEqual(view.instruments(), this.instruments(), `instruments at ${where}`);
    for (const instrument of this.instruments()) {
      for (const side of [Side.Buy, Side.Sell]) {
        const engine = this.harness.depth(side, instrument);
        const expected = engine.map((l) => ({ price: l.price, quantity: l.quantity, count: l.orders.length }));
        const actual = view.levels(instrument, side);
        if (!sameLevels(actual, expected)) {
          assert.deepEqual(actual, expected, `L2 of instrument ${instrument} side ${side} at ${where}`);
        }
        const ids = view.restingOrders(instrument, side).map((o) => o.orderId);
        const engineIds = engine.flatMap((l) => l.orders);
        if (ids.join() !== engineIds.join()) assert.deepEqual(ids, engineIds, `order priority of ${instrument}/${side} at ${where}`);
      }
    }
    assert.equal(view.orderCount, this.harness.matcher.orderIndex.size, `live orders at ${where}`);
  }
}

function sameLevels(a: readonly { price: number; quantity: number; count: number }[], b: typeof a): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].price !== b[i].price || a[i].quantity !== b[i].quantity || a[i].count !== b[i].count) return false;
  return true;
}

// ------------------------------------------------------------------------ 1

test('1. the view rebuilt from events equals the engine book after every command (randomFlow, 60 seeds)', () => {
  const totals = new Map<string, number>();
  for (let seed = 1; seed <= 60; seed++) {
    const rig = new Rig();
    flow(seed, 1500).forEach((command, index) => {
      rig.run(command);
      rig.assertViewMatchesEngine(`seed ${seed} command #${index} ${command.name} ${JSON.stringify(command.fields)}`);
    });
    for (const [k, v] of rig.eventCounts) totals.set(k, (totals.get(k) ?? 0) + v);
  }
  // The flows exercised what the view has to get right.
  for (const [name, least] of [['Trade', 1000], ['OrderCanceled', 1000], ['OrderReplaced+kept', 10], ['OrderReplaced+lost', 10], ['StopTriggered', 500], ['InstrumentStateChanged', 100]] as const) {
    assert.ok((totals.get(name) ?? 0) >= least, `randomFlow produced only ${totals.get(name) ?? 0} ${name}: ${JSON.stringify([...totals])}`);
  }
});

test('1b. the view equals the engine book after every command (reference streams: mass cancels, session closes, GTD, ...)', () => {
  const totals = new Map<string, number>();
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (seed) => {
      const rig = new Rig();
      generateStream(seed, 400).forEach((command, index) => {
        rig.runObject(command);
        rig.assertViewMatchesEngine(`stream ${seed} command #${index} ${JSON.stringify(command)}`);
      });
      for (const [k, v] of rig.eventCounts) totals.set(k, (totals.get(k) ?? 0) + v);
    }),
    { numRuns: 25, seed: 6 },
  );
  for (const [name, least] of [['Trade', 500], ['OrderReplaced+kept', 100], ['OrderReplaced+lost', 100], ['MassCancelDone', 20], ['StopTriggered', 20]] as const) {
    assert.ok((totals.get(name) ?? 0) >= least, `streams produced only ${totals.get(name) ?? 0} ${name}: ${JSON.stringify([...totals])}`);
  }
});

test('1c. driven from a real outbound ring: echoes and BATCH_END as boundaries, several commands per batch', () => {
  const ring = SpmcRing.create(1 << 12, EVENT_WORDS, 1);
  const consumer = SpmcConsumer.attach(ring.buffer, 0);
  const harness = new Harness({ echoCommands: true, limits: { ...FLOW_LIMITS } });
  const ringSink = new RingSink(ring);
  harness.matcher.out.sink = ringSink;
  const publisher = new MarketDataPublisher();
  const client = new L2ClientBook(1);
  const sub = publisher.createSubscriber();
  sub.subscribe(1, 'l2', { snapshot: true });
  const commands = flow(99, 3000);
  let i = 0;
  let batches = 0;
  while (i < commands.length) {
    const size = 1 + ((i * 7) % 13);
    for (const command of commands.slice(i, i + size)) harness.send(command.name, command.fields as never, command.timestamp);
    i += size;
    ringSink.endBatch();
    drainOutboundRing(consumer, publisher);
    batches++;
    assert.equal(publisher.inCommand, false);
    for (const instrument of [1, 2]) {
      if (!harness.matcher.instruments.has(instrument)) continue;
      for (const side of [Side.Buy, Side.Sell]) {
        const expected = harness.depth(side, instrument).map((l) => ({ price: l.price, quantity: l.quantity, count: l.orders.length }));
        assert.deepEqual(publisher.view.levels(instrument, side), expected, `batch ${batches}`);
      }
    }
    for (const m of sub.drain()) {
      if (m.type === 'snapshot') client.applySnapshot(m as L2Snapshot);
      else assert.equal(client.apply(m as L2Update), 'applied');
    }
    assert.deepEqual(client.levels(Side.Buy), publisher.view.levels(1, Side.Buy, 50));
    assert.deepEqual(client.levels(Side.Sell), publisher.view.levels(1, Side.Sell, 50));
  }
  assert.equal(publisher.lastEventSequence, harness.matcher.out.sequence);
});

// ------------------------------------------------------------------------ 2

/** A client of the orders channel: snapshot, then messages; Map insertion order is time priority. */
class OrderClient {
  sequence = -1;
  readonly orders = new Map<number, { side: number; price: number; quantity: number }>();
  applySnapshot(s: OrderBookSnapshot): void {
    this.orders.clear();
    for (const o of s.bids) this.orders.set(o.orderId, { side: Side.Buy, price: o.price, quantity: o.quantity });
    for (const o of s.asks) this.orders.set(o.orderId, { side: Side.Sell, price: o.price, quantity: o.quantity });
    this.sequence = s.sequence;
  }
  apply(m: OrderMessage): void {
    assert.equal(m.sequence, this.sequence + 1, 'orders sequence is contiguous');
    this.sequence = m.sequence;
    const o = this.orders.get(m.orderId);
    switch (m.type) {
      case 'add':
        assert.equal(o, undefined, `add of visible order ${m.orderId}`);
        this.orders.set(m.orderId, { side: m.side, price: m.price, quantity: m.quantity });
        break;
      case 'execute':
        assert.ok(o && o.price === m.price && o.quantity - m.quantity === m.leaves, `execute ${JSON.stringify(m)} of ${JSON.stringify(o)}`);
        if (m.leaves === 0) this.orders.delete(m.orderId);
        else o.quantity = m.leaves;
        break;
      case 'cancel':
      case 'delete':
        assert.ok(o, `${m.type} of unknown order ${m.orderId}`);
        this.orders.delete(m.orderId);
        break;
      case 'replace':
        assert.ok(o && o.price === m.oldPrice && o.quantity === m.oldQuantity, `replace ${JSON.stringify(m)} of ${JSON.stringify(o)}`);
        if (m.priorityKept) {
          o.quantity = m.quantity;
        } else {
          this.orders.delete(m.orderId);
          this.orders.set(m.orderId, { side: m.side, price: m.price, quantity: m.quantity });
        }
        break;
    }
  }
  side(side: number): Array<{ orderId: number; price: number; quantity: number }> {
    const out = [...this.orders].filter(([, o]) => o.side === side).map(([orderId, o]) => ({ orderId, price: o.price, quantity: o.quantity }));
    return out.sort((a, b) => (side === Side.Buy ? b.price - a.price : a.price - b.price)); // stable: FIFO within a price
  }
}

test('2. client books from snapshot + updates track the view at every command; checksums match', () => {
  for (const [seed, depth] of [[3, 10], [4, 10], [5, 50], [6, 12], [7, 1000], [8, 10]] as const) {
    const rig = new Rig({ l2Depth: depth });
    const pub = rig.publisher;
    const early = pub.createSubscriber({ maxPendingMessages: 1e6 });
    early.subscribe(1, 'l2', { snapshot: true });
    early.subscribe(1, 'orders', { snapshot: true });
    early.subscribe(2, 'l2', { snapshot: true });
    const books = new Map([[1, new L2ClientBook(1)], [2, new L2ClientBook(2)]]);
    const orderClient = new OrderClient();
    let late: { sub: ReturnType<typeof pub.createSubscriber>; book: L2ClientBook } | null = null;
    let updates = 0;
    flow(seed, 2000).forEach((command, index) => {
      if (index === 700) {
        const sub = pub.createSubscriber();
        sub.subscribe(2, 'l2', { snapshot: true });
        late = { sub, book: new L2ClientBook(2) };
      }
      rig.run(command);
      for (const m of early.drain()) {
        if (m.channel === 'orders') {
          if (m.type === 'snapshot') orderClient.applySnapshot(m);
          else orderClient.apply(m);
          continue;
        }
        const book = books.get(m.instrument)!;
        if (m.type === 'snapshot') book.applySnapshot(m as L2Snapshot);
        else {
          assert.equal(book.apply(m as L2Update), 'applied', `seed ${seed} #${index}`);
          updates++;
        }
      }
      if (late !== null) {
        for (const m of late.sub.drain()) {
          if (m.type === 'snapshot') late.book.applySnapshot(m as L2Snapshot);
          else assert.equal(late.book.apply(m as L2Update), 'applied');
        }
        assert.deepEqual(late.book.levels(Side.Sell), pub.view.levels(2, Side.Sell, depth));
      }
      for (const [instrument, book] of books) {
        for (const side of [Side.Buy, Side.Sell]) {
          const expected = pub.view.levels(instrument, side, depth);
          const actual = book.levels(side);
          if (!sameLevels(actual, expected)) assert.deepEqual(actual, expected, `client L2 ${instrument}/${side} seed ${seed} #${index}`);
        }
        assert.equal(book.sequence, pub.snapshot(instrument).sequence);
      }
      for (const side of [Side.Buy, Side.Sell]) {
        assert.deepEqual(orderClient.side(side), pub.view.restingOrders(1, side), `client orders seed ${seed} #${index}`);
      }
    });
    assert.ok(updates > 200, `only ${updates} L2 updates`);
  }
});

test('2a. every instrument\'s L2 and order-level clients track the view over the reference streams', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(10, 16, 200), (seed, depth) => {
      const rig = new Rig({ l2Depth: depth });
      const l2 = new Map<number, L2ClientBook>();
      const orders = new Map<number, OrderClient>();
      let consumed = 0;
      generateStream(seed, 300).forEach((command, index) => {
        rig.runObject(command);
        for (; consumed < rig.messages.length; consumed++) {
          const m = rig.messages[consumed];
          if (m.channel === 'l2' && m.type === 'update') {
            let book = l2.get(m.instrument);
            if (book === undefined) {
              l2.set(m.instrument, (book = new L2ClientBook(m.instrument)));
              book.applySnapshot({ ...rig.publisher.snapshot(m.instrument), sequence: 0, bids: [], asks: [] });
            }
            assert.equal(book.apply(m), 'applied', `stream ${seed} #${index}`);
          } else if (m.channel === 'orders' && m.type !== 'snapshot') {
            let client = orders.get(m.instrument);
            if (client === undefined) {
              orders.set(m.instrument, (client = new OrderClient()));
              client.sequence = 0;
            }
            client.apply(m);
          }
        }
        for (const instrument of rig.publisher.view.instruments()) {
          for (const side of [Side.Buy, Side.Sell]) {
            const where = `stream ${seed} depth ${depth} #${index} instrument ${instrument} side ${side}`;
            assert.deepEqual(l2.get(instrument)?.levels(side) ?? [], rig.publisher.view.levels(instrument, side, depth), where);
            assert.deepEqual(orders.get(instrument)?.side(side) ?? [], rig.publisher.view.restingOrders(instrument, side), where);
          }
        }
      });
    }),
    { numRuns: 20, seed: 7 },
  );
});

test('2b. a missed update is detected as a gap; resync from snapshot() recovers', () => {
  const rig = new Rig();
  const book = new L2ClientBook(1);
  book.applySnapshot(rig.publisher.snapshot(1));
  const commands = flow(11, 3000);
  let dropped = 0;
  let gaps = 0;
  let resyncs = 0;
  let buffered: L2Update[] = [];
  let resyncPending = false;
  let behind = false;
  for (const command of commands) {
    const before = rig.messages.length;
    rig.run(command);
    for (const m of rig.messages.slice(before)) {
      if (m.channel !== 'l2' || m.instrument !== 1 || m.type !== 'update') continue;
      if (m.sequence % 29 === 0) {
        dropped++; // lost on the way
        behind = true;
        continue;
      }
      if (resyncPending) {
        buffered.push(m);
        continue;
      }
      const result = book.apply(m);
      if (result === 'gap') {
        gaps++;
        resyncPending = true; // ask for a snapshot; keep the updates meanwhile
        buffered.push(m);
      } else {
        assert.equal(result, 'applied');
      }
    }
    if (resyncPending) {
      // The snapshot arrives later (between commands): updates at or below its sequence are stale.
      const snapshot = rig.publisher.snapshot(1);
      book.applySnapshot(snapshot);
      for (const u of buffered) {
        const r = book.apply(u);
        assert.ok(r === 'applied' || r === 'stale', r);
      }
      buffered = [];
      resyncPending = false;
      resyncs++;
      behind = false;
      assert.equal(book.checksum(), snapshot.checksum);
    }
    if (!behind) assert.deepEqual(book.levels(Side.Buy), rig.publisher.view.levels(1, Side.Buy, 50));
  }
  assert.ok(dropped > 3 && gaps >= dropped - 1 && gaps <= dropped && resyncs === gaps, `dropped ${dropped}, gaps ${gaps}, resyncs ${resyncs}`);
  // A stale update (already in the snapshot) is ignored.
  const last = rig.messages.filter((m): m is L2Update => m.channel === 'l2' && m.instrument === 1 && m.type === 'update').at(-1)!;
  assert.equal(book.apply(last), 'stale');
  // A corrupted book is caught by the checksum.
  const corrupt = new L2ClientBook(1);
  const snapshot = rig.publisher.snapshot(1);
  const bids = snapshot.bids.length > 0 ? snapshot.bids.map((l, i) => (i === 0 ? { ...l, quantity: l.quantity + 1 } : l)) : [{ price: 1, quantity: 1, count: 1 }];
  corrupt.applySnapshot({ ...snapshot, bids });
  assert.equal(corrupt.apply({ ...last, sequence: snapshot.sequence + 1, changes: [] , checksum: snapshot.checksum }), 'checksum-mismatch');
});

test('2d. a publisher nobody watches keeps the same books, sequences and checksums; late subscribers get what a watched one sends', () => {
  const channels = ['l2', 'orders', 'trades', 'bbo'] as const;
  for (const seed of [11, 12, 13]) {
    const rig = new Rig({ l2Depth: 10 }); // watched: its onMessage takes every message
    const unwatched = new MarketDataPublisher({ l2Depth: 10 });
    rig.followers.push(unwatched);
    const SUBSCRIBE_AT = 900;
    const watchedSub = rig.publisher.createSubscriber({ maxPendingMessages: 1e6 });
    const lateSub = unwatched.createSubscriber({ maxPendingMessages: 1e6 });
    let delivered = 0;
    flow(seed, 1500).forEach((command, index) => {
      if (index === SUBSCRIBE_AT) {
        for (const instrument of [1, 2]) {
          for (const channel of channels) {
            watchedSub.subscribe(instrument, channel, { snapshot: true });
            lateSub.subscribe(instrument, channel, { snapshot: true });
          }
        }
      }
      rig.run(command);
      for (const instrument of [1, 2]) {
        const where = `seed ${seed} #${index} instrument ${instrument}`;
        const snapshot = unwatched.snapshot(instrument);
        assert.deepEqual(snapshot, rig.publisher.snapshot(instrument), `l2 snapshot (levels, sequence, checksum) ${where}`);
        assert.equal(snapshot.checksum, bookChecksum(snapshot.bids, snapshot.asks), `checksum of the levels ${where}`);
        assert.deepEqual(unwatched.bboSnapshot(instrument), rig.publisher.bboSnapshot(instrument), `bbo ${where}`);
        assert.equal(unwatched.orders.sequence(instrument), rig.publisher.orders.sequence(instrument), `orders sequence ${where}`);
        assert.equal(unwatched.trades.sequence(instrument), rig.publisher.trades.sequence(instrument), `trades sequence ${where}`);
      }
      if (index >= SUBSCRIBE_AT) {
        const expected = watchedSub.drain();
        assert.deepEqual(lateSub.drain(), expected, `seed ${seed} #${index}`);
        delivered += expected.length;
      }
    });
    assert.ok(delivered > 500, `only ${delivered} messages after subscribing`);
  }
});

test('2c. the checksum is CRC-32 (zlib) of the documented "price:qty" text', () => {
  const bids = Array.from({ length: 12 }, (_, i) => ({ price: 1001 - i, quantity: 5 + i * 1000, count: 1 }));
  const asks = [{ price: 1002, quantity: 7, count: 2 }];
  assert.equal(checksumText([], []), '|');
  // The examples of docs/market-data.md.
  assert.equal(bookChecksum([{ price: 1001, quantity: 5, count: 1 }, { price: 1000, quantity: 20, count: 3 }], [{ price: 1002, quantity: 7, count: 1 }]), 3828422236);
  assert.equal(bookChecksum([], []), 2343686810);
  assert.equal(checksumText(bids.slice(0, 2), asks), '1001:5,1000:1005|1002:7');
  const books: Array<[L2Level[], L2Level[]]> = [[[], []], [bids, asks], [bids.slice(0, 1), []], [[], asks], [[{ price: 2 ** 36, quantity: 2 ** 40 + 3, count: 1 }], asks]];
  for (const [b, a] of books) {
    const text = checksumText(b, a);
    assert.equal(bookChecksum(b, a), zlib.crc32(Buffer.from(text, 'ascii')), text);
  }
  // Only the top 10 levels count.
  assert.equal(bookChecksum(bids, asks), bookChecksum(bids.slice(0, 10), asks));
});

// ------------------------------------------------------------------------ 3

function eventRecord<N extends EventName>(name: N, fields: Partial<Record<keyof (typeof Events)[N]['at'], number>>, sequence: number, timestamp: number): Float64Array {
  const r = new Float64Array(EVENT_WORDS);
  const spec = Events[name];
  r[EventHeader.type] = spec.code;
  r[EventHeader.sequence] = sequence;
  r[EventHeader.timestamp] = timestamp;
  for (const [k, v] of Object.entries(fields)) r[(spec.at as Record<string, number>)[k]] = v as number;
  return r;
}

test('3. candles: OHLCV across 1s/1m/1h boundaries, closed by the next trade or a flush', () => {
  const out: CandleMessage[] = [];
  const candles = new CandleBuilder((m) => out.push(m as CandleMessage));
  const trades: Array<[number, number, number]> = [
    [1_000_100, 100, 1], [1_500_000, 105, 2], [1_999_999, 95, 3],
    [2_000_000, 101, 4], // closes 1s [1s, 2s)
    [3_700_000, 99, 1], // closes 1s [2s, 3s); no candle for an empty interval
    [61_000_000, 110, 5], // closes 1s [3s, 4s) and 1m [0, 60s)
  ];
  for (const [t, p, q] of trades) candles.onTrade(1, p, q, t);
  const pick = (m: CandleMessage) => [m.interval, m.start, m.end, m.open, m.high, m.low, m.close, m.volume, m.notional, m.trades, m.sequence];
  assert.deepEqual(out.map(pick), [
    ['1s', 1_000_000, 2_000_000, 100, 105, 95, 95, 6, 100 + 210 + 285, 3, 1],
    ['1s', 2_000_000, 3_000_000, 101, 101, 101, 101, 4, 404, 1, 2],
    ['1s', 3_000_000, 4_000_000, 99, 99, 99, 99, 1, 99, 1, 3],
    ['1m', 0, 60_000_000, 100, 105, 95, 99, 11, 595 + 404 + 99, 5, 4],
  ]);
  assert.deepEqual(out.map((m) => m.timestamp), [2_000_000, 3_700_000, 61_000_000, 61_000_000]);
  out.length = 0;
  candles.flush(61_999_999); // nothing is due
  assert.equal(out.length, 0);
  candles.flush(62_000_000);
  assert.deepEqual(out.map(pick), [['1s', 61_000_000, 62_000_000, 110, 110, 110, 110, 5, 550, 1, 5]]);
  out.length = 0;
  candles.flush(3_600_000_000);
  assert.deepEqual(out.map(pick), [
    ['1m', 60_000_000, 120_000_000, 110, 110, 110, 110, 5, 550, 1, 6],
    ['1h', 0, 3_600_000_000, 100, 110, 95, 110, 16, 595 + 404 + 99 + 550, 6, 7],
  ]);
  out.length = 0;
  candles.flush(10 * 3_600_000_000); // nothing open
  assert.equal(out.length, 0);
  // Instruments are independent.
  candles.onTrade(2, 50, 1, 10_000_000);
  candles.onTrade(1, 60, 1, 10_000_000);
  candles.flush(11_000_000);
  assert.deepEqual(out.map((m) => [m.instrument, m.interval, m.open, m.sequence]), [[1, '1s', 60, 8], [2, '1s', 50, 1]]);

  // Through the publisher: a flush between commands is delivered at once.
  const pub = new MarketDataPublisher();
  const sub = pub.createSubscriber();
  sub.subscribe(3, 'candles');
  pub.onRecord(eventRecord('Trade', { instrument: 3, price: 10, quantity: 2, makerOrderId: 1, takerOrderId: 2, aggressorSide: Side.Buy }, 1, 5_000_000), 0);
  pub.onRecord(eventRecord('Trade', { instrument: 3, price: 12, quantity: 1, makerOrderId: 1, takerOrderId: 2, aggressorSide: Side.Buy }, 2, 5_000_000), 0);
  pub.endCommand();
  assert.equal(sub.pendingMessages, 0);
  pub.flushCandles(6_000_000);
  assert.deepEqual(sub.drain().map((m) => m.type === 'candle' && [m.interval, m.open, m.high, m.low, m.close, m.volume, m.notional, m.trades]), [['1s', 10, 12, 10, 12, 3, 32, 2]]);
});

test('3b. candles: an open candle read with openCandle and re-opened with restoreOpen goes on as if never interrupted', () => {
  const trades: Array<[number, number, number]> = [[1_000_100, 100, 1], [1_500_000, 105, 2], [59_000_000, 97, 3], [61_000_000, 110, 5], [61_500_000, 90, 1]];
  const pick = (m: CandleMessage) => [m.interval, m.start, m.open, m.high, m.low, m.close, m.volume, m.notional, m.trades];
  const whole: CandleMessage[] = [];
  const a = new CandleBuilder((m) => whole.push(m as CandleMessage));
  for (const [t, p, q] of trades) a.onTrade(1, p, q, t);
  a.flush(3_600_000_000);
  const resumed: CandleMessage[] = [];
  const first = new CandleBuilder((m) => resumed.push(m as CandleMessage));
  for (const [t, p, q] of trades.slice(0, 3)) first.onTrade(1, p, q, t);
  assert.equal(first.openCandle(2, 1_000_000), undefined, 'nothing open for another instrument');
  assert.equal(first.openCandle(1, 5_000_000), undefined, 'no such interval');
  assert.deepEqual(first.openCandle(1, 60_000_000), { start: 0, open: 100, high: 105, low: 97, close: 97, volume: 6, notional: 100 + 210 + 291, trades: 3 });
  const second = new CandleBuilder((m) => resumed.push(m as CandleMessage));
  for (const interval of second.intervals) second.restoreOpen(1, interval, first.openCandle(1, interval)!);
  for (const [t, p, q] of trades.slice(3)) second.onTrade(1, p, q, t);
  second.flush(3_600_000_000);
  assert.deepEqual(resumed.map(pick), whole.map(pick));
  assert.throws(() => second.restoreOpen(1, 60_000_000, { start: 1, open: 1, high: 1, low: 1, close: 1, volume: 1, notional: 1, trades: 1 }), RangeError);
  assert.throws(() => second.restoreOpen(1, 7, { start: 0, open: 1, high: 1, low: 1, close: 1, volume: 1, notional: 1, trades: 1 }), RangeError);
});

test('3b. candles from the engine: trades at command timestamps, closed by a Clock command', () => {
  const rig = new Rig();
  const h = rig.harness;
  const send = (name: 'NewOrder', fields: Record<string, number>, t: number) => {
    h.send(name, { account: 1, instrument: 1, clientOrderId: t, timeInForce: TimeInForce.GTC, orderType: OrderType.Limit, ...fields } as never, t);
    rig.publisher.onRecord(BATCH_END, 0);
  };
  rig.run({ name: 'AddInstrument', timestamp: 1_000_000, fields: { instrument: 1, symbolHead: 0x41 * 128 ** 6, tickSize: 1, lotSize: 1, bandBasisPoints: 0, maxOrderQuantity: 1e6, maxOrderNotional: 1e12, referencePrice: 100, settlementDays: 1 } });
  send('NewOrder', { side: Side.Sell, price: 100, quantity: 10 }, 5_000_000);
  send('NewOrder', { side: Side.Sell, price: 102, quantity: 10 }, 5_000_001);
  send('NewOrder', { account: 2, side: Side.Buy, price: 102, quantity: 15, selfTradePrevention: 1 }, 5_200_000); // 10@100, 5@102
  send('NewOrder', { account: 2, side: Side.Buy, price: 102, quantity: 2, selfTradePrevention: 1 }, 5_900_000); // 2@102
  assert.equal(rig.messages.filter((m) => m.channel === 'candles').length, 0);
  rig.run({ name: 'Clock', timestamp: 6_000_000, fields: {} });
  const closed = rig.messages.filter((m): m is CandleMessage => m.channel === 'candles');
  assert.deepEqual(closed.map((m) => [m.interval, m.start, m.open, m.high, m.low, m.close, m.volume, m.trades]), [['1s', 5_000_000, 100, 102, 100, 102, 17, 3]]);
  const trades = rig.messages.filter((m) => m.channel === 'trades');
  assert.deepEqual(trades.map((m) => m.sequence), [1, 2, 3]);
});

// ------------------------------------------------------------------------ 4

test('4. BBO is published only when best price or size changes', () => {
  const rig = new Rig();
  const h = rig.harness;
  const bbos = () => rig.messages.filter((m) => m.channel === 'bbo').map((m) => m.type === 'bbo' && [m.bidPrice, m.bidQuantity, m.askPrice, m.askQuantity]);
  const step = (f: () => unknown) => {
    f();
    rig.publisher.onRecord(BATCH_END, 0);
  };
  step(() => h.addInstrument({ bandBasisPoints: 0 }));
  assert.deepEqual(bbos(), []);
  step(() => h.buy(100, 10)); // order 1
  step(() => h.buy(99, 5)); // 2: not best
  step(() => h.sell(105, 3)); // 3
  step(() => h.cancel(2)); // not best
  step(() => h.buy(100, 1)); // 4: best size 11
  step(() => h.buy(0, 1)); // rejected
  step(() => h.replace(4, 100, 1)); // no change at all
  step(() => h.sell(106, 4)); // behind the best ask
  step(() => h.sell(100, 11, { account: 2 })); // takes the whole best bid: bid is gone
  step(() => h.cancel(3));
  assert.deepEqual(bbos(), [[100, 10, 0, 0], [100, 10, 105, 3], [100, 11, 105, 3], [0, 0, 105, 3], [0, 0, 106, 4]]);
  const sequences = rig.messages.filter((m) => m.channel === 'bbo').map((m) => m.sequence);
  assert.deepEqual(sequences, [1, 2, 3, 4, 5]);
  assert.deepEqual(rig.publisher.bboSnapshot(1).sequence, 5);

  // Over a random flow: every BBO differs from the previous one and matches the book after its command.
  const r = new Rig();
  const last = new Map<number, string>();
  for (const command of flow(21, 1500)) {
    const before = r.messages.length;
    r.run(command);
    for (const m of r.messages.slice(before)) {
      if (m.type !== 'bbo') continue;
      const key = `${m.bidPrice}/${m.bidQuantity}/${m.askPrice}/${m.askQuantity}`;
      assert.notEqual(key, last.get(m.instrument));
      last.set(m.instrument, key);
    }
    for (const instrument of [1, 2]) {
      const bid = r.publisher.view.levels(instrument, Side.Buy, 1)[0];
      const ask = r.publisher.view.levels(instrument, Side.Sell, 1)[0];
      const key = `${bid?.price ?? 0}/${bid?.quantity ?? 0}/${ask?.price ?? 0}/${ask?.quantity ?? 0}`;
      assert.equal(last.get(instrument) ?? '0/0/0/0', key);
    }
  }
});

// ------------------------------------------------------------------------ 5

test('5. a slow subscriber is disconnected; the others keep receiving every message', () => {
  const slowSeen: number[] = [];
  const rig = new Rig({ onSlowConsumer: (s) => slowSeen.push(s.id) });
  const pub = rig.publisher;
  const slow = pub.createSubscriber({ maxPendingMessages: 50 });
  const slowBytes = pub.createSubscriber({ maxPendingBytes: 4096 });
  const fast = pub.createSubscriber({ maxPendingMessages: 500 });
  for (const s of [slow, slowBytes, fast]) {
    for (const channel of ['l2', 'trades', 'bbo', 'orders', 'status', 'candles'] as const) s.subscribe(1, channel);
  }
  const received: MarketDataMessage[] = [];
  let disconnectedAt = -1;
  flow(5, 1200).forEach((command, index) => {
    rig.run(command);
    received.push(...fast.drain());
    if (disconnectedAt < 0 && slow.status !== 'active') disconnectedAt = index;
  });
  assert.equal(slow.status, 'slow-consumer');
  assert.equal(slowBytes.status, 'slow-consumer');
  assert.equal(fast.status, 'active');
  assert.equal(slow.pendingMessages, 0);
  assert.deepEqual(slowSeen.sort(), [slow.id, slowBytes.id].sort());
  assert.deepEqual(pub.takeSlowConsumers().map((s) => s.id).sort(), [slow.id, slowBytes.id].sort());
  assert.equal(slow.delivered, 50);
  assert.ok(slowBytes.delivered * 48 <= 4096);
  assert.ok(disconnectedAt > 0 && disconnectedAt < 1000);
  assert.equal(pub.subscriberCount, 1);
  // The fast one got exactly every instrument-1 message, per channel in sequence.
  const expected = rig.messages.filter((m) => m.instrument === 1);
  assert.equal(received.length, expected.length);
  assert.deepEqual(received, expected);
  for (const channel of ['l2', 'trades', 'bbo', 'orders', 'status']) {
    const seqs = received.filter((m) => m.channel === channel).map((m) => m.sequence);
    assert.ok(seqs.length > 0, channel);
    assert.deepEqual(seqs, seqs.map((_, i) => i + 1), channel);
  }
  assert.throws(() => slow.subscribe(1, 'l2'), /slow-consumer/);
});

// ------------------------------------------------------------------------ order-level details

test('orders channel: adds after executions, replace with and without priority, replace that trades, stops', () => {
  const rig = new Rig();
  const h = rig.harness;
  const step = (f: () => unknown): OrderMessage[] => {
    const before = rig.messages.length;
    f();
    rig.publisher.onRecord(BATCH_END, 0);
    return rig.messages.slice(before).filter((m): m is OrderMessage => m.channel === 'orders');
  };
  const brief = (ms: OrderMessage[]) => ms.map((m) => `${m.type} ${m.orderId}` + (m.type === 'execute' ? ` ${m.quantity}/${m.leaves}` : m.type === 'replace' ? ` ${m.price}x${m.quantity}${m.priorityKept ? ' kept' : ''}` : ''));
  step(() => h.addInstrument({ bandBasisPoints: 0 }));
  assert.deepEqual(brief(step(() => h.sell(101, 5))), ['add 1']);
  assert.deepEqual(brief(step(() => h.sell(102, 5))), ['add 2']);
  assert.deepEqual(brief(step(() => h.buy(101, 8, { account: 2 }))), ['execute 1 5/0', 'add 3']);
  assert.deepEqual(brief(step(() => h.replace(2, 102, 4))), ['replace 2 102x4 kept']);
  assert.deepEqual(brief(step(() => h.replace(2, 103, 4))), ['replace 2 103x4']);
  // Replace the bid (3 @ 101) up through the ask at 103: it leaves, trades, rests the rest.
  assert.deepEqual(brief(step(() => h.replace(3, 103, 10, 2))), ['delete 3', 'execute 2 4/0', 'add 3']);
  // A stop-limit buy triggered by a trade at 103 enters as a limit at 104 and rests.
  assert.deepEqual(brief(step(() => h.order({ side: Side.Buy, orderType: OrderType.StopLimit, price: 104, stopPrice: 103, quantity: 2, account: 3 }))), ['add 4']);
  assert.deepEqual(brief(step(() => h.cancel(4, 3))), ['cancel 4']);
  // A sell stop-limit waits (last 103 > stop 102): invisible.
  assert.deepEqual(brief(step(() => h.order({ side: Side.Sell, orderType: OrderType.StopLimit, price: 99, stopPrice: 102, quantity: 2, account: 4 }))), []);
  assert.deepEqual(brief(step(() => h.sell(103, 1, { account: 5 }))), ['execute 3 1/0']); // order 6
  assert.deepEqual(brief(step(() => h.buy(102, 1, { account: 6 }))), ['add 7']);
  // A trade at 102 triggers the stop: it enters as a sell limit at 99 and rests after the trade.
  assert.deepEqual(brief(step(() => h.sell(102, 1, { account: 7 }))), ['execute 7 1/0', 'add 5']);
  // A market order never appears itself.
  assert.deepEqual(brief(step(() => h.order({ side: Side.Buy, orderType: OrderType.Market, quantity: 1, account: 8 }))), ['execute 5 1/1']);
  // Replaced down to its filled quantity: canceled (REPLACED_TO_FILLED).
  assert.deepEqual(brief(step(() => h.replace(5, 99, 1, 4))), ['cancel 5']);
  const snapshot = rig.publisher.orderSnapshot(1);
  assert.deepEqual(
    { bids: snapshot.bids, asks: snapshot.asks },
    { bids: rig.publisher.view.restingOrders(1, Side.Buy), asks: rig.publisher.view.restingOrders(1, Side.Sell) },
  );
});

test('subscribing in the middle of a command takes effect after it; snapshots carry the sequence they are valid at', () => {
  const rig = new Rig();
  const pub = rig.publisher;
  const h = rig.harness;
  const step = (f: () => unknown) => {
    f();
    pub.onRecord(BATCH_END, 0);
  };
  step(() => h.addInstrument());
  for (let i = 0; i < 6; i++) step(() => h.sell(101 + i, 3 + i, { account: 1 + i }));
  step(() => h.buy(99, 4, { account: 9 }));
  // Feed the next command record by record and subscribe between two of its events.
  const records: Float64Array[] = [];
  h.matcher.out.sink = { onEvents: (w, c) => { for (let i = 0; i < c; i++) records.push(w.slice(i * EVENT_WORDS, (i + 1) * EVENT_WORDS)); } };
  h.order({ side: Side.Buy, orderType: OrderType.Market, quantity: 15, account: 8 });
  assert.ok(records.length > 3, 'the market order traded several times');
  pub.onRecord(records[0], 0);
  pub.onRecord(records[1], 0);
  assert.equal(pub.inCommand, true);
  assert.throws(() => pub.orderSnapshot(1), /in progress/);
  const l2Mid = pub.snapshot(1); // the published book, valid at its sequence
  const sub = pub.createSubscriber();
  sub.subscribe(1, 'orders', { snapshot: true });
  sub.subscribe(1, 'l2', { snapshot: true });
  assert.equal(sub.pendingMessages, 0);
  for (const r of records.slice(2)) pub.onRecord(r, 0);
  pub.onRecord(BATCH_END, 0);
  const got = sub.drain();
  assert.deepEqual(got.map((m) => `${m.channel} ${m.type}`), ['orders snapshot', 'l2 snapshot']);
  assert.equal(got[1].sequence, l2Mid.sequence + 1);
  assert.deepEqual((got[0] as OrderBookSnapshot).bids, pub.view.restingOrders(1, Side.Buy));
  const client = new L2ClientBook(1);
  client.applySnapshot(l2Mid);
  const update = rig.messages.filter((m): m is L2Update => m.type === 'update' && m.instrument === 1).at(-1)!;
  assert.equal(update.sequence, l2Mid.sequence + 1);
  assert.equal(client.apply(update), 'applied');
  assert.deepEqual(client.levels(Side.Sell), (got[1] as L2Snapshot).asks);
});

// ------------------------------------------------------------------------ allocation

/**
 * Runs in a fresh process so that type feedback from the other tests (other
 * listeners, other record arrays) cannot leave the view's code less optimized than
 * it is in a market-data worker: the probe measures the view, not the test file.
 */
function allocationProbe(modules: Record<string, string>): { grown: number; retained: number; orders: number; live: number } {
  const { Matcher } = require(modules.matcher) as typeof import('../core/matcher');
  const { OrderBookView } = require(modules.view) as typeof import('../gateway/market-data/order-book-view');
  const { Commands, packSymbol } = require(modules.schema) as typeof import('../core/schema');
  const { encodeCommand } = require(modules.records) as typeof import('../core/record-objects');
  const v8 = require('node:v8') as typeof import('node:v8');
  const gc = (globalThis as unknown as { gc: () => void }).gc;
  const view = new OrderBookView();
  const matcher = new Matcher({
    limits: { maxOrders: 1 << 16, maxPriceLevels: 4096, maxLevelsPerSide: 1024, maxInstruments: 4, maxAccounts: 64, clientOrderIdWindow: 1 << 20 },
    sink: { onEvents: (w: Float64Array, c: number) => { for (let i = 0; i < c; i++) view.apply(w, i * 16); } },
  });
  const [symbolHead, symbolTail] = packSymbol('HEAP');
  matcher.process(encodeCommand('AddInstrument', {
    instrument: 1, symbolHead, symbolTail, tickSize: 1, lotSize: 1, bandBasisPoints: 0, maxOrderQuantity: 1e6, maxOrderNotional: 1e15, referencePrice: 1000,
  }), 0);
  const w = new Float64Array(16);
  const N = Commands.NewOrder.at;
  const X = Commands.CancelOrder.at;
  const queueIds = new Float64Array(1024);
  const queueAccounts = new Int32Array(1024);
  let head = 0;
  let tail = 0;
  let seed = 1;
  let clientOrderId = 0;
  const command = () => {
    matcher.process(w, 0);
    matcher.flush();
    view.endCommand();
    view.clearDirty();
  };
  // Limit (GTC, 1 in 8 IOC) orders around 1000 from 50 accounts; the oldest of 500 live ones is canceled.
  const drive = (n: number) => {
    for (let i = 0; i < n; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      const r = seed;
      const account = 1 + (r % 50);
      w.fill(0);
      w[0] = Commands.NewOrder.code;
      w[N.account] = account;
      w[N.instrument] = 1;
      w[N.clientOrderId] = ++clientOrderId;
      w[N.side] = (r >>> 12) & 1 ? 1 : 2;
      w[N.orderType] = 1;
      w[N.timeInForce] = (r >>> 13) % 8 === 0 ? 4 : 1;
      w[N.price] = 990 + ((r >>> 16) % 21);
      w[N.quantity] = 1 + ((r >>> 20) % 10);
      w[N.selfTradePrevention] = 1;
      const next = matcher.nextOrderId;
      command();
      if (matcher.nextOrderId > next) {
        queueIds[tail & 1023] = next;
        queueAccounts[tail & 1023] = account;
        tail++;
      }
      if (tail - head > 500) {
        w.fill(0);
        w[0] = Commands.CancelOrder.code;
        w[X.account] = queueAccounts[head & 1023];
        w[X.orderId] = queueIds[head & 1023];
        head++;
        command();
      }
    }
  };
  drive(150_000);
  gc();
  gc();
  const before = v8.getHeapStatistics().used_heap_size;
  drive(100_000);
  const grown = v8.getHeapStatistics().used_heap_size - before;
  gc();
  gc();
  const retained = v8.getHeapStatistics().used_heap_size - before;
  return { grown, retained, orders: view.orderCount, live: matcher.orderIndex.size };
}

test('the view allocates nothing per event in steady state (heap use with the view ≈ the matcher alone)', (t) => {
  const dist = path.join(__dirname, '..');
  const modules = {
    matcher: path.join(dist, 'core/matcher.js'), view: path.join(dist, 'gateway/market-data/order-book-view.js'),
    schema: path.join(dist, 'core/schema.js'), records: path.join(dist, 'core/record-objects.js'),
  };
  const code = `const probe = ${allocationProbe.toString()}; process.stdout.write(JSON.stringify(probe(${JSON.stringify(modules)})));`;
  const run = spawnSync(process.execPath, ['--expose-gc', '-e', code], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const { grown, retained, orders, live } = JSON.parse(run.stdout) as ReturnType<typeof allocationProbe>;
  assert.equal(orders, live);
  t.diagnostic(`heap growth ${grown} bytes over 100k commands, retained ${retained}`);
  // A view keyed by a Map measured ~8 MB here; the matcher alone ~1 MB (JIT and runtime noise).
  assert.ok(grown < 3 * 1024 * 1024, `heap grew ${grown} bytes over 100k commands`);
  assert.ok(retained < 1024 * 1024, `retained ${retained} bytes`);
});
