/**
 * Properties of the real Matcher over random command streams (fast-check; streams
 * from test/reference/order-flow.ts, shrunk by dropping or simplifying steps):
 *
 *   (a) the book is never crossed after a command;
 *   (b) every order's quantity is conserved: last total = filled + canceled + open;
 *   (c) price-time priority: each Trade's maker is the best-priced, earliest resting
 *       order on its side at that moment, and the trade prints at the maker's price;
 *   (d) determinism: two fresh engines produce byte-identical event records.
 *
 * (b) and (c) track the book from the events alone (BookTracker) and check, after
 * every command, that the tracked book is exactly the engine's book (harness.depth).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Matcher } from '../core/matcher';
import { OrderType, Side, TimeInForce } from '../core/codes';
import { CollectingSink, CommandObject, EventObject } from '../core/record-objects';
import { Harness } from './helpers/harness';
import { FLOW_LIMITS, encodeCommandObject, streamFromSteps } from './reference/order-flow';

const streams = fc
  .record({
    setup: fc.integer({ min: 0, max: 0xffffffff }),
    steps: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 200, size: 'max' }),
  })
  .map(({ setup, steps }) => streamFromSteps(setup, steps));

type Depth = ReturnType<Harness['depth']>;

/** Drives a Harness (the real Matcher) one command object at a time. */
class Engine {
  readonly harness = new Harness({ limits: { ...FLOW_LIMITS } });
  readonly instruments = new Set<number>();

  process(command: CommandObject): EventObject[] {
    this.harness.matcher.process(encodeCommandObject(command), 0);
    this.harness.matcher.flush();
    const events = this.harness.sink.take();
    for (const e of events) if (e.type === 'InstrumentAdded') this.instruments.add(e.instrument as number);
    return events;
  }

  depth(side: number, instrument: number): Depth {
    return this.harness.depth(side, instrument);
  }
}

interface TrackedOrder {
  id: number;
  instrument: number;
  side: number;
  type: number;
  timeInForce: number;
  price: number;
  quantity: number;
  filled: number;
  canceled: number;
  leaves: number;
  pendingStop: boolean;
  closed: boolean;
}

interface Resting {
  id: number;
  price: number;
}

const describe = (command: CommandObject, index: number) => `command #${index} ${JSON.stringify(command)}`;

/**
 * The book as the events describe it. Each check failure is thrown as an Error whose
 * message starts with the property letter, so each test can tell its own failures.
 */
class BookTracker {
  readonly orders = new Map<number, TrackedOrder>();
  /** Per instrument, per side: resting orders, best price first, FIFO within a price. */
  readonly books = new Map<number, { [side: number]: Resting[] }>();
  private aggressor: TrackedOrder | null = null;

  constructor(private readonly where: () => string) {}

  private fail(property: string, message: string): never {
    throw new Error(`(${property}) ${message} at ${this.where()}`);
  }

  private book(instrument: number, side: number): Resting[] {
    let books = this.books.get(instrument);
    if (books === undefined) {
      books = { [Side.Buy]: [], [Side.Sell]: [] };
      this.books.set(instrument, books);
    }
    return books[side];
  }

  private remove(order: TrackedOrder): void {
    const side = this.book(order.instrument, order.side);
    const at = side.findIndex((r) => r.id === order.id);
    if (at >= 0) side.splice(at, 1);
  }

  private order(id: number): TrackedOrder {
    const order = this.orders.get(id);
    if (order === undefined) this.fail('b', `event names order ${id} that was never accepted`);
    return order;
  }

  /** The previous aggressor is done: whatever is still open must rest at the back of its level. */
  private finishAggressor(): void {
    const order = this.aggressor;
    this.aggressor = null;
    if (order === null || order.closed || order.leaves === 0) return;
    const restable = order.timeInForce === TimeInForce.GTC || order.timeInForce === TimeInForce.DAY || order.timeInForce === TimeInForce.GTD;
    if (order.type !== OrderType.Limit || !restable) {
      this.fail('b', `order ${order.id} (type ${order.type}, tif ${order.timeInForce}) kept ${order.leaves} open without resting or a cancel`);
    }
    const side = this.book(order.instrument, order.side);
    const better = (r: Resting) => (order.side === Side.Buy ? r.price >= order.price : r.price <= order.price);
    let at = 0;
    while (at < side.length && better(side[at])) at++;
    side.splice(at, 0, { id: order.id, price: order.price });
  }

  private startAggressor(order: TrackedOrder): void {
    this.finishAggressor();
    this.aggressor = order;
  }

  apply(e: EventObject): void {
    const n = (key: string) => e[key] as number;
    switch (e.type) {
      case 'OrderAccepted': {
        const type = n('orderType');
        const order: TrackedOrder = {
          id: n('orderId'), instrument: n('instrument'), side: n('side'), type, timeInForce: n('timeInForce'), price: n('price'),
          quantity: n('quantity'), filled: 0, canceled: 0, leaves: n('quantity'), pendingStop: false, closed: false,
        };
        this.orders.set(order.id, order);
        if (type === OrderType.Stop || type === OrderType.StopLimit) order.pendingStop = true;
        else this.startAggressor(order);
        break;
      }
      case 'StopTriggered': {
        const order = this.order(n('orderId'));
        if (!order.pendingStop) this.fail('b', `StopTriggered for order ${order.id}, which is not a pending stop`);
        order.pendingStop = false;
        order.type = order.type === OrderType.StopLimit ? OrderType.Limit : OrderType.Market;
        this.startAggressor(order);
        break;
      }
      case 'OrderReplaced': {
        const order = this.order(n('orderId'));
        if (order.closed) this.fail('b', `order ${order.id} replaced after it closed`);
        if (n('leavesQuantity') !== n('quantity') - order.filled) {
          this.fail('b', `order ${order.id} replaced to ${n('quantity')} with ${order.filled} filled but leaves ${n('leavesQuantity')}`);
        }
        order.quantity = n('quantity');
        order.leaves = n('leavesQuantity');
        order.price = n('price');
        if (n('priorityKept') === 0) {
          this.remove(order);
          this.startAggressor(order);
        }
        break;
      }
      case 'Trade': this.trade(e); break;
      case 'OrderCanceled': {
        const order = this.order(n('orderId'));
        if (order.closed) this.fail('b', `order ${order.id} canceled after it closed`);
        if (n('canceledQuantity') !== order.leaves) {
          this.fail('b', `order ${order.id} canceled ${n('canceledQuantity')} but had ${order.leaves} open`);
        }
        order.canceled += n('canceledQuantity');
        order.leaves = 0;
        order.closed = true;
        order.pendingStop = false;
        this.remove(order);
        break;
      }
      default: break;
    }
  }

  private trade(e: EventObject): void {
    const n = (key: string) => e[key] as number;
    const maker = this.order(n('makerOrderId'));
    const taker = this.order(n('takerOrderId'));
    const quantity = n('quantity');
    if (this.aggressor !== taker) this.fail('c', `trade taker ${taker.id} is not the current aggressor ${this.aggressor?.id}`);
    if (n('aggressorSide') !== taker.side || maker.side === taker.side) this.fail('c', `trade sides are wrong`);
    const side = this.book(maker.instrument, maker.side);
    const head = side[0];
    if (head === undefined || head.id !== maker.id) {
      this.fail('c', `trade maker ${maker.id} is not the best, earliest resting order ${head?.id} (book ${JSON.stringify(side.slice(0, 5))})`);
    }
    if (n('price') !== head.price) this.fail('c', `trade printed at ${n('price')}, not the maker's price ${head.price}`);
    if (!(quantity > 0) || quantity > maker.leaves || quantity > taker.leaves) {
      this.fail('b', `trade quantity ${quantity} with maker leaves ${maker.leaves}, taker leaves ${taker.leaves}`);
    }
    for (const [order, leaves] of [[maker, n('makerLeaves')], [taker, n('takerLeaves')]] as const) {
      order.filled += quantity;
      order.leaves -= quantity;
      if (order.leaves !== leaves) this.fail('b', `order ${order.id} has ${order.leaves} leaves by the books, event says ${leaves}`);
    }
    if (maker.leaves === 0) {
      side.shift();
      maker.closed = true;
    }
    if (taker.leaves === 0) taker.closed = true;
  }

  /** End of a command: the aggressor rests if it may. */
  endCommand(): void {
    this.finishAggressor();
  }
}

/** (a): best bid < best ask on every instrument. */
function checkNotCrossed(engine: Engine, where: string): void {
  for (const instrument of engine.instruments) {
    const bids = engine.depth(Side.Buy, instrument);
    const asks = engine.depth(Side.Sell, instrument);
    if (bids.length > 0 && asks.length > 0 && bids[0].price >= asks[0].price) {
      throw new Error(`(a) instrument ${instrument} crossed: best bid ${bids[0].price} >= best ask ${asks[0].price} at ${where}`);
    }
  }
}

/** (b), (c): the tracked book is the engine's book, and every order's quantity adds up. */
function checkBooksAndQuantities(engine: Engine, tracker: BookTracker, where: string): void {
  for (const instrument of engine.instruments) {
    for (const side of [Side.Buy, Side.Sell]) {
      const actual = engine.depth(side, instrument);
      const tracked = tracker.books.get(instrument)?.[side] ?? [];
      const levels: Array<{ price: number; quantity: number; orders: number[] }> = [];
      for (const resting of tracked) {
        const order = tracker.orders.get(resting.id) as TrackedOrder;
        const last = levels[levels.length - 1];
        if (last !== undefined && last.price === resting.price) {
          last.quantity += order.leaves;
          last.orders.push(resting.id);
        } else {
          levels.push({ price: resting.price, quantity: order.leaves, orders: [resting.id] });
        }
      }
      assert.deepEqual(actual, levels, `(c) instrument ${instrument} side ${side}: engine book differs from the book the events describe at ${where}`);
    }
  }
  const inBook = new Set<number>();
  for (const books of tracker.books.values()) for (const side of [Side.Buy, Side.Sell]) for (const r of books[side]) inBook.add(r.id);
  for (const order of tracker.orders.values()) {
    if (order.quantity !== order.filled + order.canceled + order.leaves) {
      throw new Error(`(b) order ${order.id}: quantity ${order.quantity} != filled ${order.filled} + canceled ${order.canceled} + open ${order.leaves} at ${where}`);
    }
    const open = order.leaves > 0 && !order.closed;
    if (open !== (inBook.has(order.id) || order.pendingStop)) {
      throw new Error(`(b) order ${order.id}: open ${order.leaves} but resting=${inBook.has(order.id)} pendingStop=${order.pendingStop} at ${where}`);
    }
  }
}

function runTracked(commands: readonly CommandObject[], crossedOnly: boolean): void {
  const engine = new Engine();
  let where = '';
  const tracker = new BookTracker(() => where);
  commands.forEach((command, index) => {
    where = describe(command, index);
    const events = engine.process(command);
    checkNotCrossed(engine, where);
    if (crossedOnly) return;
    for (const event of events) tracker.apply(event);
    tracker.endCommand();
    checkBooksAndQuantities(engine, tracker, where);
  });
}

test('(a) the book is never crossed after a command', () => {
  fc.assert(fc.property(streams, (commands) => runTracked(commands, true)), { numRuns: 150, includeErrorInReport: true });
});

test('(b) quantity conservation and (c) price-time priority, tracked from the events against the engine book', () => {
  fc.assert(fc.property(streams, (commands) => runTracked(commands, false)), { numRuns: 200, includeErrorInReport: true });
});

test('(d) determinism: two fresh engines write byte-identical event records', () => {
  const run = (commands: readonly CommandObject[]) => {
    const sink = new CollectingSink();
    const matcher = new Matcher({ limits: { ...FLOW_LIMITS }, sink, echoCommands: true });
    for (const command of commands) {
      matcher.process(encodeCommandObject(command), 0);
      matcher.flush();
    }
    return sink.records;
  };
  fc.assert(
    fc.property(streams, (commands) => {
      const first = run(commands);
      const second = run(commands);
      assert.equal(first.length, second.length, 'record counts differ');
      for (let i = 0; i < first.length; i++) {
        const a = Buffer.from(first[i].buffer, first[i].byteOffset, first[i].byteLength);
        const b = Buffer.from(second[i].buffer, second[i].byteOffset, second[i].byteLength);
        if (!a.equals(b)) assert.fail(`record ${i} differs:\n  ${a.toString('hex')}\n  ${b.toString('hex')}`);
      }
    }),
    { numRuns: 100, includeErrorInReport: true },
  );
});
