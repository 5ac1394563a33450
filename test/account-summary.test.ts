/**
 * AccountSummary over real sockets: status, cash, equity at the marks and the maintenance
 * requirement follow the core's rules — the mark moves with every trade of the instrument
 * (also trades between other accounts), new margin parameters change the requirement, a
 * split moves shares and the mark together, and a cash account has no requirement.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestExchange } from './helpers/test-exchange';
import { AccountStatus, OrderType, Side, TimeInForce } from '../core/codes';
import type { ExchangeClient } from '../gateway/client/exchange-client';

const ACME = 1;

test('AccountSummary reports status, equity at the marks and the maintenance requirement as the core computes them', { timeout: 30_000 }, async () => {
  const exchange = await startTestExchange({ demoFlow: false });
  const clients: ExchangeClient[] = [];
  try {
    const connect = async (keyId: number) => {
      const client = exchange.client(keyId);
      await client.connect();
      clients.push(client);
      return client;
    };
    const [maker, trader, taker, ops] = await Promise.all([connect(2), connect(5), connect(3), connect(9)]);
    let clientOrderId = 100;
    const limit = (client: ExchangeClient, account: number, side: number, price: number, quantity: number, tif: number = TimeInForce.GTC) =>
      client.send('NewOrder', { account, instrument: ACME, clientOrderId: ++clientOrderId, side, orderType: OrderType.Limit, timeInForce: tif, price, quantity });
    const summary = async (client: ExchangeClient, account: number) => {
      client.send('AccountSummaryRequest', { account });
      return client.next((m) => m.type === 'AccountSummary' && m.account === account);
    };
    const requirement = (quantity: number, mark: number, bps: number) => Math.ceil((Math.abs(quantity) * mark * bps) / 10_000);

    // The margin trader (account 5) buys 10 ACME from the maker at 100.10.
    limit(maker, 2, Side.Sell, 10_010, 10);
    await maker.next((m) => m.type === 'OrderAccepted');
    limit(trader, 5, Side.Buy, 10_010, 10, TimeInForce.IOC);
    await trader.next((m) => m.type === 'Trade');
    let s = await summary(trader, 5);
    assert.equal(s.status, AccountStatus.Active);
    assert.equal(s.equity, Number(s.cashBalance) + 10 * 10_010);
    assert.equal(s.maintenanceRequirement, requirement(10, 10_010, 2500));

    // Others trade at 100.40: the trader's mark moves with it.
    limit(maker, 2, Side.Sell, 10_040, 3);
    await maker.next((m) => m.type === 'OrderAccepted' && m.price === 10_040);
    limit(taker, 3, Side.Buy, 10_040, 3, TimeInForce.IOC);
    await taker.next((m) => m.type === 'Trade');
    s = await summary(trader, 5);
    assert.equal(s.equity, Number(s.cashBalance) + 10 * 10_040);
    assert.equal(s.maintenanceRequirement, requirement(10, 10_040, 2500));

    // New margin parameters for ACME: 40% maintenance.
    ops.send('SetMarginParameters', { instrument: ACME, initialBasisPoints: 6000, maintenanceBasisPoints: 4000, liquidationBasisPoints: 2000 });
    await ops.next((m) => m.type === 'MarginParametersSet');
    s = await summary(trader, 5);
    assert.equal(s.maintenanceRequirement, requirement(10, 10_040, 4000));

    // A 3-for-2 split: 15 shares, the mark 10_040 x 2 / 3 rounded to the tick (6693).
    const cashBefore = Number(s.cashBalance);
    ops.send('StockSplit', { instrument: ACME, numerator: 3, denominator: 2 });
    await ops.next((m) => m.type === 'CorporateActionApplied');
    await new Promise((resolve) => setTimeout(resolve, 100));
    s = await summary(trader, 5);
    const mark = Math.round(Math.floor((10_040 * 2) / 3));
    assert.equal(Number(s.cashBalance), cashBefore, 'no fractional share, no cash in lieu');
    assert.equal(s.equity, cashBefore + 15 * mark);
    assert.equal(s.maintenanceRequirement, requirement(15, mark, 4000));

    // The cash account that bought 3 shares: equity at the mark, no requirement.
    const cashAccount = await summary(taker, 3);
    assert.equal(cashAccount.maintenanceRequirement, 0);
    assert.ok(Number(cashAccount.equity) > Number(cashAccount.cashBalance), 'its shares count');
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await exchange.stop();
  }
});
