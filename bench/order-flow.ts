/**
 * A seeded, realistic order flow for the core benchmark, written ONCE into a
 * preallocated Float64Array of 16-word command records so the timed loops do no
 * generation at all.
 *
 * Shape of the flow (all draws from one seeded sfc32 PRNG, so a seed gives the
 * same bytes on every machine):
 *
 *  - Setup: one AddInstrument per symbol (band 2000 bp, generous max quantity and
 *    notional) at the start of the buffer; `setupCount` says how many.
 *  - Symbols: 8 by default, each with its own reference price, tick and lot.
 *    Activity per symbol follows a Pareto law (alpha 1.16, the "80/20" shape):
 *    symbol i gets the Pareto quantile weight (1 - (i + 0.5) / n) ^ (-1 / alpha),
 *    which for 8 symbols gives shares of about 43%, 17%, 11%, 8%, 6%, 5%, 5%, 4%.
 *  - Accounts: 500 by default; account = 1 + floor(accounts * u^3), so a handful of
 *    low-numbered "market maker" accounts send a large share of the flow.
 *  - Mix (per command, after setup; DEFAULT_MIX):
 *        55%  new limit GTC   (90% passive, 10% marketable: 1..3 ticks through the mid)
 *         5%  new market
 *        10%  new limit IOC   (priced 0..3 ticks through the mid)
 *        25%  cancel          (of a live order, by its owner)
 *         5%  replace         (75% re-price by 1..3 ticks: loses priority and
 *                              re-enters; 25% quantity-down on an unfilled order:
 *                              keeps priority)
 *    A cancel/replace that finds no live order on its symbol becomes a new limit
 *    order instead (counted as `fallbacks`; a handful, all in the first commands).
 *  - Prices: each symbol has a mid (in ticks) that follows a slow mean-reverting
 *    random walk around its reference price (sigma 0.1 tick per command on the
 *    symbol, kept within +-3%). A passive buy is placed at floor(mid) - d, a passive
 *    sell at ceil(mid) + d, with d = floor(3 * (P - 1)), P ~ Pareto(alpha 1.3): most
 *    orders within a few ticks of the touch, a heavy tail deep in the book. Every
 *    price is on tick and clamped to +-8% of the reference, which with a 20% band
 *    centred on the last trade means no order is ever outside the band and no
 *    trade can ever halt the instrument.
 *  - Quantities: whole lots, lots = 1 + floor(4 * (P - 1)), P ~ Pareto(alpha 1.5),
 *    capped at 250 lots (median 3 lots, mean ~8), same law for makers and takers.
 *  - Self-trade prevention is NONE on every order, so the engine matches exactly
 *    what the peer library (which has no accounts by default) matches.
 *  With these parameters the books reach a steady state of roughly 10K resting
 *  orders over ~1,100 price levels (all symbols), about 0.38 trades and 1.4 events
 *  per command.
 *
 * Liveness of cancel/replace targets. The generator runs the engine itself as an
 * oracle while it writes the flow: each command is processed right after it is
 * written, so the generator knows the exact order id the engine assigns (ids are
 * 1, 2, 3, ... in acceptance order) and which orders are still resting. Cancels and
 * replaces therefore always target live orders (the oracle checks, and the
 * bench verifies that the replay produces no CancelRejected). Targets are picked
 * with a recency bias: two random live orders of the symbol, the younger one wins.
 *
 * Every new order carries clientOrderId == the engine order id it will receive,
 * so a consumer that assigns its own ids (the peer library) can map cancels and
 * replaces without knowing the engine. The generator throws if the engine ever
 * rejects one of its new orders (that would break the mapping).
 */
import { OrderType, Side, SelfTradePrevention, TimeInForce } from '../core/codes';
import { EventSink } from '../core/event-buffer';
import type { EngineLimits } from '../core/limits';
import { Matcher } from '../core/matcher';
import { COMMAND_WORDS, Commands, EVENT_WORDS, eventByCode, packSymbol } from '../core/schema';

// ------------------------------------------------------------------ PRNG

/** sfc32: small, fast, good-quality 32-bit generator; fully determined by the seed. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 16; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Pareto(alpha) with scale 1: values >= 1, heavy tail. */
  pareto(alpha: number): number {
    return Math.pow(1 - this.next(), -1 / alpha);
  }

  /** Standard normal (Box-Muller, one of the pair). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

// ------------------------------------------------------------------ configuration

export interface InstrumentSpec {
  instrument: number;
  symbol: string;
  tickSize: number;
  lotSize: number;
  referencePrice: number;
  /** Share of the flow's commands that go to this symbol. */
  activity: number;
}

export interface FlowMix {
  limit: number;
  market: number;
  ioc: number;
  cancel: number;
  replace: number;
}

export const DEFAULT_MIX: FlowMix = Object.freeze({ limit: 0.55, market: 0.05, ioc: 0.1, cancel: 0.25, replace: 0.05 });

export interface FlowOptions {
  /** Commands after the AddInstrument setup. */
  commands: number;
  seed?: number;
  symbols?: number;
  accounts?: number;
  mix?: FlowMix;
  /** Pareto alpha of symbol activity. */
  symbolAlpha?: number;
  /** Share of replaces that reduce quantity (keeping priority) instead of re-pricing; default 0.25. */
  quantityDownShare?: number;
}

/**
 * Engine limits for the flow: maxOrders and clientOrderIdWindow are the engine's
 * defaults (DEFAULT_LIMITS); the rest is sized with room to spare for the default
 * flow (peaks are printed by the bench).
 */
export const FLOW_ENGINE_LIMITS: Partial<EngineLimits> = Object.freeze({
  maxOrders: 1 << 20,
  clientOrderIdWindow: 1 << 21,
  maxPriceLevels: 1 << 17,
  maxLevelsPerSide: 8192,
  maxInstruments: 64,
  maxAccounts: 4096,
  maxPositions: 1 << 16,
});

/** Kinds of flow commands (bench bookkeeping, not engine codes). */
export const FlowKind = { Setup: 0, Limit: 1, Market: 2, Ioc: 3, Cancel: 4, Replace: 5 } as const;
export const FLOW_KIND_NAMES = ['setup', 'limit', 'market', 'ioc', 'cancel', 'replace'] as const;

export interface FlowStats {
  /** Commands by FlowKind (after fallbacks). */
  byKind: number[];
  /** Cancels/replaces turned into new limits because the symbol had no live order. */
  fallbacks: number;
  /** Replaces that re-priced (the rest reduced quantity). */
  repriceReplaces: number;
  /** Commands per symbol (index = instrument - 1). */
  bySymbol: number[];
  /** Events the engine emitted for the whole flow, by event name. */
  eventsByName: Record<string, number>;
  totalEvents: number;
  trades: number;
  peakLiveOrders: number;
  peakPriceLevels: number;
  finalLiveOrders: number;
  /** Milliseconds spent generating (including the oracle pass). */
  generationMs: number;
}

export interface OrderFlow {
  /** Command records, COMMAND_WORDS words each; setup first. */
  readonly words: Float64Array;
  /** All commands, setup included. */
  readonly count: number;
  /** Leading AddInstrument commands. */
  readonly setupCount: number;
  /** FlowKind of each command. */
  readonly kinds: Uint8Array;
  readonly instruments: InstrumentSpec[];
  readonly limits: Partial<EngineLimits>;
  readonly seed: number;
  readonly mix: FlowMix;
  readonly stats: FlowStats;
}

const SYMBOL_TABLE: ReadonlyArray<{ symbol: string; referencePrice: number; tickSize: number; lotSize: number }> = [
  { symbol: 'ACME', referencePrice: 15_000, tickSize: 1, lotSize: 1 },
  { symbol: 'BOLT', referencePrice: 4_200, tickSize: 1, lotSize: 10 },
  { symbol: 'CRUX', referencePrice: 98_000, tickSize: 5, lotSize: 1 },
  { symbol: 'DYNA', referencePrice: 2_500, tickSize: 1, lotSize: 100 },
  { symbol: 'ECHO', referencePrice: 31_000, tickSize: 1, lotSize: 1 },
  { symbol: 'FLUX', referencePrice: 7_700, tickSize: 1, lotSize: 10 },
  { symbol: 'GRID', referencePrice: 150_000, tickSize: 10, lotSize: 1 },
  { symbol: 'HALO', referencePrice: 560, tickSize: 1, lotSize: 100 },
];

const BAND_BASIS_POINTS = 2000;
/** Prices stay within this fraction of the reference (see the band argument above). */
const PRICE_CLAMP = 0.08;
/** The mid wanders within this fraction of the reference. */
const MID_CLAMP = 0.03;
const MID_SIGMA_TICKS = 0.1;
const MID_REVERSION = 0.0005;
const MARKETABLE_LIMIT_SHARE = 0.1;
const MAX_LOTS = 250;
/** Passive distance from the touch: d = floor(DEPTH_SCALE * (Pareto(DEPTH_ALPHA) - 1)) ticks. */
const DEPTH_SCALE = 3;
const DEPTH_ALPHA = 1.3;

const QTY_DOWN_REPLACE_SHARE = 0.25;

/** Counts events by type code (the oracle's sink). */
class CountingSink implements EventSink {
  readonly counts = new Float64Array(256);
  onEvents(words: Float64Array, count: number): void {
    for (let i = 0; i < count; i++) this.counts[words[i * EVENT_WORDS] & 255]++;
  }
}

/** Pareto-quantile weights for n items, normalised to sum 1. */
function paretoShares(n: number, alpha: number): number[] {
  const raw: number[] = [];
  for (let i = 0; i < n; i++) raw.push(Math.pow(1 - (i + 0.5) / n, -1 / alpha));
  raw.sort((a, b) => b - a);
  const total = raw.reduce((s, x) => s + x, 0);
  return raw.map((x) => x / total);
}

/** Live order ids of one symbol, pruned lazily (filled orders are removed when picked). */
class LiveList {
  ids: Float64Array;
  length = 0;
  constructor(capacity: number) {
    this.ids = new Float64Array(Math.max(16, capacity));
  }
  push(id: number): void {
    if (this.length === this.ids.length) {
      const grown = new Float64Array(this.ids.length * 2);
      grown.set(this.ids);
      this.ids = grown;
    }
    this.ids[this.length++] = id;
  }
  removeAt(i: number): void {
    this.ids[i] = this.ids[--this.length];
  }
}

/**
 * Generates the flow. Runs the engine once as an oracle (see the file comment);
 * the returned stats are that pass's event counts.
 */
export function generateOrderFlow(options: FlowOptions): OrderFlow {
  const started = performance.now();
  const seed = options.seed ?? 20240611;
  const nSymbols = Math.min(options.symbols ?? 8, SYMBOL_TABLE.length);
  const nAccounts = options.accounts ?? 500;
  const mix = options.mix ?? DEFAULT_MIX;
  const mixTotal = mix.limit + mix.market + mix.ioc + mix.cancel + mix.replace;
  const cMarket = mix.limit / mixTotal;
  const cIoc = cMarket + mix.market / mixTotal;
  const cCancel = cIoc + mix.ioc / mixTotal;
  const cReplace = cCancel + mix.cancel / mixTotal;
  const rng = new Rng(seed);
  const quantityDownShare = options.quantityDownShare ?? QTY_DOWN_REPLACE_SHARE;
  const limits = FLOW_ENGINE_LIMITS;

  const shares = paretoShares(nSymbols, options.symbolAlpha ?? 1.16);
  const cumulative = new Float64Array(nSymbols);
  let acc = 0;
  for (let i = 0; i < nSymbols; i++) cumulative[i] = acc += shares[i];
  cumulative[nSymbols - 1] = 1;

  const instruments: InstrumentSpec[] = [];
  for (let i = 0; i < nSymbols; i++) {
    const s = SYMBOL_TABLE[i];
    instruments.push({ instrument: i + 1, symbol: s.symbol, tickSize: s.tickSize, lotSize: s.lotSize, referencePrice: s.referencePrice, activity: shares[i] });
  }

  const setupCount = nSymbols;
  const count = setupCount + options.commands;
  const words = new Float64Array(count * COMMAND_WORDS);
  const kinds = new Uint8Array(count);
  const sink = new CountingSink();
  const oracle = new Matcher({ limits, sink });
  let timestamp = 1_700_000_000_000_000; // µs
  let cursor = 0; // command index

  // --- setup
  const AI = Commands.AddInstrument.at;
  for (const spec of instruments) {
    const o = cursor * COMMAND_WORDS;
    const [head, tail] = packSymbol(spec.symbol);
    words[o] = Commands.AddInstrument.code;
    words[o + 1] = timestamp;
    words[o + AI.instrument] = spec.instrument;
    words[o + AI.symbolHead] = head;
    words[o + AI.symbolTail] = tail;
    words[o + AI.tickSize] = spec.tickSize;
    words[o + AI.lotSize] = spec.lotSize;
    words[o + AI.bandBasisPoints] = BAND_BASIS_POINTS;
    words[o + AI.maxOrderQuantity] = spec.lotSize * MAX_LOTS * 4;
    words[o + AI.maxOrderNotional] = 1e15;
    words[o + AI.referencePrice] = spec.referencePrice;
    words[o + AI.settlementDays] = 1;
    kinds[cursor] = FlowKind.Setup;
    oracle.process(words, o);
    cursor++;
  }
  oracle.flush();
  if (oracle.instruments.count !== nSymbols) throw new Error('order-flow: the engine refused an AddInstrument');

  // --- per-symbol state (prices in ticks)
  const refTicks = instruments.map((s) => s.referencePrice / s.tickSize);
  const mid = refTicks.slice();
  const lowTicks = refTicks.map((r) => Math.ceil(r * (1 - PRICE_CLAMP)));
  const highTicks = refTicks.map((r) => Math.floor(r * (1 + PRICE_CLAMP)));
  const live = instruments.map(() => new LiveList(1 << 16));

  const stats: FlowStats = {
    byKind: [nSymbols, 0, 0, 0, 0, 0], fallbacks: 0, repriceReplaces: 0, bySymbol: new Array<number>(nSymbols).fill(0),
    eventsByName: {}, totalEvents: 0, trades: 0, peakLiveOrders: 0, peakPriceLevels: 0, finalLiveOrders: 0, generationMs: 0,
  };

  const NO = Commands.NewOrder.at;
  const CX = Commands.CancelOrder.at;
  const RP = Commands.ReplaceOrder.at;
  const orders = oracle.orders;
  const index = oracle.orderIndex;

  const clampTicks = (s: number, t: number) => (t < lowTicks[s] ? lowTicks[s] : t > highTicks[s] ? highTicks[s] : t);
  const drawLots = () => Math.min(MAX_LOTS, 1 + Math.floor(4 * (rng.pareto(1.5) - 1)));
  const drawAccount = () => {
    const u = rng.next();
    return 1 + Math.floor(nAccounts * u * u * u);
  };

  /** A live order id of symbol s (recency-biased), or 0 when there is none. */
  const pickLive = (s: number): number => {
    const list = live[s];
    for (let attempt = 0; attempt < 64 && list.length > 0; attempt++) {
      const i = rng.int(list.length);
      const j = rng.int(list.length);
      const k = list.ids[i] >= list.ids[j] ? i : j;
      const id = list.ids[k];
      if (index.get(id) !== -1) return id;
      list.removeAt(k);
    }
    return 0;
  };

  const writeNewOrder = (o: number, s: number, side: number, type: number, tif: number, priceTicks: number, lots: number) => {
    const spec = instruments[s];
    words[o] = Commands.NewOrder.code;
    words[o + 1] = timestamp;
    words[o + 2] = 0;
    words[o + NO.account] = drawAccount();
    words[o + NO.instrument] = spec.instrument;
    words[o + NO.clientOrderId] = oracle.nextOrderId; // == the engine id it will get
    words[o + NO.side] = side;
    words[o + NO.orderType] = type;
    words[o + NO.timeInForce] = tif;
    words[o + NO.price] = type === OrderType.Market ? 0 : priceTicks * spec.tickSize;
    words[o + NO.quantity] = lots * spec.lotSize;
    words[o + NO.stopPrice] = 0;
    words[o + NO.selfTradePrevention] = SelfTradePrevention.None;
    words[o + NO.flags] = 0;
    words[o + NO.expireTime] = 0;
  };

  const passiveLimit = (o: number, s: number) => {
    const side = rng.next() < 0.5 ? Side.Buy : Side.Sell;
    let p: number;
    if (rng.next() < MARKETABLE_LIMIT_SHARE) {
      const through = 1 + rng.int(3);
      p = side === Side.Buy ? Math.floor(mid[s]) + through : Math.ceil(mid[s]) - through;
    } else {
      const d = Math.floor(DEPTH_SCALE * (rng.pareto(DEPTH_ALPHA) - 1));
      p = side === Side.Buy ? Math.floor(mid[s]) - d : Math.ceil(mid[s]) + d;
    }
    writeNewOrder(o, s, side, OrderType.Limit, TimeInForce.GTC, clampTicks(s, p), drawLots());
    return FlowKind.Limit;
  };

  for (let n = 0; n < options.commands; n++) {
    const o = cursor * COMMAND_WORDS;
    timestamp += 1 + (rng.u32() & 3);
    // symbol by Pareto activity
    const us = rng.next();
    let s = 0;
    while (cumulative[s] < us) s++;
    // move the symbol's mid: mean-reverting walk, clamped
    const r = refTicks[s];
    let m = mid[s] + MID_SIGMA_TICKS * rng.normal() - MID_REVERSION * (mid[s] - r);
    if (m < r * (1 - MID_CLAMP)) m = r * (1 - MID_CLAMP);
    if (m > r * (1 + MID_CLAMP)) m = r * (1 + MID_CLAMP);
    mid[s] = m;

    const u = rng.next();
    let kind: number;
    if (u < cMarket) {
      kind = passiveLimit(o, s);
    } else if (u < cIoc) {
      const side = rng.next() < 0.5 ? Side.Buy : Side.Sell;
      writeNewOrder(o, s, side, OrderType.Market, TimeInForce.IOC, 0, drawLots());
      kind = FlowKind.Market;
    } else if (u < cCancel) {
      const side = rng.next() < 0.5 ? Side.Buy : Side.Sell;
      const through = rng.int(4);
      const p = side === Side.Buy ? Math.floor(mid[s]) + through : Math.ceil(mid[s]) - through;
      writeNewOrder(o, s, side, OrderType.Limit, TimeInForce.IOC, clampTicks(s, p), drawLots());
      kind = FlowKind.Ioc;
    } else {
      const isCancel = u < cReplace;
      const id = pickLive(s);
      if (id === 0) {
        stats.fallbacks++;
        kind = passiveLimit(o, s);
      } else if (isCancel) {
        const slot = index.get(id);
        words[o] = Commands.CancelOrder.code;
        words[o + 1] = timestamp;
        words[o + CX.account] = orders.account[slot];
        words[o + CX.orderId] = id;
        kind = FlowKind.Cancel;
      } else {
        const slot = index.get(id);
        const spec = instruments[s];
        const quantity = orders.quantity[slot];
        const lots = quantity / spec.lotSize;
        words[o] = Commands.ReplaceOrder.code;
        words[o + 1] = timestamp;
        words[o + RP.account] = orders.account[slot];
        words[o + RP.orderId] = id;
        if (rng.next() < quantityDownShare && lots >= 2 && orders.leaves[slot] === quantity) {
          words[o + RP.price] = 0; // keep
          words[o + RP.quantity] = (1 + rng.int(lots - 1)) * spec.lotSize;
        } else {
          const oldTicks = orders.price[slot] / spec.tickSize;
          const step = 1 + rng.int(3);
          let p = clampTicks(s, oldTicks + (rng.next() < 0.5 ? step : -step));
          if (p === oldTicks) p = oldTicks + (oldTicks > lowTicks[s] ? -1 : 1);
          words[o + RP.price] = p * spec.tickSize;
          words[o + RP.quantity] = 0; // keep
          stats.repriceReplaces++;
        }
        kind = FlowKind.Replace;
      }
    }
    kinds[cursor] = kind;
    stats.byKind[kind]++;
    stats.bySymbol[s]++;

    // oracle: apply, learn the id, track liveness
    const expectedId = oracle.nextOrderId;
    oracle.process(words, o);
    if (kind === FlowKind.Limit || kind === FlowKind.Market || kind === FlowKind.Ioc) {
      if (oracle.nextOrderId !== expectedId + 1) {
        throw new Error(`order-flow: the engine rejected generated order #${n} (${FLOW_KIND_NAMES[kind]}); the flow's id mapping would break`);
      }
      if (index.get(expectedId) !== -1) live[s].push(expectedId);
    }
    if (orders.used > stats.peakLiveOrders) stats.peakLiveOrders = orders.used;
    if (oracle.levels.used > stats.peakPriceLevels) stats.peakPriceLevels = oracle.levels.used;
    cursor++;
  }
  oracle.flush();

  const eventsByName: Record<string, number> = {};
  let totalEvents = 0;
  for (let code = 0; code < 256; code++) {
    const c = sink.counts[code];
    if (c === 0) continue;
    eventsByName[eventByCode[code]?.name ?? `#${code}`] = c;
    totalEvents += c;
  }
  stats.eventsByName = eventsByName;
  stats.totalEvents = totalEvents;
  stats.trades = eventsByName.Trade ?? 0;
  stats.finalLiveOrders = orders.used;
  stats.generationMs = performance.now() - started;
  return { words, count, setupCount, kinds, instruments, limits, seed, mix, stats };
}
