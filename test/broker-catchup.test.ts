/**
 * The broker's read models catch up from the journal: a fill the exchange journaled
 * but the broker never applied (a crash between the two) is applied at the next
 * start, and broker.db records how far it has applied.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import os from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { startTestExchange } from './helpers/test-exchange';
import { readJournalFile } from '../journal/sqlite-journal';
import { decodeEvent } from '../core/record-objects';
import { EVENT_WORDS } from '../core/schema';
import { OrderType, Side, TimeInForce } from '../core/codes';
import { Api, freePort, until, whenConnected } from './helpers/broker-api';

test('a fill journaled but never applied by the broker is applied from the journal at the next start', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'broker-catchup-'));
  try {
    const brokerPort = await freePort();
    let exchange = await startTestExchange({ brokerPort }, dir);
    const base = `http://127.0.0.1:${brokerPort}`;
    const admin = new Api(base, exchange.config.adminToken);
    const user = new Api(base);
    await new Api(base).call('POST', '/api/signup', { email: 'dave@example.com', password: 'daves long password' });
    user.token = (await new Api(base).call('POST', '/api/login', { email: 'dave@example.com', password: 'daves long password' })).body.token;
    const kyc = await user.call('POST', '/api/kyc', { name: 'Dave Example', dateOfBirth: '1980-02-02', address: '2 Side St, Springfield', documentReference: 'P-777777' });
    const approved = await whenConnected(() => admin.call('POST', `/api/admin/kyc/${kyc.body.kyc.id}/approve`));
    const account = approved.body.kyc.account as number;
    await whenConnected(() => admin.call('POST', '/api/admin/deposits', { email: 'dave@example.com', amount: 5_000_000 }));
    const maker = exchange.client(2);
    await maker.connect();
    maker.send('NewOrder', { account: 2, instrument: 1, clientOrderId: 1, side: Side.Sell, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, price: 10_000, quantity: 10 });
    await maker.next((m) => m.type === 'OrderAccepted');
    const placed = await whenConnected(() => user.call('POST', '/api/orders', { symbol: 'ACME', side: 'buy', type: 'limit', timeInForce: 'GTC', price: 10_000, quantity: 4 }));
    const orderId = placed.body.order.id as number;
    await until(async () => (await user.call('GET', `/api/orders/${orderId}`)).body.order.status === 'filled' || undefined, 'the fill');
    await maker.close();
    await exchange.stop();

    // The crash: broker.db lost everything from the trade on (as if it died before its commit).
    let tradeSequence = 0;
    for await (const record of readJournalFile(path.join(dir, 'journal.db'))) {
      for (let i = 0; i < record.events.length / EVENT_WORDS; i++) {
        const e = decodeEvent(record.events, i * EVENT_WORDS);
        if (e.type === 'Trade' && e.takerAccount === account) tradeSequence = e.sequence;
      }
    }
    assert.ok(tradeSequence > 0, 'the trade is in the journal');
    const db = new Database(path.join(dir, 'broker.db'));
    db.prepare("UPDATE meta SET value = ? WHERE key = 'last_event_sequence'").run(String(tradeSequence - 1));
    db.prepare("UPDATE orders SET filled = 0, leaves = quantity, notional = 0, status = 'open' WHERE id = ?").run(orderId);
    db.prepare('DELETE FROM executions').run();
    db.prepare('DELETE FROM positions WHERE account = ?').run(account);
    db.close();

    exchange = await startTestExchange({ brokerPort }, dir);
    try {
      const order = (await user.call('GET', `/api/orders/${orderId}`)).body.order;
      assert.equal(order.status, 'filled', JSON.stringify(order));
      assert.equal(order.filled, 4);
      const executions = (await user.call('GET', '/api/executions')).body.executions;
      assert.equal(executions.length, 1);
      const portfolio = (await user.call('GET', '/api/portfolio')).body.portfolio;
      assert.equal(portfolio.positions[0].quantity, 4);
      const check = new Database(path.join(dir, 'broker.db'), { readonly: true });
      const applied = Number((check.prepare("SELECT value FROM meta WHERE key = 'last_event_sequence'").get() as { value: string }).value);
      check.close();
      assert.ok(applied >= tradeSequence, `broker.db says it applied through ${applied}`);
    } finally {
      await exchange.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
