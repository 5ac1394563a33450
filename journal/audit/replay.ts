/**
 * `replay --to`: rebuilds the engine's state at a point of the journal by re-executing every
 * command up to it (events checked on the way, exactly as `reexecute` does: a state query on
 * a journal the engine disagrees with would be a guess), then answers questions from the
 * engine's own tables: a book (L2 levels and every resting order, stops too) and an account
 * (cash, holds, positions with realized and unrealized P&L, open orders).
 */
import { NO_SLOT, OrderStatus } from '../../core/order-pool';
import { PositionField } from '../../core/positions';
import { Matcher } from '../../core/matcher';
import { PriceLadder } from '../../core/price-ladder';
import { commandByCode, Events, EVENT_WORDS } from '../../core/schema';
import { journalFault, notFound, usageError } from './errors';
import {
  accountStatusName, accountTypeName, beforeEnd, describePoint, instrumentStateName, orderTypeName, Point, sideName, timeInForceName, timeUtc,
} from './format';
import { Progress } from './progress';
import { Divergence, EngineConfig, Replayer, runJournal } from './reexecute';
import { AuditSource } from './source';

const E = Events;

export function formatDivergence(d: Divergence): string {
  return `divergence at sequence ${d.sequence} (event ${d.eventIndex} of the ${d.commandType} command in record ${d.recordFirstSequence}): `
    + `${d.eventType === '-' ? d.engineEventType : d.eventType}.${d.field}: journal ${d.journal}, engine ${d.engine}. ${d.detail}`;
}

export interface AsOf {
  /** Last event sequence applied (0: nothing). */
  sequence: number;
  time_utc: string;
  command: string;
  requested: string;
}

export interface ReplayState {
  replayer: Replayer;
  asOf: AsOf;
  /** Order id → acceptance time (µs) of live orders, when tracked. */
  acceptTimes: Map<number, number> | undefined;
}

/** Re-executes commands up to `to` (whole commands; see format.ts Range). Throws on divergence. */
export async function replayTo(
  source: AuditSource,
  config: EngineConfig,
  to: Point | undefined,
  options: { trackAcceptTimes?: boolean; progress?: Progress } = {},
): Promise<ReplayState> {
  const replayer = new Replayer(config);
  const acceptTimes = options.trackAcceptTimes === true ? new Map<number, number>() : undefined;
  options.progress?.setTotal(await source.lastSequence());
  await runJournal(source, replayer, {
    progress: options.progress,
    beforeGroup: (view) => beforeEnd(to, view.firstSequence, view.timestampMicros),
    afterGroup: acceptTimes === undefined ? undefined : (group) => trackAcceptTimes(acceptTimes, group.events, group.count),
  });
  options.progress?.finish(replayer.events);
  if (replayer.divergence !== undefined) {
    throw journalFault(`${formatDivergence(replayer.divergence)} — the state at that point cannot be trusted (run reexecute; check --risk and --limits)`, replayer.divergence.sequence);
  }
  const last = replayer.lastGroup;
  return {
    replayer,
    acceptTimes,
    asOf: {
      sequence: last?.lastSequence ?? 0,
      time_utc: last === undefined ? '' : timeUtc(last.timestampMicros),
      command: last === undefined ? '' : commandByCode[last.command[0]!]?.name ?? `#${last.command[0]}`,
      requested: describePoint(to),
    },
  };
}

function trackAcceptTimes(times: Map<number, number>, events: Float64Array, count: number): void {
  for (let i = 0; i < count; i++) {
    const o = i * EVENT_WORDS;
    const type = events[o]!;
    if (type === E.OrderAccepted.code) times.set(events[o + E.OrderAccepted.at.orderId]!, events[o + 2]!);
    else if (type === E.OrderCanceled.code) times.delete(events[o + E.OrderCanceled.at.orderId]!);
    else if (type === E.Trade.code) {
      if (events[o + E.Trade.at.makerLeaves] === 0) times.delete(events[o + E.Trade.at.makerOrderId]!);
      if (events[o + E.Trade.at.takerLeaves] === 0) times.delete(events[o + E.Trade.at.takerOrderId]!);
    }
  }
}

// ------------------------------------------------------------------ book

function ladderLevels(m: Matcher, ladder: PriceLadder | undefined, acceptTimes: Map<number, number> | undefined, stops: boolean) {
  const levels: Array<Record<string, unknown>> = [];
  const orders: Array<Record<string, unknown>> = [];
  if (ladder === undefined) return { levels, orders };
  const pool = m.orders;
  for (let i = ladder.count - 1; i >= 0; i--) {
    const level = ladder.levels[i]!;
    const price = m.levels.price[level]!;
    let count = 0;
    for (let slot = m.levels.head[level]!; slot !== NO_SLOT; slot = pool.next[slot]!) {
      count++;
      const orderId = pool.orderId[slot]!;
      const accepted = acceptTimes?.get(orderId);
      orders.push({
        levelPrice: price,
        queuePosition: count,
        orderId,
        account: pool.account[slot],
        clientOrderId: pool.clientOrderId[slot],
        side: sideName(pool.side[slot]!),
        orderType: orderTypeName(pool.orderType[slot]!),
        timeInForce: timeInForceName(pool.timeInForce[slot]!),
        price: pool.price[slot],
        ...(stops ? { stopPrice: pool.stopPrice[slot] } : {}),
        quantity: pool.quantity[slot],
        leavesQuantity: pool.leaves[slot],
        acceptedAt: accepted === undefined ? null : timeUtc(accepted),
      });
    }
    levels.push({ price, quantity: m.levels.quantity[level], orders: count });
  }
  return { levels, orders };
}

export function bookView(state: ReplayState, symbol: string): Record<string, unknown> {
  const m = state.replayer.matcher;
  const ins = m.instruments;
  const id = ins.bySymbol.get(symbol);
  if (id === undefined) throw notFound(`no instrument ${symbol} at ${state.asOf.requested}`);
  const bids = ladderLevels(m, ins.bids[id], state.acceptTimes, false);
  const asks = ladderLevels(m, ins.asks[id], state.acceptTimes, false);
  const buyStops = ladderLevels(m, ins.buyStops[id], state.acceptTimes, true);
  const sellStops = ladderLevels(m, ins.sellStops[id], state.acceptTimes, true);
  return {
    symbol,
    instrument: id,
    asOf: state.asOf,
    state: instrumentStateName(ins.state[id]!),
    tradeDate: m.tradeDate,
    lastPrice: ins.lastPrice[id],
    referencePrice: ins.referencePrice[id],
    bandLow: ins.bandLow[id],
    bandHigh: ins.bandHigh[id],
    bestBid: bids.levels[0]?.price ?? null,
    bestAsk: asks.levels[0]?.price ?? null,
    bids: bids.levels,
    asks: asks.levels,
    bidOrders: bids.orders,
    askOrders: asks.orders,
    buyStops: buyStops.orders,
    sellStops: sellStops.orders,
  };
}

// ------------------------------------------------------------------ account

export function accountView(state: ReplayState, account: number): Record<string, unknown> {
  const { replayer } = state;
  const risk = replayer.risk;
  if (risk === null) throw usageError('the journal was re-executed with --risk off: there are no accounts');
  const m = replayer.matcher;
  const a = risk.accounts;
  if (!a.exists(account)) throw notFound(`no account ${account} at ${state.asOf.requested}`);
  const p = risk.positions;
  const ins = m.instruments;
  const positions: Array<Record<string, unknown>> = [];
  let unrealized = 0;
  let marketValue = 0;
  for (let row = a.positionHead[account]!; row !== NO_SLOT; row = p.nextInAccount[row]!) {
    const instrument = p.get(row, PositionField.instrument);
    const quantity = p.get(row, PositionField.quantity);
    const mark = ins.lastPrice[instrument] || ins.referencePrice[instrument]!;
    const value = quantity * mark;
    const costBasis = p.get(row, PositionField.costBasis);
    unrealized += value - costBasis;
    marketValue += value;
    positions.push({
      symbol: ins.symbol[instrument],
      quantity,
      costBasis,
      averagePrice: quantity === 0 ? 0 : costBasis / quantity,
      mark,
      marketValue: value,
      unrealizedPnl: value - costBasis,
      realizedPnl: p.get(row, PositionField.realizedPnl),
      openBuyQuantity: p.get(row, PositionField.openBuy),
      openSellQuantity: p.get(row, PositionField.openSell),
    });
  }
  positions.sort((x, y) => String(x.symbol).localeCompare(String(y.symbol)));
  const openOrders: Array<Record<string, unknown>> = [];
  const pool = m.orders;
  for (let slot = pool.accountHead[account]!; slot !== NO_SLOT; slot = pool.accountNext[slot]!) {
    openOrders.push({
      orderId: pool.orderId[slot],
      symbol: ins.symbol[pool.instrument[slot]!],
      side: sideName(pool.side[slot]!),
      orderType: orderTypeName(pool.orderType[slot]!),
      status: pool.status[slot] === OrderStatus.PendingStop ? 'PendingStop' : 'Resting',
      price: pool.price[slot],
      stopPrice: pool.stopPrice[slot],
      quantity: pool.quantity[slot],
      leavesQuantity: pool.leaves[slot],
      heldCash: pool.reservedCash[slot],
    });
  }
  openOrders.sort((x, y) => (x.orderId as number) - (y.orderId as number));
  const cash = a.cash[account]!;
  return {
    account,
    asOf: state.asOf,
    status: accountStatusName(a.status[account]!),
    type: accountTypeName(a.accountType[account]!),
    cash,
    heldCash: a.reserved[account],
    unsettledProceeds: a.unsettledProceeds[account],
    buyingPower: risk.buyingPower(account),
    withdrawable: risk.withdrawable(account),
    realizedPnl: a.realizedPnl[account],
    unrealizedPnl: unrealized,
    positionsMarketValue: marketValue,
    equity: cash + marketValue,
    isFeeAccount: risk.feeAccount === account,
    positions,
    openOrders,
  };
}
