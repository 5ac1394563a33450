/**
 * The retail broker (issue 9): one service of the supervisor with one outbound-ring
 * consumer. It reads the durable events of its customers' accounts from the ring
 * (orders, fills, cash, positions, account status) into its SQLite read models, and
 * the last trade price of every instrument (portfolio marks, price alerts). Orders go
 * to the exchange through ONE order-entry session (a key with the `broker`
 * permission, which also holds `backoffice` for account opening, KYC approval and
 * deposits). Depth comes from the market-data endpoint (MarketDataClient), relayed
 * to browsers over the broker's WebSocket. The HTTP API is in http-api.ts.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { ExchangeConfig, InstrumentConfig } from '../../core/runtime/config';
import type { ExchangeCore } from '../../core/runtime/exchange';
import type { Service, ServiceFactory } from '../../core/runtime/supervisor';
import { journalFileSemantics, readJournalFile } from '../../journal/sqlite-journal';
import { SpmcConsumer } from '../../core/ring';
import { ControlBlock, WorkerState } from '../../core/runtime/control-block';
import { COMMAND_ECHO_FLAG } from '../../core/event-buffer';
import { EVENT_WORDS, EventHeader, Events } from '../../core/schema';
import { AccountAction, AccountStatus, AccountType, CancelReason, nameOf, OrderType, RejectReason, Side, TimeInForce } from '../../core/codes';
import { ExchangeClient, ServerMessage } from '../client/exchange-client';
import { MarketDataClient } from '../client/market-data-client';
import { GatewayReject } from '../protocol/reject-codes';
import { BrokerStore, OrderRow, WithdrawalRow } from './store';
import { BrokerHttp } from './http-api';
import { EquityHistory } from './equity-history';
import { ChartCandles } from './chart-candles';
import { Mailer, OutboxMailer } from './outbox';
import { ENGINE_SEMANTICS_LATEST, EngineSemantics } from '../../core/engine-semantics';

export interface BrokerOptions {
  /** First account id the broker allocates to approved customers. */
  accountBase: number;
  sessionTtlMs: number;
  loginFailuresPerEmail: number;
  loginFailuresPerIp: number;
  loginWindowMs: number;
  requestsPerSecond: number;
  requestBurst: number;
  ordersPerSecond: number;
  orderBurst: number;
  maxBodyBytes: number;
  /** How long an API call waits for the exchange's answer before replying 202/503. */
  exchangeTimeoutMs: number;
  /** Chart candles kept in broker.db per instrument and interval (1s, 1m, 1h); older ones are deleted. */
  candlesKept: number;
  /** Withdrawal requests per user in any 24 hours (BROKER_LIMIT beyond). */
  withdrawalsPerDay: number;
  /** Lifetime of a password-reset token (single use). */
  resetTokenTtlMs: number;
  /** Lifetime of an e-mail verification token (single use). */
  verifyTokenTtlMs: number;
  /** Reset / verification mails per address and per IP within loginWindowMs (BROKER_MAIL_RATE_LIMITED beyond). */
  mailsPerEmail: number;
  mailsPerIp: number;
  /** Messages kept in the development outbox (broker.db). */
  outboxKept: number;
  /** Days of each account's daily equity kept for the performance view (older ones are deleted). */
  equityDaysKept: number;
  /** Public URL of the terminal, for links in mails ('' = http://host:brokerPort). Never taken from a request's Host header. */
  publicUrl: string;
}

export const DEFAULT_BROKER_OPTIONS: BrokerOptions = {
  accountBase: 1000, sessionTtlMs: 12 * 3600_000, loginFailuresPerEmail: 5, loginFailuresPerIp: 20, loginWindowMs: 15 * 60_000,
  requestsPerSecond: 20, requestBurst: 40, ordersPerSecond: 5, orderBurst: 10, maxBodyBytes: 16_384, exchangeTimeoutMs: 5000,
  candlesKept: 1000, withdrawalsPerDay: 20, resetTokenTtlMs: 30 * 60_000, verifyTokenTtlMs: 24 * 3600_000, mailsPerEmail: 3, mailsPerIp: 20,
  outboxKept: 1000, publicUrl: '', equityDaysKept: 3660,
};

/**
 * Core references (Deposit/Withdraw.reference, the external bank reference the core
 * refuses to apply twice) are the broker's row ids above a base per kind, so the two
 * kinds never collide.
 */
export const DEPOSIT_REFERENCE_BASE = 1_000_000_000;
export const WITHDRAWAL_REFERENCE_BASE = 2_000_000_000;

export class BrokerError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details: Record<string, unknown> = {}) {
    super(message);
  }
}

export type Push = (userId: number, message: Record<string, unknown>) => void;

const ORDER_TYPES: Record<string, number> = { limit: OrderType.Limit, market: OrderType.Market, stop: OrderType.Stop, stop_limit: OrderType.StopLimit };
const OPEN_STATUSES = new Set(['pending', 'open', 'partially_filled', 'stop_pending']);

interface Waiter {
  resolve: (value: Record<string, unknown>) => void;
}

export function orderView(o: OrderRow): Record<string, unknown> {
  return {
    id: o.id, symbol: o.symbol, side: o.side, type: o.type, timeInForce: o.time_in_force, price: o.price, stopPrice: o.stop_price,
    quantity: o.quantity, filled: o.filled, leaves: o.leaves, averagePrice: o.filled > 0 ? Math.round((o.notional / o.filled) * 100) / 100 : null,
    status: o.status, reason: o.reason, createdAt: o.created_at, updatedAt: o.updated_at,
  };
}

export function withdrawalView(w: WithdrawalRow): Record<string, unknown> {
  return {
    id: w.id, amount: w.amount, bankReference: w.bank_reference, requestId: w.request_id, reference: WITHDRAWAL_REFERENCE_BASE + w.id,
    status: w.status, reason: w.reason, cashBalance: w.cash_balance, createdAt: w.created_at, updatedAt: w.updated_at,
  };
}

export class Broker implements Service {
  readonly name: string;
  readonly options: BrokerOptions;
  store?: BrokerStore;
  /** Chart candles (set at start, with the store). */
  candles?: ChartCandles;
  /** Where reset and verification mails go (the broker.db outbox unless a mailer was given). */
  mailer?: Mailer;
  private http?: BrokerHttp;
  private consumer?: SpmcConsumer;
  /** Last exchange event applied to broker.db (persisted with the read models, in the same transaction). */
  private appliedThrough = 0;
  /** What the journal's events carry (core/engine-semantics.ts): read from the journal at start. */
  private engineSemantics: EngineSemantics = ENGINE_SEMANTICS_LATEST;
  private control?: ControlBlock;
  private pumping?: Promise<void>;
  private stopping = false;
  private disposed = false;
  /** account -> user id of every customer account. */
  readonly owners = new Map<number, number>();
  readonly instruments: InstrumentConfig[];
  private readonly bySymbol = new Map<string, InstrumentConfig>();
  private readonly byId = new Map<number, InstrumentConfig>();
  readonly lastPrice = new Map<number, number>();
  /** Daily equity per account (performance over time). */
  equity?: EquityHistory;
  readonly depth = new Map<number, { bids: Array<[number, number]>; asks: Array<[number, number]>; at: number }>();
  private alertsByInstrument = new Map<number, Array<{ id: number; user_id: number; symbol: string; direction: string; price: number }>>();
  private readonly waiters = new Map<string, Waiter[]>();
  /** client sequence of the broker session -> waiter key of the request (for session-level Rejects). */
  private readonly sentBySequence = new Map<number, { key: string; orderId?: number; withdrawalId?: number }>();
  private tradeClient?: ExchangeClient;
  private opsClient?: ExchangeClient;
  private marketData?: MarketDataClient;
  private readonly timers: NodeJS.Timeout[] = [];
  push: Push = () => {};
  onPrice: (instrument: number) => void = () => {};
  onDepth: (instrument: number) => void = () => {};

  constructor(readonly config: ExchangeConfig, private readonly core: ExchangeCore | undefined, private readonly consumerIndex: number,
    readonly log: Logger, options: Partial<BrokerOptions> = {}, mailer?: Mailer) {
    this.mailer = mailer;
    this.options = { ...DEFAULT_BROKER_OPTIONS, ...options };
    this.name = `broker (port ${config.brokerPort})`;
    this.instruments = config.instruments;
    for (const i of config.instruments) {
      this.bySymbol.set(i.symbol, i);
      this.byId.set(i.id, i);
      this.lastPrice.set(i.id, i.referencePrice);
    }
  }

  instrument(symbol: unknown): InstrumentConfig {
    const found = typeof symbol === 'string' ? this.bySymbol.get(symbol.toUpperCase()) : undefined;
    if (found === undefined) throw new BrokerError(400, 'BROKER_UNKNOWN_SYMBOL', `unknown symbol ${JSON.stringify(symbol)}`, { field: 'symbol' });
    return found;
  }

  /**
   * Under engine semantics 1 (a journal written before semantics 2) a fill shrinks its order's
   * hold without an event (only CashReserved / CashReleased carry the total), so `reserved` can
   * stay high after fills. An account with no working order holds nothing, exactly: then the
   * read model says so. Under 2, PositionChanged carries the total and this is not needed.
   */
  private releaseHoldsIfIdle(userId: number, account: number): void {
    if (this.engineSemantics >= 2) return;
    const store = this.store!;
    if (store.orders(userId, { status: 'open' }, 1).length === 0) store.setReserved(account, 0);
  }

  /** Cash plus positions at the last trade prices (the portfolio's equity). */
  equityOf(account: number): number {
    const store = this.store!;
    let equity = store.cash(account).balance;
    for (const p of store.positions(account)) equity += p.quantity * (this.lastPrice.get(p.instrument) ?? 0);
    return equity;
  }

  instrumentById(id: number): InstrumentConfig | undefined {
    return this.byId.get(id);
  }

  async start(): Promise<void> {
    const directory = this.config.dataDirectory;
    if (!existsSync(directory)) mkdirSync(directory, { recursive: true });
    this.store = new BrokerStore(path.join(directory, 'broker.db'));
    this.candles = new ChartCandles(this.store, this.options.candlesKept);
    this.equity = new EquityHistory(this.store.db, this.options.equityDaysKept);
    this.mailer ??= new OutboxMailer(this.store, this.options.outboxKept);
    for (const { id, account } of this.store.accounts()) this.owners.set(account, id);
    if (this.core !== undefined) {
      this.engineSemantics = journalFileSemantics(path.join(directory, 'journal.db'));
      await this.catchUp();
      this.consumer = SpmcConsumer.attach(this.core.outbound.buffer, this.consumerIndex);
      this.control = this.core.control;
      this.pumping = this.pump().catch((error: Error) => this.log.error({ err: error }, 'broker: ring pump failed'));
    }
    this.reloadAlerts();
    this.http = new BrokerHttp(this);
    try {
      await this.http.listen(this.config.host, this.config.brokerPort);
    } catch (error) {
      // The exchange keeps running without its broker front end (the ring is still drained).
      this.log.error({ err: error, port: this.config.brokerPort }, 'broker: cannot listen; broker API disabled');
      this.http = undefined;
      return;
    }
    const sweep = setInterval(() => this.http?.sweep(), 60_000);
    sweep.unref();
    this.timers.push(sweep);
    void this.connectTrading();
    void this.connectMarketData();
  }

  get port(): number {
    return this.http?.port ?? 0;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    await this.http?.close();
    await Promise.allSettled([this.tradeClient?.close(), this.opsClient?.close(), this.marketData?.close()]);
  }

  async dispose(): Promise<void> {
    this.stopping = true;
    await this.pumping;
    this.disposed = true;
    this.store?.close();
  }

  // ------------------------------------------------------------ exchange connections

  private keyFor(permission: string): { keyId: number; apiSecret: string; permissions: string[] } | undefined {
    return this.config.demoAccounts.find((a) => (a.permissions as string[]).includes(permission));
  }

  private clientFor(key: { keyId: number; apiSecret: string }): ExchangeClient {
    const port = this.config.orderEntryBasePort + (key.keyId % this.config.gatewayWorkers);
    const client = new ExchangeClient({ url: `ws://127.0.0.1:${port}`, keyId: key.keyId, secret: key.apiSecret, cancelOnDisconnect: false });
    client.keepReceived = false;
    client.on('error', () => {});
    return client;
  }

  /**
   * Logs on the broker's one session (the key with the `broker` permission; with
   * `backoffice` it also opens and funds customer accounts) and reconnects while
   * running. The operators' ops key is left alone: one session per key.
   */
  private async connectTrading(): Promise<void> {
    const key = this.keyFor('broker');
    if (key === undefined) {
      this.log.warn('broker: no API key with the broker permission in the configuration; trading disabled');
      return;
    }
    const backoffice = (key as { permissions: string[] }).permissions.includes('backoffice');
    if (!backoffice) this.log.warn({ keyId: key.keyId }, 'broker: the broker key lacks backoffice; KYC approval and deposits are disabled');
    while (!this.stopping) {
      const client = this.clientFor(key);
      try {
        await client.connect();
      } catch (error) {
        this.log.warn({ err: error }, 'broker: exchange logon failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      client.on('message', (m: ServerMessage) => this.onSessionMessage(m));
      this.tradeClient = client;
      if (backoffice) this.opsClient = client;
      await new Promise<void>((resolve) => client.once('close', () => resolve()));
      this.tradeClient = undefined;
      this.opsClient = undefined;
      if (!this.stopping) await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  private async connectMarketData(): Promise<void> {
    while (!this.stopping) {
      const md = new MarketDataClient({ url: `ws://127.0.0.1:${this.config.marketDataPort}`, keepReceived: false });
      md.on('error', () => {});
      try {
        await md.connect();
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      this.marketData = md;
      md.on('book', (instrument: number, book: { levels(side: number): Array<{ price: number; quantity: number }> }) => {
        const top = (side: number) => book.levels(side).slice(0, 10).map((l): [number, number] => [l.price, l.quantity]);
        this.depth.set(instrument, { bids: top(Side.Buy), asks: top(Side.Sell), at: Date.now() });
        this.onDepth(instrument);
      });
      for (const i of this.instruments) md.subscribe(i.id, 'l2');
      await new Promise<void>((resolve) => md.once('close', () => resolve()));
      this.marketData = undefined;
      if (!this.stopping) await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /** Session-level answers: a Reject of a request the broker sent (throttle, permission, field rules). */
  private onSessionMessage(m: ServerMessage): void {
    if (m.type !== 'Reject') return;
    const sent = this.sentBySequence.get(Number(m.refSeq));
    if (sent === undefined) return;
    this.sentBySequence.delete(Number(m.refSeq));
    const reason = nameOf(GatewayReject, Number(m.reason));
    const now = Date.now();
    if (sent.orderId !== undefined) {
      const order = this.store?.order(sent.orderId);
      if (order !== undefined && order.status === 'pending') {
        this.store!.updateOrder(order.id, { status: 'rejected', leaves: 0, reason }, now);
        this.pushOrder(order.id);
      }
    }
    if (sent.withdrawalId !== undefined) this.finishWithdrawal(sent.withdrawalId, 'rejected', reason, null, now);
    this.settle(sent.key, { ok: false, reason });
  }

  private requireClient(client: ExchangeClient | undefined): ExchangeClient {
    if (client === undefined || !client.open) throw new BrokerError(503, 'BROKER_EXCHANGE_UNAVAILABLE', 'the exchange session is not connected; try again shortly');
    return client;
  }

  waitFor(key: string, timeoutMs = this.options.exchangeTimeoutMs): Promise<Record<string, unknown> | undefined> {
    return new Promise((resolve) => {
      const list = this.waiters.get(key) ?? [];
      const waiter: Waiter = { resolve: (value) => { clearTimeout(timer); resolve(value); } };
      const timer = setTimeout(() => {
        const current = this.waiters.get(key);
        if (current !== undefined) {
          const at = current.indexOf(waiter);
          if (at >= 0) current.splice(at, 1);
          if (current.length === 0) this.waiters.delete(key);
        }
        resolve(undefined);
      }, timeoutMs);
      list.push(waiter);
      this.waiters.set(key, list);
    });
  }

  private settle(key: string, value: Record<string, unknown>): void {
    const list = this.waiters.get(key);
    if (list === undefined) return;
    this.waiters.delete(key);
    for (const waiter of list) waiter.resolve(value);
  }

  // ------------------------------------------------------------ commands

  /** Opens and approves the customer's core account (ops key). */
  async openAccount(userId: number): Promise<number> {
    const store = this.store!;
    const ops = this.requireClient(this.opsClient);
    const user = store.user(userId)!;
    let account = user.account ?? 0;
    if (account === 0) {
      account = Math.max(this.options.accountBase, store.maxAccount() + 1);
      for (const a of this.config.demoAccounts) if (a.account === account) account++;
      if (account > this.config.limits.maxAccounts) throw new BrokerError(503, 'BROKER_ACCOUNTS_EXHAUSTED', 'no account ids left in the broker range');
      store.setAccount(userId, account);
      this.owners.set(account, userId);
    }
    const done = this.waitFor(`account:${account}`);
    ops.batch(() => {
      const margin = store.kycOf(userId)?.account_type === 'margin';
      ops.send('OpenAccount', { account, accountType: margin ? AccountType.Margin : AccountType.Cash });
      ops.send('SetAccountStatus', { account, action: AccountAction.ApproveKyc });
    });
    const result = await done;
    if (result === undefined) throw new BrokerError(504, 'BROKER_EXCHANGE_TIMEOUT', 'the exchange did not confirm the account in time');
    if (result.ok !== true) throw new BrokerError(409, 'BROKER_EXCHANGE_REJECTED', `the exchange refused the account: ${String(result.reason)}`);
    return account;
  }

  async deposit(account: number, amount: number): Promise<Record<string, unknown>> {
    const ops = this.requireClient(this.opsClient);
    const reference = DEPOSIT_REFERENCE_BASE + this.store!.recordDeposit(account, amount, Date.now());
    const done = this.waitFor(`deposit:${reference}`);
    const sequence = ops.send('Deposit', { account, amount, reference });
    this.sentBySequence.set(sequence, { key: `deposit:${reference}` });
    const result = await done;
    if (result === undefined) throw new BrokerError(504, 'BROKER_EXCHANGE_TIMEOUT', 'the exchange did not confirm the deposit in time');
    if (result.ok !== true) throw new BrokerError(409, 'BROKER_EXCHANGE_REJECTED', `the exchange refused the deposit: ${String(result.reason)}`);
    return { account, amount, reference, cashBalance: result.cashBalance };
  }

  /**
   * A customer's withdrawal: the core's Withdraw with the row's reference (the core
   * applies a reference at most once and limits it to settled, unreserved cash, and a
   * margin account to what keeps its initial requirement covered). `requestId` makes
   * the request idempotent per user: a repeat answers the same withdrawal, re-sending
   * the same command (same reference: booked at most once) only while it has no answer.
   */
  async withdraw(userId: number, account: number, amount: number, bankReference: string, requestId: string): Promise<{ status: number; withdrawal: Record<string, unknown> }> {
    const store = this.store!;
    const now = Date.now();
    let row = store.withdrawalByRequest(userId, requestId);
    const repeat = row !== undefined;
    if (row !== undefined) {
      if (row.amount !== amount || row.bank_reference !== bankReference) {
        throw new BrokerError(409, 'BROKER_REQUEST_ID_REUSED', 'this requestId was used for a different withdrawal', { withdrawal: withdrawalView(row) });
      }
      if (row.status !== 'pending') return this.withdrawalAnswer(row, 200);
    }
    // No row for a request that cannot be sent now (503): the client retries with the same requestId.
    const ops = this.requireClient(this.opsClient);
    if (row === undefined) {
      if (store.withdrawalsSince(userId, now - 86_400_000) >= this.options.withdrawalsPerDay) {
        throw new BrokerError(409, 'BROKER_LIMIT', `at most ${this.options.withdrawalsPerDay} withdrawal requests in 24 hours`);
      }
      row = store.createWithdrawal({ user_id: userId, account, amount, bank_reference: bankReference, request_id: requestId, created_at: now });
    }
    const reference = WITHDRAWAL_REFERENCE_BASE + row.id;
    const key = `withdraw:${reference}`;
    const done = this.waitFor(key);
    const sequence = ops.send('Withdraw', { account: row.account, amount, reference });
    // A gateway Reject ends the withdrawal only for its first command: an earlier one of a repeat may still be booked.
    this.sentBySequence.set(sequence, repeat ? { key } : { key, withdrawalId: row.id });
    await done;
    this.sentBySequence.delete(sequence);
    return this.withdrawalAnswer(store.withdrawal(row.id)!, repeat ? 200 : 201);
  }

  private withdrawalAnswer(row: WithdrawalRow, status: number): { status: number; withdrawal: Record<string, unknown> } {
    const withdrawal = withdrawalView(row);
    if (row.status === 'pending') return { status: 202, withdrawal };
    if (row.status === 'rejected') throw new BrokerError(422, 'BROKER_WITHDRAWAL_REJECTED', `withdrawal rejected: ${String(row.reason)}`, { reason: row.reason, withdrawal });
    return { status, withdrawal };
  }

  /** A withdrawal's answer (event or gateway Reject): the row, a notification, a live hint. Only a pending one changes. */
  private finishWithdrawal(id: number, status: 'accepted' | 'rejected', reason: string | null, cashBalance: number | null, now: number): void {
    const store = this.store!;
    if (!store.finishWithdrawal(id, status, reason, cashBalance, now)) return;
    const row = store.withdrawal(id)!;
    if (status === 'rejected') this.notify(row.user_id, 'withdrawal', `Withdrawal of ${money(row.amount)} rejected: ${reason}`, { withdrawalId: id, amount: row.amount, reason }, now);
    this.push(row.user_id, { type: 'withdrawal', withdrawal: withdrawalView(row) });
  }

  /** The broker's withdrawal of a core reference on `account` (undefined: not one of the broker's). */
  private withdrawalOf(reference: number, account: number): number | undefined {
    const id = reference - WITHDRAWAL_REFERENCE_BASE;
    if (id < 1 || id >= DEPOSIT_REFERENCE_BASE) return undefined;
    return this.store!.withdrawal(id)?.account === account ? id : undefined;
  }

  async placeOrder(userId: number, account: number, body: Record<string, unknown>): Promise<{ status: number; order: Record<string, unknown> }> {
    const instrument = this.instrument(body.symbol);
    const field = (name: string, message: string) => new BrokerError(400, 'BROKER_VALIDATION', message, { field: name });
    const side = body.side;
    if (side !== 'buy' && side !== 'sell') throw field('side', 'side must be "buy" or "sell"');
    const type = typeof body.type === 'string' ? body.type : 'limit';
    const orderType = ORDER_TYPES[type];
    if (orderType === undefined) throw field('type', 'type must be one of limit, market, stop, stop_limit');
    const tif = typeof body.timeInForce === 'string' ? body.timeInForce.toUpperCase() : type === 'market' ? 'IOC' : 'DAY';
    const timeInForce = (TimeInForce as Record<string, number>)[tif];
    if (timeInForce === undefined) throw field('timeInForce', 'timeInForce must be one of GTC, DAY, GTD, IOC, FOK');
    const positiveInteger = (name: string, value: unknown, step: number, max: number): number => {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) throw field(name, `${name} must be a positive integer`);
      if (value % step !== 0) throw field(name, `${name} must be a multiple of ${step}`);
      if (value > max) throw field(name, `${name} must be at most ${max}`);
      return value;
    };
    const quantity = positiveInteger('quantity', body.quantity, instrument.lotSize, instrument.maxOrderQuantity);
    const needsPrice = type === 'limit' || type === 'stop_limit';
    const needsStop = type === 'stop' || type === 'stop_limit';
    const price = needsPrice ? positiveInteger('price', body.price, instrument.tickSize, 2 ** 40) : 0;
    if (!needsPrice && body.price !== undefined && body.price !== null) throw field('price', `a ${type} order takes no price`);
    const stopPrice = needsStop ? positiveInteger('stopPrice', body.stopPrice, instrument.tickSize, 2 ** 40) : 0;
    let expireTime = 0;
    if (tif === 'GTD') {
      if (typeof body.expireTime !== 'number' || !Number.isSafeInteger(body.expireTime) || body.expireTime <= Date.now()) {
        throw field('expireTime', 'a GTD order needs expireTime (epoch milliseconds in the future)');
      }
      expireTime = body.expireTime * 1000;
    }
    const client = this.requireClient(this.tradeClient);
    const now = Date.now();
    const store = this.store!;
    const id = store.createOrder({
      user_id: userId, account, instrument: instrument.id, symbol: instrument.symbol, side, type: type as OrderRow['type'], time_in_force: tif,
      price: needsPrice ? price : null, stop_price: needsStop ? stopPrice : null, quantity, leaves: quantity, status: 'pending', created_at: now,
    });
    const done = this.waitFor(`order:${id}`);
    const sequence = client.send('NewOrder', {
      account, instrument: instrument.id, clientOrderId: id, side: side === 'buy' ? Side.Buy : Side.Sell, orderType, timeInForce,
      price, quantity, stopPrice, selfTradePrevention: 0, flags: 0, expireTime,
    });
    this.sentBySequence.set(sequence, { key: `order:${id}`, orderId: id });
    const result = await done;
    this.sentBySequence.delete(sequence);
    const order = orderView(store.order(id)!);
    if (result === undefined) return { status: 202, order };
    if (result.ok !== true) throw new BrokerError(422, 'BROKER_ORDER_REJECTED', `order rejected: ${String(result.reason)}`, { reason: result.reason, order });
    return { status: 201, order };
  }

  async cancelOrder(order: OrderRow): Promise<Record<string, unknown>> {
    if (!OPEN_STATUSES.has(order.status) || order.exchange_order_id === null) {
      throw new BrokerError(409, 'BROKER_ORDER_NOT_OPEN', `order ${order.id} is ${order.status}`, { status: order.status });
    }
    const client = this.requireClient(this.tradeClient);
    const key = `cancel:${order.exchange_order_id}`;
    const done = this.waitFor(key);
    const sequence = client.send('CancelOrder', { account: order.account, orderId: order.exchange_order_id });
    this.sentBySequence.set(sequence, { key });
    const result = await done;
    this.sentBySequence.delete(sequence);
    if (result !== undefined && result.ok !== true) throw new BrokerError(409, 'BROKER_CANCEL_REJECTED', `cancel rejected: ${String(result.reason)}`, { reason: result.reason });
    return orderView(this.store!.order(order.id)!);
  }

  async replaceOrder(order: OrderRow, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (!OPEN_STATUSES.has(order.status) || order.exchange_order_id === null) {
      throw new BrokerError(409, 'BROKER_ORDER_NOT_OPEN', `order ${order.id} is ${order.status}`, { status: order.status });
    }
    if (order.type !== 'limit') throw new BrokerError(400, 'BROKER_VALIDATION', 'only limit orders can be replaced', { field: 'type' });
    const instrument = this.byId.get(order.instrument)!;
    const price = body.price ?? order.price;
    const quantity = body.quantity ?? order.quantity;
    for (const [name, value, step] of [['price', price, instrument.tickSize], ['quantity', quantity, instrument.lotSize]] as const) {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0 || value % step !== 0) {
        throw new BrokerError(400, 'BROKER_VALIDATION', `${name} must be a positive multiple of ${step}`, { field: name });
      }
    }
    const client = this.requireClient(this.tradeClient);
    const key = `replace:${order.exchange_order_id}`;
    const done = this.waitFor(key);
    const sequence = client.send('ReplaceOrder', { account: order.account, orderId: order.exchange_order_id, price: price as number, quantity: quantity as number });
    this.sentBySequence.set(sequence, { key });
    const result = await done;
    this.sentBySequence.delete(sequence);
    if (result !== undefined && result.ok !== true) throw new BrokerError(422, 'BROKER_ORDER_REJECTED', `replace rejected: ${String(result.reason)}`, { reason: result.reason });
    return orderView(this.store!.order(order.id)!);
  }

  // ------------------------------------------------------------ alerts

  reloadAlerts(): void {
    const map = new Map<number, Array<{ id: number; user_id: number; symbol: string; direction: string; price: number }>>();
    for (const a of this.store!.activeAlerts()) map.set(a.instrument, [...(map.get(a.instrument) ?? []), a]);
    this.alertsByInstrument = map;
  }

  private checkAlerts(instrument: number, price: number, now: number): void {
    const list = this.alertsByInstrument.get(instrument);
    if (list === undefined) return;
    const remaining = [];
    for (const alert of list) {
      const hit = alert.direction === 'above' ? price >= alert.price : price <= alert.price;
      if (!hit) {
        remaining.push(alert);
        continue;
      }
      this.store!.triggerAlert(alert.id, now);
      this.notify(alert.user_id, 'alert', `${alert.symbol} traded at ${money(price)} (${alert.direction} ${money(alert.price)})`, { alertId: alert.id, symbol: alert.symbol, price }, now);
    }
    if (remaining.length === 0) this.alertsByInstrument.delete(instrument);
    else this.alertsByInstrument.set(instrument, remaining);
  }

  notify(userId: number, kind: string, message: string, data: Record<string, unknown>, now = Date.now()): void {
    const notification = this.store!.notify(userId, kind, message, data, now);
    this.push(userId, { type: 'notification', notification });
  }

  private pushOrder(id: number): void {
    const order = this.store!.order(id);
    if (order !== undefined) this.push(order.user_id, { type: 'order', order: orderView(order) });
  }

  // ------------------------------------------------------------ events from the ring

  /**
   * The read models are rebuilt from the journal up to where the exchange recovered:
   * events after the last one broker.db applied (a crash between the journal's commit
   * and the broker's) are applied from the journal file before the ring takes over.
   */
  private async catchUp(): Promise<void> {
    const store = this.store!;
    const target = this.core!.startReport?.sequence ?? 0;
    this.appliedThrough = store.lastEventSequence();
    const behind = target - this.appliedThrough;
    if (behind <= 0) return;
    let applied = 0;
    const journalPath = path.join(this.config.dataDirectory, 'journal.db');
    store.db.exec('BEGIN');
    try {
      for await (const record of readJournalFile(journalPath, this.appliedThrough + 1)) {
        if (record.firstSequence > target) break;
        for (let e = 0; e < record.events.length / EVENT_WORDS; e++) {
          const offset = e * EVENT_WORDS;
          const sequence = record.events[offset + EventHeader.sequence];
          if (sequence <= this.appliedThrough || sequence > target) continue;
          this.onEvent(record.events, offset);
          applied++;
        }
      }
      this.appliedThrough = target;
      this.candles!.persist();
      store.setLastEventSequence(target);
      store.db.exec('COMMIT');
    } catch (error) {
      store.db.exec('ROLLBACK');
      throw error;
    }
    this.log.info({ behind, applied, through: target }, 'broker: read models caught up from the journal');
  }

  private async pump(): Promise<void> {
    const consumer = this.consumer!;
    const control = this.control!;
    const words = consumer.words;
    for (;;) {
      const next = consumer.nextSequence;
      const end = await consumer.waitForAsync(next, 100);
      const durable = control.durableSequence;
      const count = Math.min(end - next, 8192);
      let i = 0;
      const apply = () => {
        let last = 0;
        for (; i < count; i++) {
          const offset = consumer.offsetOf(next + i);
          if (words[offset] >= COMMAND_ECHO_FLAG) continue;
          const sequence = words[offset + EventHeader.sequence];
          if (sequence > durable) break;
          // Events the journal catch-up already applied (start) are skipped.
          if (sequence <= this.appliedThrough) continue;
          if (!this.disposed && this.store !== undefined) this.onEvent(words, offset);
          last = sequence;
        }
        if (last > 0 && this.store !== undefined && !this.disposed) {
          this.appliedThrough = last;
          this.candles!.persist();
          this.store.setLastEventSequence(last);
        }
      };
      if (count > 0 && this.store !== undefined && !this.disposed) this.store.db.transaction(apply)();
      else apply();
      const s = next + i;
      if (s > next) consumer.release(s);
      if (s < next + count) await control.waitDurableAsync(control.durableTick, 20);
      if (this.stopping && control.matcherState >= WorkerState.Stopped && consumer.nextSequence === consumer.available()) return;
    }
  }

  private onEvent(w: Float64Array, o: number): void {
    const code = w[o];
    const E = Events;
    const now = Date.now();
    const store = this.store!;
    const owner = (accountWord: number): number | undefined => this.owners.get(w[o + accountWord]);
    this.equity!.advance(w[o + EventHeader.timestamp], this.owners.keys(), (account) => this.equityOf(account));
    switch (code) {
      case E.Trade.code: {
        const at = E.Trade.at;
        const instrument = w[o + at.instrument];
        const price = w[o + at.price];
        const quantity = w[o + at.quantity];
        this.lastPrice.set(instrument, price);
        this.candles!.onTrade(instrument, price, quantity, w[o + EventHeader.timestamp]);
        this.onPrice(instrument);
        this.checkAlerts(instrument, price, now);
        for (const [orderWord, leavesWord, feeWord, accountWord, liquidity] of [
          [at.makerOrderId, at.makerLeaves, at.makerFee, at.makerAccount, 'maker'],
          [at.takerOrderId, at.takerLeaves, at.takerFee, at.takerAccount, 'taker'],
        ] as const) {
          if (owner(accountWord) === undefined) continue;
          const sold = (liquidity === 'taker') === (w[o + at.aggressorSide] === Side.Sell);
          if (sold) {
            // As the core counts them: sale proceeds net of the fee wait for settlement (T + the instrument's settlement days).
            const settleDate = store.tradeDate() + (this.instrumentById(instrument)?.settlementDays ?? 1);
            store.addUnsettledProceeds(w[o + accountWord], instrument, settleDate, price * quantity - w[o + feeWord]);
          }
          const order = store.orderByExchangeId(w[o + orderWord]);
          if (order === undefined) continue;
          const leaves = w[o + leavesWord];
          const filled = order.filled + quantity;
          store.updateOrder(order.id, { filled, leaves, notional: order.notional + price * quantity, status: leaves === 0 ? 'filled' : 'partially_filled' }, now);
          if (leaves === 0) this.releaseHoldsIfIdle(order.user_id, order.account);
          store.addExecution({ order_id: order.id, user_id: order.user_id, symbol: order.symbol, side: order.side, price, quantity, fee: w[o + feeWord], liquidity, sequence: w[o + EventHeader.sequence], created_at: now });
          this.pushOrder(order.id);
          this.notify(order.user_id, 'fill', `${order.side === 'buy' ? 'Bought' : 'Sold'} ${quantity} ${order.symbol} at ${money(price)}${leaves === 0 ? ' (filled)' : ` (${leaves} left)`}`,
            { orderId: order.id, symbol: order.symbol, side: order.side, price, quantity, leaves }, now);
        }
        return;
      }
      case E.OrderAccepted.code: {
        const at = E.OrderAccepted.at;
        if (owner(at.account) === undefined) return;
        const order = store.order(w[o + at.clientOrderId]);
        if (order === undefined || order.account !== w[o + at.account] || order.exchange_order_id !== null) return;
        const stop = order.type === 'stop' || order.type === 'stop_limit';
        store.updateOrder(order.id, { exchange_order_id: w[o + at.orderId], status: stop ? 'stop_pending' : 'open' }, now);
        this.pushOrder(order.id);
        this.settle(`order:${order.id}`, { ok: true });
        return;
      }
      case E.OrderRejected.code: {
        const at = E.OrderRejected.at;
        const userId = owner(at.account);
        if (userId === undefined) return;
        const reason = nameOf(RejectReason, w[o + at.reason]);
        const exchangeOrderId = w[o + at.orderId];
        if (exchangeOrderId !== 0) {
          const order = store.orderByExchangeId(exchangeOrderId);
          this.settle(`replace:${exchangeOrderId}`, { ok: false, reason });
          if (order !== undefined) this.notify(userId, 'rejection', `Replace of ${order.symbol} order ${order.id} rejected: ${reason}`, { orderId: order.id, reason }, now);
          return;
        }
        const order = store.order(w[o + at.clientOrderId]);
        if (order === undefined || order.account !== w[o + at.account] || order.status !== 'pending') return;
        store.updateOrder(order.id, { status: 'rejected', leaves: 0, reason }, now);
        this.pushOrder(order.id);
        this.notify(userId, 'rejection', `${order.side === 'buy' ? 'Buy' : 'Sell'} ${order.quantity} ${order.symbol} rejected: ${reason}`, { orderId: order.id, reason }, now);
        this.settle(`order:${order.id}`, { ok: false, reason });
        return;
      }
      case E.OrderCanceled.code: {
        const at = E.OrderCanceled.at;
        if (owner(at.account) === undefined) return;
        const order = store.orderByExchangeId(w[o + at.orderId]);
        if (order === undefined) return;
        const reasonCode = w[o + at.reason];
        const reason = nameOf(CancelReason, reasonCode);
        store.updateOrder(order.id, { status: reason === 'EXPIRED' ? 'expired' : 'canceled', leaves: 0, reason }, now);
        this.releaseHoldsIfIdle(order.user_id, order.account);
        this.pushOrder(order.id);
        this.settle(`cancel:${order.exchange_order_id}`, { ok: true });
        return;
      }
      case E.OrderReplaced.code: {
        const at = E.OrderReplaced.at;
        if (owner(at.account) === undefined) return;
        const order = store.orderByExchangeId(w[o + at.orderId]);
        if (order === undefined) return;
        const leaves = w[o + at.leavesQuantity];
        store.updateOrder(order.id, { price: w[o + at.price], quantity: w[o + at.quantity], leaves, status: leaves === 0 ? 'filled' : order.filled > 0 ? 'partially_filled' : 'open' }, now);
        this.pushOrder(order.id);
        this.settle(`replace:${order.exchange_order_id}`, { ok: true });
        return;
      }
      case E.CancelRejected.code: {
        const at = E.CancelRejected.at;
        const userId = owner(at.account);
        if (userId === undefined) return;
        const reason = nameOf(RejectReason, w[o + at.reason]);
        this.settle(`cancel:${w[o + at.orderId]}`, { ok: false, reason });
        const order = store.orderByExchangeId(w[o + at.orderId]);
        if (order !== undefined) this.notify(userId, 'rejection', `Cancel of ${order.symbol} order ${order.id} rejected: ${reason}`, { orderId: order.id, reason }, now);
        return;
      }
      case E.StopTriggered.code: {
        const at = E.StopTriggered.at;
        const userId = owner(at.account);
        if (userId === undefined) return;
        const order = store.orderByExchangeId(w[o + at.orderId]);
        if (order === undefined) return;
        if (order.status === 'stop_pending') store.updateOrder(order.id, { status: 'open' }, now);
        this.pushOrder(order.id);
        this.notify(userId, 'stop', `Stop of ${order.symbol} order ${order.id} triggered at ${money(w[o + at.lastPrice])}`, { orderId: order.id }, now);
        return;
      }
      case E.PositionChanged.code: {
        const at = E.PositionChanged.at;
        const userId = owner(at.account);
        if (userId === undefined) return;
        const account = w[o + at.account];
        store.setPosition(account, w[o + at.instrument], w[o + at.quantity], w[o + at.costBasis], w[o + at.realizedPnl]);
        store.setCash(account, w[o + at.cashBalance]);
        if (this.engineSemantics >= 2) store.setReserved(account, w[o + at.reservedTotal]);
        this.push(userId, { type: 'portfolio' });
        return;
      }
      case E.CashDeposited.code:
      case E.CashWithdrawn.code: {
        const at = E.CashDeposited.at;
        const userId = owner(at.account);
        if (userId === undefined) return;
        const account = w[o + at.account];
        const amount = w[o + at.amount];
        store.setCash(account, w[o + at.cashBalance]);
        const deposit = code === E.CashDeposited.code;
        this.equity!.flow(account, deposit ? amount : -amount);
        const reference = w[o + at.reference];
        if (deposit) this.settle(`deposit:${reference}`, { ok: true, cashBalance: w[o + at.cashBalance] });
        const withdrawalId = deposit ? undefined : this.withdrawalOf(reference, account);
        this.notify(userId, deposit ? 'deposit' : 'withdrawal', `${deposit ? 'Deposit' : 'Withdrawal'} of ${money(amount)} booked`,
          { amount, cashBalance: w[o + at.cashBalance], ...(withdrawalId === undefined ? {} : { withdrawalId }) }, now);
        if (withdrawalId !== undefined) {
          this.finishWithdrawal(withdrawalId, 'accepted', null, w[o + at.cashBalance], now);
          this.settle(`withdraw:${reference}`, { ok: true });
        }
        this.push(userId, { type: 'portfolio' });
        return;
      }
      case E.MarginCall.code:
      case E.LiquidationStarted.code: {
        const at = E.MarginCall.at;
        const userId = owner(at.account);
        if (userId === undefined) return;
        const call = code === E.MarginCall.code;
        const required = w[o + (call ? at.maintenanceRequirement : E.LiquidationStarted.at.liquidationRequirement)];
        this.notify(userId, call ? 'margin_call' : 'liquidation',
          call ? `Margin call: equity ${money(w[o + at.equity])} is below the maintenance requirement ${money(required)}; deposit or reduce positions`
            : `Liquidation started: equity ${money(w[o + at.equity])} is below ${money(required)}; positions are being closed`,
          { equity: w[o + at.equity], requirement: required }, now);
        this.push(userId, { type: 'portfolio' });
        return;
      }
      case E.MarginParametersSet.code:
        store.setInitialMargin(w[o + E.MarginParametersSet.at.instrument], w[o + E.MarginParametersSet.at.initialBasisPoints]);
        return;
      case E.TradingDayEnded.code:
        store.setTradeDate(w[o + E.TradingDayEnded.at.tradeDate]);
        return;
      case E.Settled.code: {
        const at = E.Settled.at;
        const userId = owner(at.account);
        if (userId === undefined) return;
        store.settleProceeds(w[o + at.account], w[o + at.instrument], w[o + at.tradeDate]);
        this.push(userId, { type: 'portfolio' });
        return;
      }
      case E.CashReserved.code:
      case E.CashReleased.code: {
        const at = E.CashReserved.at;
        if (owner(at.account) === undefined) return;
        store.setReserved(w[o + at.account], w[o + at.reservedTotal]);
        return;
      }
      case E.AccountStatusChanged.code: {
        const at = E.AccountStatusChanged.at;
        const userId = owner(at.account);
        if (userId === undefined) return;
        const status = w[o + at.status];
        store.setAccountStatus(w[o + at.account], nameOf(AccountStatus, status).toLowerCase());
        if (status === AccountStatus.Active) this.settle(`account:${w[o + at.account]}`, { ok: true });
        this.push(userId, { type: 'account' });
        return;
      }
      case E.AccountOpened.code: {
        const at = E.AccountOpened.at;
        if (owner(at.account) === undefined) return;
        store.setAccountStatus(w[o + at.account], 'pendingkyc');
        return;
      }
      case E.ClockAdvanced.code:
        this.candles!.onClock(w[o + EventHeader.timestamp]);
        return;
      case E.CommandRejected.code: {
        const at = E.CommandRejected.at;
        const account = w[o + at.subject];
        if (!this.owners.has(account)) return;
        const reason = nameOf(RejectReason, w[o + at.reason]);
        const type = w[o + at.commandType];
        if (type === 22) this.settle(`deposit:${w[o + at.reference]}`, { ok: false, reason });
        if (type === 23) {
          const withdrawalId = this.withdrawalOf(w[o + at.reference], account);
          if (withdrawalId !== undefined) this.finishWithdrawal(withdrawalId, 'rejected', reason, null, now);
          this.settle(`withdraw:${w[o + at.reference]}`, { ok: false, reason });
        }
        // An account that already exists (a retried approval) is fine: the approval that follows decides.
        if ((type === 20 && reason !== 'ACCOUNT_EXISTS') || type === 21) this.settle(`account:${account}`, { ok: false, reason });
        return;
      }
      default:
        return;
    }
  }
}

/**
 * The broker as a supervisor service: one outbound-ring consumer; none (not started) when brokerPort is 0.
 * `mailer`: production's mail delivery (default: the development outbox in broker.db).
 */
export function brokerService(config: ExchangeConfig, log: Logger, options: Partial<BrokerOptions> = {}, mailer?: Mailer): ServiceFactory {
  return {
    consumers: 1,
    create(core: ExchangeCore, firstConsumer: number): Service {
      return new Broker(config, core, firstConsumer, log, options, mailer);
    },
  };
}

/** Minor currency units (cents in the shipped configuration) as a display amount for notification texts. */
function money(minor: number): string {
  return (minor / 100).toFixed(2);
}
