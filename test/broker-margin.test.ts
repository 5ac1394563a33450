/**
 * A margin customer of the broker: KYC asks for a margin account, the core opens one, the
 * customer buys on margin, and when the requirement rises above the equity the core's
 * margin call reaches the customer as a notification (HTTP inbox and WebSocket).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import type { TestExchange } from './helpers/test-exchange';
import { ExchangeClient } from '../gateway/client/exchange-client';
import { OrderType, Side, TimeInForce } from '../core/codes';
import { Api, newUser, until, whenConnected, startBrokerExchange } from './helpers/broker-api';

describe('broker margin accounts', { timeout: 60_000 }, () => {
  let exchange: TestExchange;
  let base = '';
  const clients: ExchangeClient[] = [];

  before(async () => {
    ({ exchange, base } = await startBrokerExchange({ demoFlow: false }));
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await exchange?.stop();
  });

  it('a margin account buys on margin; a margin call is pushed and listed in the inbox', async () => {
    const { api: dana } = await newUser(base, 'dana@example.com', { approve: true, adminToken: exchange.config.adminToken, accountType: 'margin' });
    dana.patient = true;
    assert.equal((await dana.call('GET', '/api/kyc')).body.kyc.accountType, 'margin');
    const deposit = await whenConnected(() => new Api(base, exchange.config.adminToken).call('POST', '/api/admin/deposits', { email: 'dana@example.com', amount: 1_000_000 }));
    assert.equal(deposit.status, 201, JSON.stringify(deposit.body));
    const pushed: any[] = [];
    const ws = new WebSocket(`${base.replace('http', 'ws')}/ws`, { headers: { authorization: `Bearer ${dana.token}` } });
    ws.on('message', (data) => pushed.push(JSON.parse(data.toString())));
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });

    const maker = exchange.client(2);
    const ops = exchange.client(9);
    clients.push(maker, ops);
    await Promise.all([maker.connect(), ops.connect()]);
    maker.send('NewOrder', { account: 2, instrument: 1, clientOrderId: 1, side: Side.Sell, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, price: 10_000, quantity: 150 });
    await maker.next((m) => m.type === 'OrderAccepted');
    // 150 x 100.00 = 15,000 on 10,000 of equity: only a margin account may.
    const bought = await dana.call('POST', '/api/orders', { symbol: 'ACME', side: 'buy', price: 10_000, quantity: 150, timeInForce: 'IOC' });
    assert.equal(bought.body.order?.status, 'filled', JSON.stringify(bought.body));

    // Buying power as the core counts it: equity above the initial requirement (50 %).
    const before = await until(async () => {
      const p = (await dana.call('GET', '/api/portfolio')).body.portfolio;
      return p.positions.length === 1 ? p : undefined;
    }, 'the position');
    assert.equal(before.accountType, 'margin', JSON.stringify(before));
    assert.equal(before.buyingPower, before.cash + 1_500_000 - 750_000, JSON.stringify(before));
    assert.equal(before.withdrawable, Math.max(0, Math.min(before.cash - before.unsettledCash - before.reserved, before.buyingPower)));

    // 90 % maintenance on ACME: 13,500 required against ~10,000 of equity.
    ops.send('SetMarginParameters', { instrument: 1, initialBasisPoints: 9500, maintenanceBasisPoints: 9000, liquidationBasisPoints: 100 });
    await ops.next((m) => m.type === 'MarginParametersSet');
    const call = await until(async () => (await dana.call('GET', '/api/notifications')).body.notifications.find((n: any) => n.kind === 'margin_call'), 'the margin call');
    assert.match(call.message, /^Margin call: equity .* is below the maintenance requirement 13500\.00/);
    assert.equal(call.data.requirement, 1_350_000);
    const after = (await dana.call('GET', '/api/portfolio')).body.portfolio;
    assert.equal(after.buyingPower, after.cash + 1_500_000 - 1_425_000, 'the new initial margin (95 %) is applied');
    assert.equal(after.withdrawable, 0);
    await until(async () => (pushed.some((m) => m.type === 'notification' && m.notification?.kind === 'margin_call') ? true : undefined), 'the pushed margin call');
    ws.close();
  });
});
