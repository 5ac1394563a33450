/**
 * Backpressure end to end: with a tiny inbound ring, a client flooding orders gets
 * SYSTEM_BUSY for what does not fit — never a silent drop, never a blocked gateway —
 * and the exchange keeps answering afterwards. Every order is either acknowledged
 * (OrderAccepted/OrderRejected) or refused SYSTEM_BUSY, exactly once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestExchange, TestExchange } from './helpers/test-exchange';
import { GatewayReject } from '../gateway/protocol/reject-codes';
import { OrderType, Side, TimeInForce } from '../core/codes';
import type { AddressInfo } from 'node:net';

let exchange: TestExchange;
before(async () => {
  exchange = await startTestExchange({
    httpPort: 0,
    inboundCapacity: 64,
    throttle: { ordersPerSecond: 1_000_000, orderBurst: 1_000_000, cancelsPerSecond: 1_000_000, cancelBurst: 1_000_000 },
  });
});
after(async () => {
  await exchange.stop();
  assert.deepEqual(exchange.fatal, []);
});

test('a flood into a 64-slot inbound ring: SYSTEM_BUSY for the overflow, every order answered once, exchange still live', async () => {
  const client = exchange.client(2);
  await client.connect();
  client.keepReceived = false;
  const answered = new Map<number, string>();
  let duplicates = 0;
  client.on('message', (m) => {
    const key = m.type === 'Reject' ? Number(m.refSeq) : m.type === 'OrderAccepted' || m.type === 'OrderRejected' ? Number(m.clientOrderId) : 0;
    if (key === 0) return;
    if (answered.has(key)) duplicates++;
    answered.set(key, m.type === 'Reject' ? `reject:${m.reason}` : m.type);
  });
  const total = 20 * 128;
  let clientOrderId = 0;
  for (let frame = 0; frame < 20; frame++) {
    client.batch(() => {
      for (let i = 0; i < 128; i++) {
        clientOrderId++;
        // client sequence == clientOrderId here (one request per order, first request of the session)
        client.send('NewOrder', { account: 2, instrument: 1, clientOrderId, side: Side.Sell, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, price: 10_500, quantity: 1 });
      }
    });
  }
  const deadline = Date.now() + 20_000;
  while (answered.size < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(answered.size, total, 'every order answered');
  assert.equal(duplicates, 0);
  const busy = [...answered.values()].filter((v) => v === `reject:${GatewayReject.SYSTEM_BUSY}`).length;
  const accepted = [...answered.values()].filter((v) => v === 'OrderAccepted').length;
  assert.ok(accepted > 0);
  assert.equal(busy + accepted, total, 'nothing else than accepted or busy');
  // The full ring made the gateway stop reading its sockets for a while (reported every second).
  const address = (exchange.supervisor as unknown as { http: { address(): AddressInfo } }).http.address();
  const pauses = async () => Number((await (await fetch(`http://127.0.0.1:${address.port}/metrics`)).text()).match(/^exchange_gateway_read_pauses_total (\d+)/m)![1]);
  const statsDeadline = Date.now() + 5_000;
  while ((await pauses()) === 0 && Date.now() < statsDeadline) await new Promise((r) => setTimeout(r, 100));
  assert.ok((await pauses()) > 0, 'the gateway paused reading while the ring was full');
  // Still live after the flood.
  client.keepReceived = true;
  client.send('MassCancel', { account: 2, instrument: 0, side: 0 });
  const done = await client.next((m) => m.type === 'MassCancelDone', 10_000);
  assert.equal(done.canceledCount, accepted);
  await client.close();
});
