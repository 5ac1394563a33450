/**
 * Gateway checkpoints (gateway/order-entry/gateway-checkpoint.ts): after a graceful stop the
 * next start scans only the journal events after the checkpoint, and the keys' sequences,
 * replay and queries continue exactly as after a full scan; a checkpoint that does not
 * describe this journal is refused and the gateway scans from event 1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import pino from 'pino';
import { startTestExchange, TestExchange } from './helpers/test-exchange';
import { GATEWAY_CHECKPOINT_VERSION, checkpointPath, restoreCheckpoint } from '../gateway/order-entry/gateway-checkpoint';
import { KeyRouting } from '../gateway/order-entry/key-routing';
import { AccountViews, SaveBuffers } from '../gateway/order-entry/account-view';
import { Events } from '../core/schema';
import { OrderType, Side, TimeInForce } from '../core/codes';

/** A logger that keeps the threads' log lines. */
function capturing(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _encoding, done) { lines.push(String(chunk)); done(); } });
  return { log: pino({ level: 'info' }, sink), lines };
}

/** A checkpoint file's JSON line (the raw Float64Array bytes follow it). */
function checkpointHeader(file: string): any {
  const bytes = readFileSync(file);
  return JSON.parse(bytes.toString('utf8', 0, bytes.indexOf(0x0a)));
}

/** Rewrites a checkpoint file's JSON line, keeping the bytes after it. */
function rewriteHeader(file: string, header: unknown): void {
  const bytes = readFileSync(file);
  writeFileSync(file, Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), bytes.subarray(bytes.indexOf(0x0a) + 1)]));
}

const scans = (lines: string[]) => lines.map((l) => JSON.parse(l).msg as string).filter((m) => /session sequences of \d+ keys/.test(m));

/**
 * Places `count` resting orders as key 4, then returns the next server sequence a logon reports (a logon numbers
 * nothing; cancel-on-disconnect is off, so closing numbers nothing either).
 */
async function trade(exchange: TestExchange, from: number, count: number): Promise<number> {
  const client = exchange.client(4, { cancelOnDisconnect: false });
  await client.connect();
  for (let i = 0; i < count; i++) {
    client.send('NewOrder', { account: 4, instrument: 1, clientOrderId: from + i, side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, price: 9_000 + i, quantity: 1 });
  }
  await client.next((m) => m.type === 'OrderAccepted' && m.clientOrderId === from + count - 1);
  await client.close();
  await new Promise((resolve) => setTimeout(resolve, 100)); // the orders' hold events too
  return nextSequence(exchange);
}

async function nextSequence(exchange: TestExchange): Promise<number> {
  const client = exchange.client(4, { cancelOnDisconnect: false });
  const ack = await client.connect();
  await client.close();
  return Number(ack.nextServerSequence);
}

test('a graceful stop leaves a checkpoint: the next start scans only the tail, sequences continue; a foreign checkpoint is refused', { timeout: 60_000 }, async () => {
  const dataDirectory = mkdtempSync(path.join(os.tmpdir(), 'gateway-checkpoint-'));
  const overrides = { gatewayWorkers: 1 };
  try {
    let exchange = await startTestExchange(overrides, dataDirectory);
    const firstRunNext = await trade(exchange, 1, 20);
    await exchange.stop();
    const checkpoint = checkpointHeader(checkpointPath(path.join(dataDirectory, 'journal.db'), 1));
    assert.ok(checkpoint.eventSequence > 0);

    // Second run: the scan starts after the checkpoint; the key's numbering continues.
    let captured = capturing();
    exchange = await startTestExchange(overrides, dataDirectory, {}, captured.log);
    const [second] = scans(captured.lines);
    assert.match(second!, new RegExp(`from 0 journal events \\(${checkpoint.eventSequence + 1}\\.\\.${checkpoint.eventSequence};`), second);
    assert.equal(await nextSequence(exchange), firstRunNext, 'the key continues where the first run ended');
    const client = exchange.client(4, { cancelOnDisconnect: false });
    await client.connect();
    client.send('OrderStatusRequest', { account: 4, orderId: 0, clientOrderId: 7 });
    assert.equal((await client.next((m) => m.type === 'OrderStatus')).clientOrderId, 7, 'the query view came back with the checkpoint');
    await client.close();
    const secondRunNext = await trade(exchange, 100, 5);
    assert.ok(secondRunNext > firstRunNext + 5, 'numbering went on');
    await exchange.stop();

    // A checkpoint from another history (its record hash differs): refused, full scan, same numbering.
    const file = checkpointPath(path.join(dataDirectory, 'journal.db'), 1);
    const foreign = checkpointHeader(file);
    foreign.recordHash = '00'.repeat(32);
    foreign.streams.find((s: { keyId: number }) => s.keyId === 4).nextServerSequence = 1;
    rewriteHeader(file, foreign);
    captured = capturing();
    exchange = await startTestExchange(overrides, dataDirectory, {}, captured.log);
    const messages = captured.lines.map((l) => JSON.parse(l).msg as string);
    assert.ok(messages.some((m) => /scanning the whole journal \(the journal's record at \d+ is not the one the checkpoint saw\)/.test(m)), messages.join('\n'));
    assert.match(scans(captured.lines)[0]!, / \(1\.\./);
    assert.equal(await nextSequence(exchange), secondRunNext, 'a full scan numbers the same');
    await exchange.stop();
  } finally {
    rmSync(dataDirectory, { recursive: true, force: true });
  }
});

test('a running gateway checkpoints every gatewayCheckpointEveryEvents events; a restart from such a checkpoint (as after a crash) numbers exactly as a full scan', { timeout: 60_000 }, async () => {
  const dataDirectory = mkdtempSync(path.join(os.tmpdir(), 'gateway-checkpoint-running-'));
  const overrides = { gatewayWorkers: 1, gatewayCheckpointEveryEvents: 10 };
  const file = checkpointPath(path.join(dataDirectory, 'journal.db'), 1);
  try {
    let exchange = await startTestExchange(overrides, dataDirectory);
    await trade(exchange, 1, 15);
    // Saved while running (no stop yet), at a record boundary some events back.
    const running = await waitFor(() => (existsSync(file) ? checkpointHeader(file) : undefined), 'a checkpoint while running');
    assert.ok(running.eventSequence >= 10, `checkpoint at ${running.eventSequence}`);
    await trade(exchange, 100, 10);
    const midRunBytes = readFileSync(file);
    const midRun = checkpointHeader(file);
    assert.ok(midRun.eventSequence > running.eventSequence, 'later checkpoints replace earlier ones');
    const lastNext = await nextSequence(exchange);
    await exchange.stop();
    // As after a crash: the newest file is the last periodic one, not the one the stop saved.
    writeFileSync(file, midRunBytes);
    const captured = capturing();
    exchange = await startTestExchange(overrides, dataDirectory, {}, captured.log);
    const [scan] = scans(captured.lines);
    assert.match(scan!, new RegExp(` \\(${midRun.eventSequence + 1}\\.\\.`), 'the scan starts after the periodic checkpoint');
    assert.equal(await nextSequence(exchange), lastNext, 'the key continues exactly where it was');
    const client = exchange.client(4, { cancelOnDisconnect: false });
    await client.connect();
    client.send('OrderStatusRequest', { account: 4, orderId: 0, clientOrderId: 105 });
    assert.equal((await client.next((m) => m.type === 'OrderStatus')).clientOrderId, 105, 'the query view knows the orders of the tail too');
    await client.close();
    await exchange.stop();
  } finally {
    rmSync(dataDirectory, { recursive: true, force: true });
  }
});

async function waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('account views: save() is a deep copy in flat arrays; restore(save()) gives views that save the same', () => {
  const views = new AccountViews(() => true);
  const w = new Float64Array(16);
  const A = Events.OrderAccepted.at;
  for (let i = 1; i <= 500; i++) {
    w.fill(0);
    w[0] = Events.OrderAccepted.code;
    w[A.orderId] = i;
    w[A.account] = 4 + (i % 3);
    w[A.instrument] = 1;
    w[A.clientOrderId] = 1000 + i;
    w[A.side] = i % 2 === 0 ? Side.Buy : Side.Sell;
    w[A.orderType] = OrderType.Limit;
    w[A.price] = 9_000 + i;
    w[A.quantity] = 1 + (i % 7);
    views.apply(w, 0);
  }
  const saved = views.save();
  assert.equal(saved.orders.length, 500 * 9);
  assert.equal(saved.clientEntries.length, 500);
  const copy = new AccountViews(() => true);
  copy.restore(saved);
  assert.deepEqual(copy.save(), saved);
  assert.equal(copy.order(5, 0, 1004)?.orderId, 4, 'found by client order id after the restore');
  views.apply(w, 0); // the original goes on changing; the saved copy does not
  assert.deepEqual(copy.save(), saved);
});

test('account views: a save into reused buffers equals a fresh save, also after the views change and grow', () => {
  const views = new AccountViews(() => true);
  const buffers = new SaveBuffers();
  const w = new Float64Array(16);
  const A = Events.OrderAccepted.at;
  const C = Events.OrderCanceled.at;
  let orderId = 0;
  for (const [accepted, canceled] of [[300, 120], [700, 650], [50, 0]]) {
    for (let i = 0; i < accepted; i++) {
      orderId++;
      w.fill(0);
      w[0] = Events.OrderAccepted.code;
      w[A.orderId] = orderId;
      w[A.account] = 4 + (orderId % 3);
      w[A.instrument] = 1;
      w[A.clientOrderId] = 1000 + (orderId % 400); // reused client order ids: only the newest is named
      w[A.side] = Side.Buy;
      w[A.orderType] = OrderType.Limit;
      w[A.price] = 9_000;
      w[A.quantity] = 1;
      views.apply(w, 0);
    }
    for (let i = 0; i < canceled; i++) {
      w.fill(0);
      w[0] = Events.OrderCanceled.code;
      w[C.orderId] = orderId - i;
      w[C.account] = 4 + ((orderId - i) % 3);
      views.apply(w, 0);
    }
    const reused = views.save(buffers);
    assert.deepEqual(reused, views.save(), `after ${orderId} orders`);
    assert.equal(reused.orders.buffer, buffers.rows.buffer, 'the rows are a view of the reused buffer');
    const copy = new AccountViews(() => true);
    copy.restore(reused);
    assert.deepEqual(copy.save(), reused);
  }
});

test('a checkpoint of another format is not read (the gateway scans the journal instead), and the views stay empty', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gateway-checkpoint-format-'));
  try {
    const journalPath = path.join(dir, 'journal.db');
    const older = GATEWAY_CHECKPOINT_VERSION - 1;
    // A format-2 checkpoint: (key, order id) pairs where format 3 has one flag per order.
    writeFileSync(checkpointPath(journalPath, 1), `${JSON.stringify({ version: older, eventSequence: 5, recordHash: '00', streams: [], views: { orders: [], byClientOrderId: [] } })}\n`);
    const views = new AccountViews(() => true);
    const restored = await restoreCheckpoint(journalPath, 1, 10, new KeyRouting([], () => true), views);
    assert.deepEqual(restored, { eventSequence: 0, reason: `checkpoint format ${older}` });
    assert.equal(views.save().orders.length, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
