/**
 * The real server over real sockets: logon, order entry and its responses, fills to
 * both sides, retransmissions, throttling, cancel-on-disconnect, replay after a
 * reconnect, queries, and bad input that never disturbs other sessions.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startTestExchange, TestExchange } from './helpers/test-exchange';
import { ExchangeClient } from '../gateway/client/exchange-client';
import { OrderType, RejectReason, Side, TimeInForce } from '../core/codes';
import { GatewayReject } from '../gateway/protocol/reject-codes';
import { CloseCode } from '../gateway/protocol/close-codes';
import { OrderStatusCode } from '../gateway/protocol/session-schema';

let exchange: TestExchange;
let clientOrderId = 1000;
const order = (account: number, side: number, price: number, quantity: number, extra: Record<string, number> = {}) => ({
  account, instrument: 1, clientOrderId: ++clientOrderId, side, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, price, quantity, ...extra,
});

before(async () => {
  exchange = await startTestExchange();
});
after(async () => {
  await exchange.stop();
  assert.deepEqual(exchange.fatal, []);
});

async function closeCode(client: ExchangeClient): Promise<number> {
  return new Promise((resolve) => client.once('close', (code: number) => resolve(code)));
}

describe('logon', () => {
  test('a good key logs on and gets its sequences: its stream starts with the journal (its account\'s bootstrap events)', async () => {
    const client = exchange.client(4);
    const ack = await client.connect();
    assert.equal(ack.type, 'LogonAck');
    assert.equal(ack.lastClientSequence, 0);
    client.replay(1);
    const complete = await client.next((m) => m.type === 'ReplayComplete');
    const replayed = client.received.filter((m) => m.sequence > 0);
    assert.deepEqual(replayed.map((m) => [m.sequence, m.type, m.account]), [[1, 'AccountOpened', 4], [2, 'AccountStatusChanged', 4], [3, 'CashDeposited', 4]]);
    assert.equal(ack.nextServerSequence, 4);
    assert.deepEqual([complete.fromSequence, complete.toSequence], [1, 3]);
    await client.close();
  });

  test('a bad signature is refused with LogonReject and close 4002', async () => {
    const client = exchange.client(5);
    (client.options as { secret: string }).secret = 'not-the-secret-not-the-secret-0123';
    const closed = closeCode(client);
    await assert.rejects(client.connect(), /logon rejected: reason 1101/);
    assert.equal(await closed, CloseCode.LOGON_FAILED);
  });

  test('a second live session for the same key is refused', async () => {
    const first = exchange.client(2);
    await first.connect();
    const second = exchange.client(2);
    await assert.rejects(second.connect(), /reason 1104/);
    await first.close();
  });

  test('a key at the wrong gateway port is closed with 4007', async () => {
    const account = exchange.config.demoAccounts.find((a) => a.keyId === 4)!;
    const wrongPort = exchange.config.orderEntryBasePort + ((4 + 1) % 2);
    const client = new ExchangeClient({ url: `ws://127.0.0.1:${wrongPort}`, keyId: 4, secret: account.apiSecret });
    const closed = closeCode(client);
    await assert.rejects(client.connect());
    assert.equal(await closed, CloseCode.WRONG_GATEWAY);
  });
});

describe('order entry', () => {
  test('accept, fill both sides, cancel, replace, cancel-reject, all over the wire', async () => {
    const maker = exchange.client(2);
    const taker = exchange.client(4);
    await maker.connect();
    await taker.connect();
    maker.send('NewOrder', order(2, Side.Sell, 10_050, 30));
    const accepted = await maker.next((m) => m.type === 'OrderAccepted');
    const makerOrderId = Number(accepted.orderId);
    taker.send('NewOrder', order(4, Side.Buy, 10_050, 10));
    const takerTrade = await taker.next((m) => m.type === 'Trade');
    const makerTrade = await maker.next((m) => m.type === 'Trade');
    assert.equal(takerTrade.price, 10_050);
    assert.equal(takerTrade.quantity, 10);
    assert.equal(makerTrade.makerOrderId, makerOrderId);
    assert.equal(makerTrade.makerLeaves, 20);
    assert.ok(Number(takerTrade.takerFee) > 0);
    maker.send('ReplaceOrder', { account: 2, orderId: makerOrderId, price: 10_060, quantity: 25 });
    const replaced = await maker.next((m) => m.type === 'OrderReplaced');
    assert.equal(replaced.leavesQuantity, 15);
    maker.send('CancelOrder', { account: 2, orderId: makerOrderId });
    const canceled = await maker.next((m) => m.type === 'OrderCanceled');
    assert.equal(canceled.canceledQuantity, 15);
    maker.send('CancelOrder', { account: 2, orderId: makerOrderId });
    const refused = await maker.next((m) => m.type === 'CancelRejected');
    assert.equal(refused.reason, RejectReason.TOO_LATE_TO_CANCEL);
    taker.send('NewOrder', order(4, Side.Buy, 10_000, 1, { instrument: 999 }));
    assert.equal((await taker.next((m) => m.type === 'OrderRejected')).reason, RejectReason.UNKNOWN_INSTRUMENT);
    await maker.close();
    await taker.close();
  });

  test('every server message carries the next per-session sequence number', async () => {
    const client = exchange.client(4);
    const sequences: number[] = [];
    client.on('message', (m) => m.sequence > 0 && sequences.push(m.sequence));
    await client.connect();
    for (let i = 0; i < 5; i++) client.send('NewOrder', order(4, Side.Buy, 9_900 + i, 1));
    await client.next((m) => m.type === 'OrderAccepted' && m.price === 9_904);
    assert.ok(sequences.length >= 10, 'accepts and holds');
    for (let i = 1; i < sequences.length; i++) assert.equal(sequences[i], sequences[i - 1] + 1);
    client.send('MassCancel', { account: 4, instrument: 0, side: 0 });
    await client.next((m) => m.type === 'MassCancelDone');
    await client.close();
  });

  test('a request at or below the last client sequence is ignored as a retransmission', async () => {
    const client = exchange.client(4);
    await client.connect();
    const request = order(4, Side.Buy, 9_910, 1);
    const sequence = client.send('NewOrder', request);
    await client.next((m) => m.type === 'OrderAccepted' && m.clientOrderId === request.clientOrderId);
    client.resend('NewOrder', request, sequence);
    client.send('OrderStatusRequest', { account: 4, orderId: 0, clientOrderId: request.clientOrderId });
    const status = await client.next((m) => m.type === 'OrderStatus');
    assert.equal(status.status, OrderStatusCode.Open);
    assert.equal(client.received.filter((m) => m.type === 'OrderRejected').length, 0, 'no duplicate-id reject: the resend never reached the matcher');
    client.send('MassCancel', { account: 4, instrument: 0, side: 0 });
    await client.next((m) => m.type === 'MassCancelDone');
    await client.close();
  });

  test('orders on another account are refused ACCOUNT_MISMATCH, admin templates NOT_PERMITTED', async () => {
    const client = exchange.client(4);
    await client.connect();
    client.send('NewOrder', order(3, Side.Buy, 9_000, 1));
    assert.equal((await client.next((m) => m.type === 'Reject')).reason, GatewayReject.ACCOUNT_MISMATCH);
    client.send('HaltInstrument', { instrument: 1 });
    assert.equal((await client.next((m) => m.type === 'Reject')).reason, GatewayReject.NOT_PERMITTED);
    await client.close();
  });

  test('throttling: beyond the burst, requests get Reject(THROTTLED) with a retry-after', async () => {
    const client = exchange.client(5);
    await client.connect();
    client.batch(() => {
      for (let i = 0; i < 130; i++) client.send('NewOrder', order(5, Side.Buy, 9_800, 1));
    });
    const throttled = await client.next((m) => m.type === 'Reject' && m.reason === GatewayReject.THROTTLED);
    assert.ok(Number(throttled.retryAfterMs) > 0);
    client.send('MassCancel', { account: 5, instrument: 0, side: 0 });
    const done = await client.next((m) => m.type === 'MassCancelDone');
    assert.ok(Number(done.canceledCount) >= 90 && Number(done.canceledCount) <= 110, `accepted about one burst (${done.canceledCount})`);
    await client.close();
  });
});

describe('sessions', () => {
  test('cancel-on-disconnect cancels the account\'s orders when the connection drops', async () => {
    const client = exchange.client(4);
    await client.connect();
    const request = order(4, Side.Buy, 9_920, 3);
    client.send('NewOrder', request);
    await client.next((m) => m.type === 'OrderAccepted');
    client.terminate();
    await new Promise((r) => setTimeout(r, 300));
    const again = exchange.client(4);
    await again.connect();
    again.send('OrderStatusRequest', { account: 4, orderId: 0, clientOrderId: request.clientOrderId });
    assert.equal((await again.next((m) => m.type === 'OrderStatus')).status, OrderStatusCode.Canceled);
    await again.close();
  });

  test('after a reconnect, replay delivers exactly the missed messages', async () => {
    const client = exchange.client(5, { cancelOnDisconnect: false });
    await client.connect();
    client.send('NewOrder', order(5, Side.Buy, 9_930, 1));
    await client.next((m) => m.type === 'OrderAccepted');
    const seen = client.lastServerSequence;
    client.terminate();
    await new Promise((r) => setTimeout(r, 200));
    // Messages produced while disconnected: a fill of the resting order.
    const other = exchange.client(2);
    await other.connect();
    other.send('NewOrder', order(2, Side.Sell, 9_930, 1));
    await other.next((m) => m.type === 'Trade');
    await other.close();
    const back = exchange.client(5);
    const ack = await back.connect();
    assert.ok(Number(ack.nextServerSequence) > seen + 1, 'messages were produced while away');
    back.replay(seen + 1);
    const complete = await back.next((m) => m.type === 'ReplayComplete');
    assert.equal(complete.fromSequence, seen + 1);
    assert.equal(complete.toSequence, Number(ack.nextServerSequence) - 1);
    const replayed = back.received.filter((m) => m.sequence > seen);
    assert.deepEqual(replayed.map((m) => m.sequence), Array.from({ length: Number(complete.toSequence) - seen }, (_, i) => seen + 1 + i));
    assert.ok(replayed.some((m) => m.type === 'Trade'));
    await back.close();
  });

  test('a text frame closes with 1003 and garbage never disturbs another session', async () => {
    const bystander = exchange.client(4);
    await bystander.connect();
    const port = exchange.config.orderEntryBasePort;
    const raw = new WebSocket(`ws://127.0.0.1:${port}`);
    await new Promise((r) => raw.once('open', r));
    const closed = new Promise<number>((r) => raw.once('close', (code) => r(code)));
    raw.send('hello');
    assert.equal(await closed, CloseCode.UNSUPPORTED_DATA);
    const raw2 = new WebSocket(`ws://127.0.0.1:${port}`);
    await new Promise((r) => raw2.once('open', r));
    const closed2 = new Promise<number>((r) => raw2.once('close', (code) => r(code)));
    raw2.send(Buffer.from([0x03, 0x00, 0x01, 0x01, 0xff]));
    assert.equal(await closed2, CloseCode.MALFORMED_FRAME);
    bystander.send('NewOrder', order(4, Side.Buy, 9_940, 1));
    assert.equal((await bystander.next((m) => m.type === 'OrderAccepted')).price, 9_940);
    bystander.send('MassCancel', { account: 4, instrument: 0, side: 0 });
    await bystander.next((m) => m.type === 'MassCancelDone');
    await bystander.close();
  });
});
