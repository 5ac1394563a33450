/**
 * The operator's tools against a real exchange: admin CLI commands with and
 * without permission, HTTP admin endpoints with and without the token, metrics
 * exposed and moving, readiness.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { startTestExchange, TestExchange } from './helpers/test-exchange';
import { OrderType, Side, TimeInForce } from '../core/codes';

const run = promisify(execFile);
const ADMIN = path.join(__dirname, '..', 'bin', 'exchange-admin.js');
let exchange: TestExchange;
let http = '';

before(async () => {
  exchange = await startTestExchange({ httpPort: 0 });
  const address = (exchange.supervisor as unknown as { http: { address(): AddressInfo } }).http.address();
  http = `http://127.0.0.1:${address.port}`;
});
after(async () => exchange.stop());

function admin(args: string[], keyId = 9) {
  const key = exchange.config.demoAccounts.find((a) => a.keyId === keyId)!;
  const port = exchange.config.orderEntryBasePort + (keyId % exchange.config.gatewayWorkers);
  return run(process.execPath, [ADMIN, '--http', http, '--token', exchange.config.adminToken, '--port', String(port), '--key', String(keyId), '--secret', key.apiSecret, ...args])
    .then((r) => ({ code: 0, ...r }), (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }));
}

test('instrument add, halt and resume with an admin key', async () => {
  const added = await admin(['instrument', 'add', '42', 'NEWCO', '--reference', '5000', '--band', '500']);
  assert.equal(added.code, 0, added.stderr);
  assert.equal(JSON.parse(added.stdout).type, 'InstrumentAdded');
  const halted = await admin(['instrument', 'halt', '42']);
  assert.equal(JSON.parse(halted.stdout).state, 3);
  const again = await admin(['instrument', 'halt', '42']);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /INVALID_STATE_TRANSITION/);
  assert.equal(JSON.parse((await admin(['instrument', 'resume', '42'])).stdout).state, 2);
});

test('back office: open, approve, deposit (idempotent), withdraw', async () => {
  assert.equal(JSON.parse((await admin(['account', 'open', '77', '--type', 'margin'])).stdout).type, 'AccountOpened');
  assert.equal(JSON.parse((await admin(['account', 'approve', '77'])).stdout).status, 2);
  assert.equal(JSON.parse((await admin(['deposit', '77', '5000', '--reference', '9001'])).stdout).cashBalance, 5000);
  const replay = await admin(['deposit', '77', '5000', '--reference', '9001']);
  assert.equal(replay.code, 2);
  assert.match(replay.stderr, /DUPLICATE_REFERENCE/);
  assert.equal(JSON.parse((await admin(['withdraw', '77', '1000', '--reference', '9002'])).stdout).cashBalance, 4000);
});

test('a trading key may not run admin or back-office commands', async () => {
  const denied = await admin(['instrument', 'halt', '1'], 4);
  assert.equal(denied.code, 2);
  assert.match(denied.stderr, /NOT_PERMITTED/);
  const deposit = await admin(['deposit', '4', '1', '--reference', '1'], 4);
  assert.equal(deposit.code, 2);
});

test('HTTP admin endpoints need the token; status, snapshot now; metrics move under load; ready', async () => {
  const unauthorized = await fetch(`${http}/admin/status`);
  assert.equal(unauthorized.status, 401);
  const status = await (await admin(['status'])).stdout;
  const before = JSON.parse(status);
  assert.equal(before.ready, true);
  assert.equal((await fetch(`${http}/ready`)).status, 200);
  const metric = async (name: string) => Number((await (await fetch(`${http}/metrics`)).text()).match(new RegExp(`^${name} (\\d+)`, 'm'))![1]);
  const commandsBefore = await metric('exchange_commands_processed_total');
  const client = exchange.client(4);
  await client.connect();
  for (let i = 0; i < 20; i++) {
    client.send('NewOrder', { account: 4, instrument: 1, clientOrderId: 500 + i, side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.IOC, price: 9_990, quantity: 1 });
  }
  for (let i = 0; i < 20; i++) await client.next((m) => m.type === 'OrderCanceled'); // each IOC finds no seller
  await client.close();
  assert.ok((await metric('exchange_commands_processed_total')) >= commandsBefore + 20, 'commands metric moved');
  assert.equal(await metric('exchange_journal_durable_lag_events'), 0);
  await new Promise((r) => setTimeout(r, 1100)); // gateways report once a second
  const text = await (await fetch(`${http}/metrics`)).text();
  assert.match(text, /^exchange_sessions_connected \d+/m);
  assert.match(text, /^exchange_order_to_ack_microseconds\{quantile="0.99"\} \d+/m);
  assert.match(text, /^exchange_market_data_subscribers \d+/m);
  assert.match(text, /^exchange_market_data_slow_consumer_drops_total \d+/m);
  const snapshot = await admin(['snapshot']);
  assert.equal(snapshot.code, 0, snapshot.stderr);
  assert.ok(JSON.parse(snapshot.stdout).snapshotSequence > 0);
  assert.ok((await metric('exchange_snapshot_sequence')) > 0);
  assert.match(await (await fetch(`${http}/metrics`)).text(), /^exchange_snapshot_age_seconds \d/m);
});
