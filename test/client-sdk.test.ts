/**
 * The client SDK against a live exchange: the reconnecting client keeps an
 * exactly-once, gap-free, in-order stream of sequenced messages across killed sockets
 * (fills happening while it is away, fills racing its reconnects, replays larger than
 * one frame's default message limit), resends requests the server never saw, and the
 * exchange-client CLI places, queries and cancels orders as a child process.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { startTestExchange, TestExchange } from './helpers/test-exchange';
import { ReconnectingClient } from '../gateway/client/reconnecting-client';
import { ExchangeClient, ServerMessage } from '../gateway/client/exchange-client';
import { formatPrice, InstrumentDirectory, parsePrice } from '../gateway/client/instruments';
import { OrderType, Side, TimeInForce } from '../core/codes';

let exchange: TestExchange;
let clientOrderId = 3000;

before(async () => {
  exchange = await startTestExchange();
});
after(async () => {
  await exchange.stop();
  assert.deepEqual(exchange.fatal, []);
});

const limit = (account: number, side: number, price: number, quantity: number) => ({
  account, instrument: 1, clientOrderId: ++clientOrderId, side, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, price, quantity,
});

function secretOf(keyId: number): string {
  return exchange.config.demoAccounts.find((a) => a.keyId === keyId)!.apiSecret;
}

function portOf(keyId: number): number {
  return exchange.config.orderEntryBasePort + (keyId % exchange.config.gatewayWorkers);
}

function reconnecting(keyId: number, initialDelayMs: number): ReconnectingClient {
  return new ReconnectingClient({
    url: `ws://127.0.0.1:${portOf(keyId)}`, keyId, secret: secretOf(keyId), cancelOnDisconnect: false, backoff: { initialDelayMs, jitter: 0 },
  });
}

/** Collects every sequenced message the client emits. */
function record(client: ReconnectingClient): ServerMessage[] {
  const delivered: ServerMessage[] = [];
  client.on('message', (m: ServerMessage) => { if (m.sequence > 0) delivered.push(m); });
  return delivered;
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function assertConsecutive(delivered: ServerMessage[]): void {
  assert.ok(delivered.length > 0);
  for (let i = 1; i < delivered.length; i++) {
    assert.equal(delivered[i].sequence, delivered[i - 1].sequence + 1, `message ${i}: ${delivered[i - 1].sequence} then ${delivered[i].sequence}`);
  }
}

/** The server's own record of the key's stream over the same range (a fresh replay), to compare against. */
async function serverStream(keyId: number, from: number, to: number): Promise<Array<[number, string, number]>> {
  const client = exchange.client(keyId, { cancelOnDisconnect: false });
  await client.connect();
  client.replay(from, to);
  await client.next((m) => m.type === 'ReplayComplete');
  const stream = client.received.filter((m) => m.sequence >= from && m.sequence <= to).map((m): [number, string, number] => [m.sequence, m.type, Number(m.eventSequence)]);
  await client.logout();
  return stream;
}

const fingerprint = (messages: ServerMessage[]) => messages.map((m): [number, string, number] => [m.sequence, m.type, Number(m.eventSequence)]);

async function cleanUp(keyId: number, account: number): Promise<void> {
  const client = exchange.client(keyId, { cancelOnDisconnect: false });
  await client.connect();
  client.send('MassCancel', { account, instrument: 0, side: 0 });
  await client.next((m) => m.type === 'MassCancelDone');
  await client.logout();
}

describe('reconnecting client', () => {
  test('a fill while the socket is dead is replayed after the reconnect: consecutive sequences, no gap, no duplicate', async (t) => {
    const client = reconnecting(5, 300);
    const delivered = record(client);
    await client.start();
    const resting = limit(5, Side.Buy, 9_930, 5);
    client.send('NewOrder', resting);
    const accepted = await client.waitFor((m) => m.type === 'OrderAccepted' && m.clientOrderId === resting.clientOrderId);
    const orderId = Number(accepted.orderId);

    const maker = exchange.client(2);
    await maker.connect();
    const reconnected = new Promise((resolve) => client.once('connected', resolve));
    client.terminate(); // no Logout: a crash or a network loss
    maker.send('NewOrder', limit(2, Side.Sell, 9_930, 2));
    await maker.next((m) => m.type === 'Trade');
    maker.send('NewOrder', limit(2, Side.Sell, 9_930, 3));
    await maker.next((m) => m.type === 'Trade');
    await maker.logout();
    await reconnected;

    await until(() => delivered.filter((m) => m.type === 'Trade').length === 2, 'both trades');
    const trades = delivered.filter((m) => m.type === 'Trade');
    assert.deepEqual(trades.map((m) => [m.makerOrderId, m.quantity, m.makerLeaves]), [[orderId, 2, 3], [orderId, 3, 0]]);
    // Live traffic after the reconnect continues the same stream.
    const next = limit(5, Side.Buy, 9_800, 1);
    client.send('NewOrder', next);
    await client.waitFor((m) => m.type === 'OrderAccepted' && m.clientOrderId === next.clientOrderId);
    assertConsecutive(delivered);
    assert.equal(client.lastSequence, delivered[delivered.length - 1].sequence);
    assert.ok(client.stats.reconnects >= 1 && client.stats.replayRequests >= 1);
    t.diagnostic(`${delivered.length} messages delivered; client stats ${JSON.stringify(client.stats)}`);
    await client.close();
    assert.deepEqual(fingerprint(delivered), await serverStream(5, delivered[0].sequence, client.lastSequence));
    await cleanUp(5, 5);
  });

  test('fills racing repeated socket kills and reconnects: every trade exactly once, in sequence order', async (t) => {
    const client = reconnecting(5, 20);
    const delivered = record(client);
    await client.start();
    const resting = limit(5, Side.Buy, 9_940, 60);
    client.send('NewOrder', resting);
    const orderId = Number((await client.waitFor((m) => m.type === 'OrderAccepted' && m.clientOrderId === resting.clientOrderId)).orderId);
    const maker = exchange.client(2);
    await maker.connect();
    let kills = 0;
    for (let i = 0; i < 60; i++) {
      maker.send('NewOrder', limit(2, Side.Sell, 9_940, 1));
      if (i % 12 === 5) {
        client.terminate();
        kills++;
      }
      await new Promise((resolve) => setTimeout(resolve, 8));
    }
    await until(() => maker.received.filter((m) => m.type === 'Trade').length === 60, 'the maker\'s 60 trades');
    await maker.logout();
    await until(() => delivered.filter((m) => m.type === 'Trade').length === 60, 'all 60 trades at the reconnecting client');
    await new Promise((resolve) => setTimeout(resolve, 100)); // anything late would be a duplicate
    const trades = delivered.filter((m) => m.type === 'Trade');
    assert.equal(trades.length, 60);
    assert.equal(new Set(trades.map((m) => m.eventSequence)).size, 60);
    assert.ok(trades.every((m) => m.makerOrderId === orderId));
    assert.deepEqual(trades.map((m) => m.makerLeaves), Array.from({ length: 60 }, (_, i) => 59 - i));
    assertConsecutive(delivered);
    assert.ok(client.stats.reconnects >= kills - 1, `${client.stats.reconnects} reconnects for ${kills} kills`);
    t.diagnostic(`${kills} kills, ${delivered.length} messages delivered; client stats ${JSON.stringify(client.stats)}`);
    await client.close();
    assert.deepEqual(fingerprint(delivered), await serverStream(5, delivered[0].sequence, client.lastSequence));
  });

  test('a replay of hundreds of missed messages (frames above 128 messages) arrives whole', async () => {
    const client = reconnecting(5, 1500);
    const delivered = record(client);
    const gaps: unknown[] = [];
    client.on('gap', (gap) => gaps.push(gap));
    await client.start();
    const resting = limit(5, Side.Buy, 9_950, 90);
    client.send('NewOrder', resting);
    await client.waitFor((m) => m.type === 'OrderAccepted' && m.clientOrderId === resting.clientOrderId);
    const before = client.lastSequence;
    client.terminate();
    const maker = exchange.client(2);
    await maker.connect();
    maker.batch(() => { for (let i = 0; i < 90; i++) maker.send('NewOrder', limit(2, Side.Sell, 9_950, 1)); });
    await until(() => maker.received.filter((m) => m.type === 'Trade').length === 90, 'the maker\'s 90 trades');
    await maker.logout();
    await until(() => delivered.filter((m) => m.type === 'Trade').length === 90, 'all 90 trades after the replay');
    assert.ok(client.lastSequence - before > 128, `${client.lastSequence - before} messages were replayed`);
    assert.deepEqual(gaps, []);
    assertConsecutive(delivered);
    await client.close();
  });

  test('requests sent while disconnected are sent after the reconnect, each processed once', async () => {
    const client = reconnecting(4, 200);
    const delivered = record(client);
    await client.start();
    client.terminate();
    const queued = [limit(4, Side.Buy, 9_700, 1), limit(4, Side.Buy, 9_701, 2)];
    for (const request of queued) client.send('NewOrder', request);
    await until(() => queued.every((q) => delivered.some((m) => m.type === 'OrderAccepted' && m.clientOrderId === q.clientOrderId)), 'both queued orders accepted');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(delivered.filter((m) => m.type === 'OrderAccepted' || m.type === 'OrderRejected').length, 2);
    assertConsecutive(delivered);
    client.send('MassCancel', { account: 4, instrument: 0, side: 0 });
    await client.waitFor((m) => m.type === 'MassCancelDone');
    await client.close();
  });

  test('a bad secret is fatal, not retried forever', async () => {
    const client = new ReconnectingClient({ url: `ws://127.0.0.1:${portOf(4)}`, keyId: 4, secret: 'wrong-secret-wrong-secret-wrong-secret', startAttempts: 5 });
    await assert.rejects(client.start(), (error: Error & { fatal?: boolean; logonReason?: number }) => error.fatal === true && error.logonReason === 1101);
  });
});

describe('instruments and prices', () => {
  test('symbols and ids, decimal prices', () => {
    const directory = new InstrumentDirectory();
    assert.equal(directory.resolve('ACME'), 1);
    assert.equal(directory.resolve('acme'), 1);
    assert.equal(directory.resolve('3'), 3);
    assert.equal(directory.symbolOf(2), 'GLOBX');
    assert.throws(() => directory.resolve('NOPE'), /unknown symbol/);
    assert.equal(parsePrice('100.50'), 10_050);
    assert.equal(parsePrice('100'), 10_000);
    assert.equal(parsePrice('0.5'), 50);
    assert.throws(() => parsePrice('1.234'), /decimal places/);
    assert.throws(() => parsePrice('-1'), /non-negative/);
    assert.equal(formatPrice(10_050), '100.50');
    assert.equal(formatPrice(5), '0.05');
  });
});

// ------------------------------------------------------------------ CLI

const CLI = path.join(__dirname, '..', 'gateway', 'client', 'cli.js');

function cli(keyId: number, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, '--port', String(portOf(keyId)), '--key', String(keyId), '--secret', secretOf(keyId), ...args], { timeout: 15_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

describe('exchange-client CLI', () => {
  test('order, status, summary, positions, cancel and a refused cancel, as a child process', async () => {
    const placed = await cli(4, 'order', 'buy', 'ACME', '10', '@', '99.50');
    assert.equal(placed.code, 0, placed.stderr);
    const match = /^accepted order (\d+) \(client \d+\): BUY 10 ACME @ 99\.50 Limit GTC/m.exec(placed.stdout);
    assert.ok(match, placed.stdout);
    const orderId = match[1];

    const status = await cli(4, 'status', orderId);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^order ${orderId} \\(client \\d+\\) OPEN: BUY 10 ACME @ 99\\.50, leaves 10`, 'm'));

    const summary = await cli(4, '--json', 'summary');
    assert.equal(summary.code, 0, summary.stderr);
    const account = JSON.parse(summary.stdout.trim());
    assert.equal(account.type, 'AccountSummary');
    assert.equal(account.account, 4);
    assert.ok(account.reservedCash >= 995_00, `reserved ${account.reservedCash}`);

    const positions = await cli(4, 'positions');
    assert.equal(positions.code, 0, positions.stderr);
    assert.ok(positions.stdout.length > 0);

    const canceled = await cli(4, 'cancel', orderId);
    assert.equal(canceled.code, 0, canceled.stderr);
    assert.match(canceled.stdout, new RegExp(`^canceled order ${orderId}: BUY 10 ACME @ 99\\.50 \\(USER\\)`, 'm'));

    const again = await cli(4, 'cancel', orderId);
    assert.equal(again.code, 2);
    assert.match(again.stdout, /cancel of order \d+ rejected: TOO_LATE_TO_CANCEL/);
  });

  test('depth watches the L2 book from the market-data endpoint without a key', async () => {
    const placed = await cli(4, 'order', 'buy', 'GLOBX', '7', '@', '249.00');
    assert.equal(placed.code, 0, placed.stderr);
    const watched = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [CLI, '--json', 'depth', 'GLOBX', '--md-port', String(exchange.config.marketDataPort), '--duration', '700'], { timeout: 15_000 }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
      });
    });
    assert.equal(watched.code, 0, watched.stderr);
    const last = JSON.parse(watched.stdout.trim().split('\n').pop()!);
    assert.equal(last.instrument, 2);
    assert.ok(last.bids.some((l: { price: number; quantity: number }) => l.price === 24_900 && l.quantity >= 7), JSON.stringify(last.bids));
    const text = await new Promise<string>((resolve) => {
      execFile(process.execPath, [CLI, 'depth', 'GLOBX', '--md-port', String(exchange.config.marketDataPort), '--duration', '500'], { timeout: 15_000 }, (_error, stdout) => resolve(stdout));
    });
    assert.match(text, /^GLOBX L2, sequence \d+, checksum verified$/m);
    assert.match(text, /^bid\s+249\.00\s+\d+\s+\d+$/m);
    const keyless = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, [CLI, 'summary'], { timeout: 15_000 }, (error, _stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code), stderr }));
    });
    assert.notEqual(keyless.code, 0);
    assert.match(keyless.stderr, /required option '--key <id>' not specified/);
  });

  test('usage errors and a rejected order exit non-zero with a message', async () => {
    const unknown = await cli(4, 'order', 'buy', 'NOPE', '1', '@', '1');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown symbol "NOPE"/);
    const outsideBand = await cli(4, 'order', 'buy', 'ACME', '1', '@', '1.00');
    assert.equal(outsideBand.code, 2);
    assert.match(outsideBand.stdout, /rejected new order .*PRICE_OUTSIDE_BANDS/);
  });

  test('book replays and then prints the account\'s order events live', async () => {
    const placed = await cli(4, 'order', 'buy', 'ACME', '2', '@', '100.20');
    const orderId = /^accepted order (\d+)/m.exec(placed.stdout)?.[1];
    assert.ok(orderId, placed.stdout + placed.stderr);
    const args = ['--port', String(portOf(4)), '--key', '4', '--secret', secretOf(4), 'book', 'ACME', '--from', '1', '--duration', '10000'];
    const watcher = spawn(process.execPath, [CLI, ...args]);
    let stdout = '';
    let stderr = '';
    watcher.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    watcher.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const exited = new Promise<number>((resolve) => watcher.on('exit', (code) => resolve(code ?? -1)));
    try {
      await until(() => stdout.includes(`accepted order ${orderId} `), 'the replayed acceptance');
      // Key 4 is the watcher's: fill its resting order from another account, and see the trade live.
      const seller = new ExchangeClient({ url: `ws://127.0.0.1:${portOf(2)}`, keyId: 2, secret: secretOf(2) });
      await seller.connect();
      seller.send('NewOrder', limit(2, Side.Sell, 10_020, 2));
      await seller.next((m) => m.type === 'Trade');
      await seller.logout();
      await until(() => new RegExp(`trade 2 ACME @ 100\\.20: maker order ${orderId} \\(account 4, leaves 0\\)`).test(stdout), 'the live trade');
    } finally {
      watcher.kill('SIGINT');
    }
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /logged on; next server sequence \d+/);
    assert.match(stdout, /canceled order \d+: BUY 10 ACME @ 99\.50 \(USER\)/, 'the earlier CLI test\'s events, replayed');
  });
});
