#!/usr/bin/env node
/**
 * exchange-client: the order-entry protocol from a shell.
 *
 *   exchange-client --port 9100 --key 4 --secret ... order buy ACME 10 @ 100.50
 *   exchange-client --port 9100 --key 4 --secret ... cancel 17
 *   exchange-client --port 9100 --key 4 --secret ... status 17
 *   exchange-client --port 9100 --key 4 --secret ... positions
 *   exchange-client --port 9100 --key 4 --secret ... summary
 *   exchange-client --port 9100 --key 4 --secret ... book ACME      (live; Ctrl-C ends)
 *
 * Each command logs on, sends its request, prints the answer and logs out. Orders
 * outlive the command: the CLI logs on with cancel-on-disconnect off unless
 * --cancel-on-disconnect is given. `book` follows the account's own order events
 * live (a market-data book view is not wired into this CLI yet) and reconnects with
 * replay when the connection drops. Symbols come from the default config's
 * instruments; numeric instrument ids are accepted too. Prices are decimals in the
 * instrument's unit with --price-decimals places (2: "100.50" is 10050 on the wire).
 *
 * Exit codes: 0 done, 2 refused by the exchange (OrderRejected, CancelRejected,
 * Reject), 1 usage, connection or logon errors.
 */
import { randomInt } from 'node:crypto';
import { Command, InvalidArgumentError, Option } from 'commander';
import { defaultConfig } from '../../core/runtime/config';
import { CancelReason, nameOf, OrderType, RejectReason, SelfTradePrevention, Side, TimeInForce } from '../../core/codes';
import { GatewayReject } from '../protocol/reject-codes';
import { OrderStatusCode } from '../protocol/session-schema';
import { ExchangeClient, ServerMessage } from './exchange-client';
import { ReconnectingClient } from './reconnecting-client';
import { MarketDataClient } from './market-data-client';
import type { L2ClientBook } from '../market-data/l2-client-book';
import { formatPrice, InstrumentDirectory, parsePrice, parseQuantity } from './instruments';

interface GlobalOptions {
  host: string;
  port?: number;
  url?: string;
  key: number;
  secret?: string;
  account?: number;
  json?: boolean;
  timeout: number;
  priceDecimals: number;
  cancelOnDisconnect?: boolean;
}

const EXIT_REFUSED = 2;
const instruments = new InstrumentDirectory();

function integer(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (text: string): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}`);
    }
    return value;
  };
}

/** Thrown for a refusal by the exchange: printed, exit code 2. */
class Refused extends Error {}

// ---------------------------------------------------------------- output

class Output {
  constructor(private readonly options: GlobalOptions) {}

  message(m: ServerMessage): void {
    if (this.options.json) process.stdout.write(`${JSON.stringify(m)}\n`);
    else process.stdout.write(`${describe(m, this.options.priceDecimals)}\n`);
  }

  note(text: string, fields: Record<string, unknown> = {}): void {
    if (this.options.json) process.stderr.write(`${JSON.stringify({ note: text, ...fields })}\n`);
    else process.stderr.write(`${text}\n`);
  }
}

const sideName = (side: unknown) => nameOf(Side, Number(side)).toUpperCase();
const reasonName = (reason: unknown) => {
  const code = Number(reason);
  return `${code >= 1000 ? nameOf(GatewayReject, code) : nameOf(RejectReason, code)} (${code})`;
};

/** One line for a server message, for humans. */
export function describe(m: ServerMessage, decimals = 2): string {
  const price = (v: unknown) => formatPrice(Number(v), decimals);
  const symbol = (v: unknown) => instruments.symbolOf(Number(v));
  const seq = m.sequence > 0 ? `  [seq ${m.sequence}]` : '';
  switch (m.type) {
    case 'OrderAccepted':
      return `accepted order ${m.orderId} (client ${m.clientOrderId}): ${sideName(m.side)} ${m.quantity} ${symbol(m.instrument)}`
        + `${Number(m.orderType) === OrderType.Market ? ' at market' : ` @ ${price(m.price)}`} ${nameOf(OrderType, Number(m.orderType))} ${nameOf(TimeInForce, Number(m.timeInForce))}${seq}`;
    case 'OrderRejected':
      return `rejected ${Number(m.orderId) === 0 ? `new order (client ${m.clientOrderId})` : `order ${m.orderId}`} ${symbol(m.instrument)}: ${reasonName(m.reason)}${seq}`;
    case 'Trade':
      return `trade ${m.quantity} ${symbol(m.instrument)} @ ${price(m.price)}: maker order ${m.makerOrderId} (account ${m.makerAccount}, leaves ${m.makerLeaves}),`
        + ` taker order ${m.takerOrderId} (account ${m.takerAccount}, leaves ${m.takerLeaves}), aggressor ${sideName(m.aggressorSide)}${seq}`;
    case 'OrderCanceled':
      return `canceled order ${m.orderId}: ${sideName(m.side)} ${m.canceledQuantity} ${symbol(m.instrument)} @ ${price(m.price)} (${nameOf(CancelReason, Number(m.reason))})${seq}`;
    case 'OrderReplaced':
      return `replaced order ${m.orderId}: ${m.quantity} @ ${price(m.price)}, leaves ${m.leavesQuantity} (was ${m.oldLeaves} @ ${price(m.oldPrice)}; priority ${Number(m.priorityKept) ? 'kept' : 'lost'})${seq}`;
    case 'CancelRejected':
      return `cancel of order ${m.orderId} rejected: ${reasonName(m.reason)}${seq}`;
    case 'MassCancelDone':
      return `mass cancel done: ${m.canceledCount} orders canceled${Number(m.instrument) ? ` on ${symbol(m.instrument)}` : ''}${seq}`;
    case 'StopTriggered':
      return `stop order ${m.orderId} triggered at ${price(m.lastPrice)} (stop ${price(m.stopPrice)})${seq}`;
    case 'PositionChanged':
      return `position ${symbol(m.instrument)}: ${m.quantity}, cost ${price(m.costBasis)}, realized ${price(m.realizedPnl)}, cash ${price(m.cashBalance)}${seq}`;
    case 'Reject':
      return `gateway reject: ${reasonName(m.reason)} of request seq ${m.refSeq}${Number(m.retryAfterMs) > 0 ? `, retry after ${m.retryAfterMs} ms` : ''}`;
    case 'OrderStatus':
      if (Number(m.status) === OrderStatusCode.NotFound) return `order ${Number(m.orderId) || `(client ${m.clientOrderId})`}: NOT FOUND`;
      return `order ${m.orderId} (client ${m.clientOrderId}) ${nameOf(OrderStatusCode, Number(m.status)).toUpperCase()}: ${sideName(m.side)} ${m.quantity} ${symbol(m.instrument)}`
        + ` @ ${price(m.price)}, leaves ${m.leavesQuantity}`;
    case 'AccountSummary':
      return `account ${m.account}: cash ${price(m.cashBalance)}, reserved ${price(m.reservedCash)}, equity ${price(m.equity)}, maintenance ${price(m.maintenanceRequirement)}`;
    case 'PositionReport':
      if (Number(m.reportCount) === 0) return `account ${m.account}: no positions`;
      return `${symbol(m.instrument)}: ${m.quantity}, cost ${price(m.costBasis)}, realized ${price(m.realizedPnl)}  (${m.reportIndex}/${m.reportCount})`;
    default: {
      const { type, sequence, ...fields } = m;
      return `${type} ${JSON.stringify(fields)}${sequence > 0 ? `  [seq ${sequence}]` : ''}`;
    }
  }
}

// ---------------------------------------------------------------- session

function resolveOptions(options: GlobalOptions): { url: string; secret: string; account: number } {
  // Default port: the shipped configuration's assignment (base port + keyId mod gateway workers).
  const shipped = defaultConfig();
  const port = options.port ?? (options.key !== undefined ? String(shipped.orderEntryBasePort + (Number(options.key) % shipped.gatewayWorkers)) : undefined);
  const url = options.url ?? (port !== undefined ? `ws://${options.host}:${port}` : undefined);
  if (url === undefined) throw new InvalidArgumentError('give --key (and --port if the exchange is not on the shipped ports) or --url');
  const secret = options.secret ?? process.env.EXCHANGE_API_SECRET;
  if (secret === undefined || secret === '') throw new InvalidArgumentError('give --secret or set EXCHANGE_API_SECRET');
  const account = options.account ?? defaultConfig().demoAccounts.find((a) => a.keyId === options.key)?.account ?? options.key;
  return { url, secret, account };
}

/** Logs on, runs `fn`, logs out. */
async function withSession(options: GlobalOptions, fn: (client: ExchangeClient, account: number, out: Output) => Promise<void>): Promise<void> {
  const { url, secret, account } = resolveOptions(options);
  const out = new Output(options);
  const client = new ExchangeClient({ url, keyId: options.key, secret, cancelOnDisconnect: options.cancelOnDisconnect === true });
  client.keepReceived = true;
  let closeCode = 0;
  client.on('close', (code: number) => { closeCode = code; });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    if (closeCode === 0) await new Promise((resolve) => { client.once('close', resolve); setTimeout(resolve, 500); });
    const hint = closeCode === 4007 ? ' (wrong port for this key: keys go to base port + keyId mod gateway workers)' : '';
    throw new Error(`logon failed: ${(error as Error).message}${describeLogonReason((error as Error).message)}${hint}`);
  }
  try {
    await fn(client, account, out);
  } finally {
    await client.logout(1000);
  }
}

function describeLogonReason(message: string): string {
  const match = /reason (\d+)/.exec(message);
  return match === null || Number(match[1]) === 0 ? '' : ` ${nameOf(GatewayReject, Number(match[1]))}`;
}

/** Waits for the first message matching `predicate`; refusals (`refused`) become a Refused error after printing. */
async function answer(client: ExchangeClient, options: GlobalOptions, out: Output, predicate: (m: ServerMessage) => boolean, refused: (m: ServerMessage) => boolean): Promise<ServerMessage> {
  const m = await client.next((x) => predicate(x) || refused(x), options.timeout);
  out.message(m);
  if (refused(m)) throw new Refused(m.type);
  return m;
}

const isRejectOf = (sequence: number) => (m: ServerMessage) => m.type === 'Reject' && Number(m.refSeq) === sequence;

// ---------------------------------------------------------------- commands

const SIDES: Record<string, number> = { buy: Side.Buy, b: Side.Buy, sell: Side.Sell, s: Side.Sell };
const TYPES: Record<string, number> = { limit: OrderType.Limit, market: OrderType.Market, stop: OrderType.Stop, 'stop-limit': OrderType.StopLimit };
const TIFS: Record<string, number> = { gtc: TimeInForce.GTC, day: TimeInForce.DAY, gtd: TimeInForce.GTD, ioc: TimeInForce.IOC, fok: TimeInForce.FOK };
const STPS: Record<string, number> = { none: SelfTradePrevention.None, 'cancel-taker': SelfTradePrevention.CancelTaker, 'cancel-maker': SelfTradePrevention.CancelMaker, 'cancel-both': SelfTradePrevention.CancelBoth };

function pick(table: Record<string, number>, what: string, text: string): number {
  const value = table[text.toLowerCase()];
  if (value === undefined) throw new InvalidArgumentError(`${what} must be one of ${Object.keys(table).join(', ')}, got "${text}"`);
  return value;
}

/** "[@|at] PRICE" -> price text, or undefined when absent. */
function priceWords(words: string[]): string | undefined {
  const rest = words.length > 0 && (words[0] === '@' || words[0].toLowerCase() === 'at') ? words.slice(1) : words;
  if (rest.length > 1) throw new InvalidArgumentError(`unexpected words after the price: ${rest.slice(1).join(' ')}`);
  return rest[0]?.replace(/^@/, '');
}

interface OrderOptions { type?: string; tif: string; stop?: string; postOnly?: boolean; clientOrderId?: number; stp?: string; expire?: string; settle: number }

async function order(globals: GlobalOptions, sideText: string, symbolText: string, quantityText: string, rest: string[], o: OrderOptions): Promise<void> {
  const side = pick(SIDES, 'side', sideText);
  const instrument = instruments.resolve(symbolText);
  const quantity = parseQuantity(quantityText);
  const priceText = priceWords(rest);
  const price = priceText === undefined ? 0 : parsePrice(priceText, globals.priceDecimals);
  const orderType = o.type !== undefined ? pick(TYPES, 'type', o.type) : priceText === undefined ? OrderType.Market : OrderType.Limit;
  if ((orderType === OrderType.Limit || orderType === OrderType.StopLimit) && priceText === undefined) throw new InvalidArgumentError('a limit order needs a price: ... QTY @ PRICE');
  const stopPrice = o.stop === undefined ? 0 : parsePrice(o.stop, globals.priceDecimals);
  const timeInForce = pick(TIFS, 'time in force', o.type === undefined && priceText === undefined && o.tif === 'gtc' ? 'ioc' : o.tif);
  const expireTime = o.expire === undefined ? 0 : parseExpire(o.expire);
  const clientOrderId = o.clientOrderId ?? randomInt(1, 2 ** 31);
  await withSession(globals, async (client, account, out) => {
    const sequence = client.send('NewOrder', {
      account, instrument, clientOrderId, side, orderType, timeInForce, price, quantity, stopPrice,
      selfTradePrevention: o.stp === undefined ? 0 : pick(STPS, 'self-trade prevention', o.stp), flags: o.postOnly ? 1 : 0, expireTime,
    });
    const first = await answer(client, globals, out,
      (m) => m.type === 'OrderAccepted' && Number(m.clientOrderId) === clientOrderId,
      (m) => isRejectOf(sequence)(m) || (m.type === 'OrderRejected' && Number(m.clientOrderId) === clientOrderId));
    const orderId = Number(first.orderId);
    // Fills and IOC/FOK cancels follow the acceptance at once: print those that come within the settle time.
    const concerns = (m: ServerMessage) => (m.type === 'Trade' && (Number(m.makerOrderId) === orderId || Number(m.takerOrderId) === orderId))
      || ((m.type === 'OrderCanceled' || m.type === 'StopTriggered') && Number(m.orderId) === orderId);
    const deadline = Date.now() + o.settle;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      try {
        out.message(await client.next(concerns, left));
      } catch {
        break;
      }
    }
  });
}

function parseExpire(text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new InvalidArgumentError(`--expire must be epoch ms or an ISO date, got "${text}"`);
  return ms * 1000;
}

async function cancel(globals: GlobalOptions, orderIdText: string): Promise<void> {
  const orderId = integer('ORDERID', 1)(orderIdText);
  await withSession(globals, async (client, account, out) => {
    const sequence = client.send('CancelOrder', { account, orderId });
    await answer(client, globals, out,
      (m) => m.type === 'OrderCanceled' && Number(m.orderId) === orderId,
      (m) => isRejectOf(sequence)(m) || (m.type === 'CancelRejected' && Number(m.orderId) === orderId));
  });
}

async function replace(globals: GlobalOptions, orderIdText: string, quantityText: string, rest: string[]): Promise<void> {
  const orderId = integer('ORDERID', 1)(orderIdText);
  const quantity = parseQuantity(quantityText);
  const priceText = priceWords(rest);
  if (priceText === undefined) throw new InvalidArgumentError('replace needs a price: replace ORDERID QTY @ PRICE');
  const price = parsePrice(priceText, globals.priceDecimals);
  await withSession(globals, async (client, account, out) => {
    const sequence = client.send('ReplaceOrder', { account, orderId, price, quantity });
    await answer(client, globals, out,
      (m) => (m.type === 'OrderReplaced' || m.type === 'OrderCanceled') && Number(m.orderId) === orderId,
      (m) => isRejectOf(sequence)(m) || ((m.type === 'OrderRejected' || m.type === 'CancelRejected') && Number(m.orderId) === orderId));
  });
}

async function massCancel(globals: GlobalOptions, symbolText: string | undefined, o: { side?: string }): Promise<void> {
  const instrument = symbolText === undefined ? 0 : instruments.resolve(symbolText);
  const side = o.side === undefined ? 0 : pick(SIDES, 'side', o.side);
  await withSession(globals, async (client, account, out) => {
    const sequence = client.send('MassCancel', { account, instrument, side });
    await answer(client, globals, out, (m) => m.type === 'MassCancelDone' && Number(m.account) === account, isRejectOf(sequence));
  });
}

async function status(globals: GlobalOptions, orderIdText: string | undefined, o: { clientOrderId?: number }): Promise<void> {
  const orderId = orderIdText === undefined ? 0 : integer('ORDERID', 1)(orderIdText);
  const clientOrderId = o.clientOrderId ?? 0;
  if (orderId === 0 && clientOrderId === 0) throw new InvalidArgumentError('give ORDERID or --client-order-id');
  await withSession(globals, async (client, account, out) => {
    const sequence = client.send('OrderStatusRequest', { account, orderId, clientOrderId });
    const m = await answer(client, globals, out, (x) => x.type === 'OrderStatus' && Number(x.refSeq) === sequence, isRejectOf(sequence));
    if (Number(m.status) === OrderStatusCode.NotFound) process.exitCode = EXIT_REFUSED;
  });
}

async function positions(globals: GlobalOptions, symbolText: string | undefined): Promise<void> {
  const instrument = symbolText === undefined ? 0 : instruments.resolve(symbolText);
  await withSession(globals, async (client, account, out) => {
    const sequence = client.send('PositionsRequest', { account, instrument });
    const isReport = (m: ServerMessage) => m.type === 'PositionReport' && Number(m.refSeq) === sequence;
    const first = await answer(client, globals, out, isReport, isRejectOf(sequence));
    for (let i = 1; i < Number(first.reportCount); i++) out.message(await client.next(isReport, globals.timeout));
  });
}

async function summary(globals: GlobalOptions): Promise<void> {
  await withSession(globals, async (client, account, out) => {
    const sequence = client.send('AccountSummaryRequest', { account });
    await answer(client, globals, out, (m) => m.type === 'AccountSummary' && Number(m.refSeq) === sequence, isRejectOf(sequence));
  });
}

const ORDER_EVENTS = new Set(['OrderAccepted', 'OrderRejected', 'Trade', 'OrderCanceled', 'OrderReplaced', 'CancelRejected', 'StopTriggered', 'MassCancelDone', 'PositionChanged']);

/** Prints the account's order events live (reconnecting with replay) until Ctrl-C or --duration. */
async function book(globals: GlobalOptions, symbolText: string | undefined, o: { duration: number; from?: number; all?: boolean }): Promise<void> {
  const { url, secret } = resolveOptions(globals);
  const instrument = symbolText === undefined ? 0 : instruments.resolve(symbolText);
  const out = new Output(globals);
  const client = new ReconnectingClient({ url, keyId: globals.key, secret, cancelOnDisconnect: globals.cancelOnDisconnect === true, fromSequence: o.from });
  client.on('message', (m: ServerMessage) => {
    if (m.sequence === 0 || (!o.all && !ORDER_EVENTS.has(m.type))) return;
    if (instrument !== 0 && m.instrument !== undefined && Number(m.instrument) !== instrument) return;
    out.message(m);
  });
  client.on('disconnected', ({ code }: { code: number }) => out.note(`disconnected (${code}); reconnecting`, { code }));
  client.on('connected', (ack: ServerMessage) => out.note(`logged on; next server sequence ${ack.nextServerSequence}`, { nextServerSequence: ack.nextServerSequence }));
  client.on('gap', (gap: { fromSequence: number; toSequence: number }) => out.note(`messages ${gap.fromSequence}..${gap.toSequence} are no longer held by the server`, gap));
  const failed = new Promise<never>((_, reject) => client.on('error', reject));
  await client.start();
  out.note(`watching ${instrument === 0 ? 'all instruments' : instruments.symbolOf(instrument)} for account events; Ctrl-C ends`);
  let timer: NodeJS.Timeout | undefined;
  let stop: (() => void) | undefined;
  try {
    await Promise.race([
      failed,
      new Promise<void>((resolve) => {
        stop = resolve;
        if (o.duration > 0) timer = setTimeout(resolve, o.duration);
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      }),
    ]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (stop !== undefined) {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    await client.close();
  }
}

// ---------------------------------------------------------------- depth (market data)

interface DepthOptions {
  mdPort: number;
  levels: number;
  duration: number;
}

/** The L2 book as text: asks above (best last), bids below (best first), with a spread line. */
export function renderDepth(symbol: string, book: L2ClientBook, levels: number, priceDecimals: number): string {
  const asks = book.levels(Side.Sell).slice(0, levels).reverse();
  const bids = book.levels(Side.Buy).slice(0, levels);
  const row = (side: string, l: { price: number; quantity: number; count: number }) =>
    `${side.padEnd(4)}${formatPrice(l.price, priceDecimals).padStart(12)}${String(l.quantity).padStart(10)}${String(l.count).padStart(7)}`;
  const lines = [`${symbol} L2, sequence ${book.sequence}, checksum verified`, `${''.padEnd(4)}${'price'.padStart(12)}${'qty'.padStart(10)}${'orders'.padStart(7)}`];
  for (const l of asks) lines.push(row('ask', l));
  const bestAsk = asks[asks.length - 1];
  const bestBid = bids[0];
  lines.push(bestAsk !== undefined && bestBid !== undefined ? `---- spread ${formatPrice(bestAsk.price - bestBid.price, priceDecimals)}` : '----');
  for (const l of bids) lines.push(row('bid', l));
  return `${lines.join('\n')}\n`;
}

async function depth(globals: GlobalOptions, symbol: string, o: DepthOptions): Promise<void> {
  const instrument = instruments.resolve(symbol);
  const name = instruments.symbolOf(instrument);
  const md = new MarketDataClient({ url: `ws://${globals.host}:${o.mdPort}` });
  await md.connect();
  const tty = process.stdout.isTTY === true && globals.json !== true;
  let frame: NodeJS.Timeout | undefined;
  const draw = () => {
    frame = undefined;
    const book = md.book(instrument);
    if (book === undefined || book.sequence < 0) return;
    if (globals.json) process.stdout.write(`${JSON.stringify({ instrument, sequence: book.sequence, bids: book.levels(Side.Buy).slice(0, o.levels), asks: book.levels(Side.Sell).slice(0, o.levels) })}\n`);
    else process.stdout.write(`${tty ? '\x1b[H\x1b[2J' : ''}${renderDepth(name, book, o.levels, globals.priceDecimals)}`);
  };
  // At most one redraw per 100 ms however busy the book is.
  md.on('book', (id: number) => {
    if (id === instrument && frame === undefined) frame = setTimeout(draw, 100);
  });
  md.subscribe(instrument, 'l2');
  await new Promise<void>((resolve) => {
    if (o.duration > 0) setTimeout(resolve, o.duration);
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  if (frame !== undefined) clearTimeout(frame);
  draw();
  await md.close();
}

// ---------------------------------------------------------------- program

export function buildProgram(): Command {
  const program = new Command('exchange-client');
  program
    .description('Order entry from a shell: log on with an API key, place and cancel orders, query status, positions and account, watch order events.')
    .option('--host <host>', 'gateway host', '127.0.0.1')
    .option('--port <port>', 'the key\'s order-entry port (base port + keyId mod gateway workers)', integer('--port', 1, 65535))
    .option('--url <url>', 'gateway WebSocket URL (instead of --host/--port)')
    .option('--key <id>', 'API key id (every command but depth)', integer('--key', 1, 0xffffffff))
    .option('--secret <secret>', 'API key secret (default: $EXCHANGE_API_SECRET)')
    .option('--account <n>', 'account to trade (default: the key\'s demo account, else the key id)', integer('--account', 1, 0xffffffff))
    .option('--json', 'print one JSON object per line')
    .option('--timeout <ms>', 'how long to wait for an answer', integer('--timeout', 1), 5000)
    .option('--price-decimals <n>', 'decimal places of prices (2: "100.50" = 10050)', integer('--price-decimals', 0, 8), 2)
    .option('--cancel-on-disconnect', 'cancel the account\'s open orders when this command disconnects (default: off, orders outlive the command)')
    .showHelpAfterError();

  const globals = () => {
    const options = program.opts<GlobalOptions>();
    if (options.key === undefined) program.error('error: required option \'--key <id>\' not specified');
    return options;
  };
  program.command('order')
    .description('place an order: order buy ACME 10 @ 100.50 (no price: a market order, IOC)')
    .argument('<side>', 'buy or sell')
    .argument('<symbol>', 'symbol (ACME, GLOBX, ...) or instrument id')
    .argument('<quantity>', 'quantity')
    .argument('[price...]', '[@] price')
    .addOption(new Option('--type <type>', 'order type').choices(Object.keys(TYPES)))
    .addOption(new Option('--tif <tif>', 'time in force').choices(Object.keys(TIFS)).default('gtc'))
    .option('--stop <price>', 'stop price (stop and stop-limit orders)')
    .option('--post-only', 'refuse to take liquidity')
    .option('--client-order-id <n>', 'client order id (default: random)', integer('--client-order-id', 1, 0xffffffff))
    .addOption(new Option('--stp <mode>', 'self-trade prevention').choices(Object.keys(STPS)))
    .option('--expire <time>', 'GTD expiry: epoch ms or ISO date')
    .option('--settle <ms>', 'after the acceptance, print fills and cancels of the order arriving within this time', integer('--settle', 0), 200)
    .action((side: string, symbol: string, quantity: string, price: string[], o: OrderOptions) => order(globals(), side, symbol, quantity, price, o));
  program.command('cancel')
    .description('cancel an order by order id')
    .argument('<orderId>')
    .action((orderId: string) => cancel(globals(), orderId));
  program.command('replace')
    .description('change an order\'s quantity and price: replace 17 5 @ 100.40')
    .argument('<orderId>')
    .argument('<quantity>')
    .argument('<price...>', '[@] price')
    .action((orderId: string, quantity: string, price: string[]) => replace(globals(), orderId, quantity, price));
  program.command('mass-cancel')
    .description('cancel every open order of the account (optionally one symbol and side)')
    .argument('[symbol]')
    .option('--side <side>', 'buy or sell only')
    .action((symbol: string | undefined, o: { side?: string }) => massCancel(globals(), symbol, o));
  program.command('status')
    .description('one order\'s state, by order id or --client-order-id')
    .argument('[orderId]')
    .option('--client-order-id <n>', 'look the order up by its client order id', integer('--client-order-id', 1, 0xffffffff))
    .action((orderId: string | undefined, o: { clientOrderId?: number }) => status(globals(), orderId, o));
  program.command('positions')
    .description('the account\'s positions (optionally one symbol)')
    .argument('[symbol]')
    .action((symbol: string | undefined) => positions(globals(), symbol));
  program.command('summary')
    .description('the account\'s cash, reserved cash, equity and margin')
    .action(() => summary(globals()));
  program.command('book')
    .alias('watch')
    .description('print the account\'s order events live (reconnects and replays on connection loss) until Ctrl-C')
    .argument('[symbol]', 'only this symbol')
    .option('--duration <ms>', 'stop after this long (0: until Ctrl-C)', integer('--duration', 0), 0)
    .option('--from <sequence>', 'first replay the key\'s messages from this session sequence', integer('--from', 1))
    .option('--all', 'print every sequenced message, not only order events')
    .action((symbol: string | undefined, o: { duration: number; from?: number; all?: boolean }) => book(globals(), symbol, o));
  program.command('depth')
    .description('watch an instrument\'s order book (L2, verified by sequence and checksum) live from the market-data endpoint; no key needed')
    .argument('<symbol>', 'symbol or instrument id')
    .option('--md-port <port>', 'market-data port', integer('--md-port', 1, 65535), defaultConfig().marketDataPort)
    .option('--levels <n>', 'price levels shown per side', integer('--levels', 1, 50), 10)
    .option('--duration <ms>', 'stop after this long (0: until Ctrl-C)', integer('--duration', 0), 0)
    .action((symbol: string, o: DepthOptions) => depth(program.opts<GlobalOptions>(), symbol, o));
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (error) {
    if (error instanceof Refused) {
      process.exitCode = EXIT_REFUSED;
      return;
    }
    process.stderr.write(`exchange-client: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) void main();
