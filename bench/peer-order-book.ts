/**
 * The peer baseline: the same logical order flow replayed through
 * nodejs-order-book (one OrderBook per symbol).
 *
 * Mapping of the flow's commands onto the library's API:
 *   new limit GTC  -> book.limit({ id, side, size, price })            (timeInForce GTC)
 *   new limit IOC  -> book.limit({ id, side, size, price, timeInForce: 'IOC' })
 *   new market     -> book.market({ side, size })
 *   cancel         -> book.cancel(id)
 *   replace        -> book.modify(id, { price }) or book.modify(id, { size })
 * where id = String(engine order id) (the flow's clientOrderId equals the id the
 * engine assigns, see order-flow.ts), prices and sizes are the same integers.
 *
 * To be fair to the peer, the option objects are built once, outside the timed
 * loop (the engine likewise reads prebuilt records); the timed loop only
 * dispatches calls. The library does not mutate its option objects, so the same
 * prepared operations are replayed by every run.
 *
 * Known semantic differences (they do not change the work done much):
 *  - a quantity-down replace keeps time priority in the engine, the library always
 *    re-queues a modified order at the back;
 *  - the engine bounds market orders by the price band; the flow never rests
 *    orders outside the band, so this never bites;
 *  - the library keeps no accounts and reports results as allocated objects
 *    (arrays of done/partial orders) instead of events in a preallocated buffer.
 */
import { OrderBook, Side as PeerSide } from 'nodejs-order-book';
import type { LimitOrderOptions, MarketOrderOptions, OrderUpdatePrice, OrderUpdateSize } from 'nodejs-order-book';
import { OrderType, Side, TimeInForce } from '../core/codes';
import { COMMAND_WORDS, Commands } from '../core/schema';
import { FlowKind, OrderFlow } from './order-flow';

export const PeerOp = { Limit: 1, Market: 2, Cancel: 3, Modify: 4 } as const;

export interface PeerOps {
  readonly count: number;
  readonly op: Uint8Array;
  /** Book index (instrument - 1). */
  readonly book: Int32Array;
  readonly limitArgs: (LimitOrderOptions | undefined)[];
  readonly marketArgs: (MarketOrderOptions | undefined)[];
  readonly ids: (string | undefined)[];
  readonly updates: (OrderUpdatePrice | OrderUpdateSize | undefined)[];
  readonly books: number;
}

/** Translates flow commands [flow.setupCount, flow.setupCount + count) into peer operations (untimed). */
export function preparePeerOps(flow: OrderFlow, count: number): PeerOps {
  const n = Math.min(count, flow.count - flow.setupCount);
  const op = new Uint8Array(n);
  const book = new Int32Array(n);
  const limitArgs: (LimitOrderOptions | undefined)[] = new Array(n).fill(undefined);
  const marketArgs: (MarketOrderOptions | undefined)[] = new Array(n).fill(undefined);
  const ids: (string | undefined)[] = new Array(n).fill(undefined);
  const updates: (OrderUpdatePrice | OrderUpdateSize | undefined)[] = new Array(n).fill(undefined);
  const w = flow.words;
  const NO = Commands.NewOrder.at;
  const CX = Commands.CancelOrder.at;
  const RP = Commands.ReplaceOrder.at;
  /** engine order id -> book index, for cancels and replaces. */
  const bookOf = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const c = flow.setupCount + i;
    const o = c * COMMAND_WORDS;
    const kind = flow.kinds[c];
    if (kind === FlowKind.Limit || kind === FlowKind.Ioc || kind === FlowKind.Market) {
      const b = w[o + NO.instrument] - 1;
      const side = w[o + NO.side] === Side.Buy ? PeerSide.BUY : PeerSide.SELL;
      const size = w[o + NO.quantity];
      const id = w[o + NO.clientOrderId];
      book[i] = b;
      bookOf.set(id, b);
      if (w[o + NO.orderType] === OrderType.Market) {
        op[i] = PeerOp.Market;
        marketArgs[i] = { side, size };
      } else {
        op[i] = PeerOp.Limit;
        const args: LimitOrderOptions = { id: String(id), side, size, price: w[o + NO.price] };
        if (w[o + NO.timeInForce] === TimeInForce.IOC) args.timeInForce = 'IOC' as LimitOrderOptions['timeInForce'];
        limitArgs[i] = args;
      }
    } else if (kind === FlowKind.Cancel) {
      const id = w[o + CX.orderId];
      op[i] = PeerOp.Cancel;
      book[i] = bookOf.get(id) ?? 0;
      ids[i] = String(id);
    } else if (kind === FlowKind.Replace) {
      const id = w[o + RP.orderId];
      op[i] = PeerOp.Modify;
      book[i] = bookOf.get(id) ?? 0;
      ids[i] = String(id);
      const price = w[o + RP.price];
      updates[i] = price !== 0 ? { price } : { size: w[o + RP.quantity] };
    } else {
      throw new Error(`peer: unexpected flow kind ${kind} at command ${c}`);
    }
  }
  return { count: n, op, book, limitArgs, marketArgs, ids, updates, books: flow.instruments.length };
}

export function newPeerBooks(ops: PeerOps): OrderBook[] {
  const books: OrderBook[] = [];
  for (let i = 0; i < ops.books; i++) books.push(new OrderBook());
  return books;
}

/** Applies operation i. Returns a small number so the call cannot be optimised away. */
export function applyPeerOp(books: OrderBook[], ops: PeerOps, i: number): number {
  const b = books[ops.book[i]];
  switch (ops.op[i]) {
    case PeerOp.Limit: return b.limit(ops.limitArgs[i]!).done.length;
    case PeerOp.Market: return b.market(ops.marketArgs[i]!).done.length;
    case PeerOp.Cancel: return b.cancel(ops.ids[i]!) === undefined ? 0 : 1;
    default: return b.modify(ops.ids[i]!, ops.updates[i]!).done.length;
  }
}

/** Replays ops [0, count) on fresh books; returns elapsed nanoseconds. */
export function timePeer(ops: PeerOps, count = ops.count): { ns: number; sink: number; books: OrderBook[] } {
  const books = newPeerBooks(ops);
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) sink += applyPeerOp(books, ops, i);
  const ns = Number(process.hrtime.bigint() - t0);
  return { ns, sink, books };
}

export interface PeerCheck {
  /** Cancels whose order the library no longer had (filled in a different order, or divergence). */
  cancelMisses: number;
  /** Modifies the library refused. */
  modifyErrors: number;
  /** Per book: resting [bid volume, ask volume]. */
  volumes: Array<[number, number]>;
}

/** An untimed pass that records how well the peer tracked the flow. */
export function checkPeer(ops: PeerOps): PeerCheck {
  const books = newPeerBooks(ops);
  let cancelMisses = 0;
  let modifyErrors = 0;
  for (let i = 0; i < ops.count; i++) {
    const b = books[ops.book[i]];
    switch (ops.op[i]) {
      case PeerOp.Limit: b.limit(ops.limitArgs[i]!); break;
      case PeerOp.Market: b.market(ops.marketArgs[i]!); break;
      case PeerOp.Cancel: if (b.cancel(ops.ids[i]!) === undefined) cancelMisses++; break;
      default: if (b.modify(ops.ids[i]!, ops.updates[i]!).err !== null) modifyErrors++;
    }
  }
  const volumes = books.map((b): [number, number] => {
    const [asks, bids] = b.depth();
    const sum = (levels: Array<[number, number]>) => levels.reduce((s, [, v]) => s + v, 0);
    return [sum(bids), sum(asks)];
  });
  return { cancelMisses, modifyErrors, volumes };
}
