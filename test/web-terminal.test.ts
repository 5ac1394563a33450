/**
 * The web terminal (gateway/web/static) in a real headless browser: Debian's
 * chromium driven by playwright-core against a real exchange with the broker.
 * Sign up, KYC (approved through the admin endpoint), deposit, search, watchlist,
 * a limit order that fills against a maker, position and notification, a rejected
 * order's error, cancel. Screenshots go to test-artifacts/ (gitignored).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { startTestExchange, TestExchange } from './helpers/test-exchange';
import { ExchangeClient } from '../gateway/client/exchange-client';
import { OrderType, Side, TimeInForce } from '../core/codes';
import { base32Decode, totp } from '../gateway/broker/totp';

// The waitForFunction callbacks run in the page, where document exists.
declare const document: any;

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts');
const skip = existsSync(CHROMIUM) ? false : 'chromium not installed: apt-get install chromium';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

async function adminCall(base: string, token: string, method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> {
  for (let i = 0; i < 50; i++) {
    const res = await fetch(base + url, {
      method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = { status: res.status, body: await res.json() };
    if (answer.status !== 503) return answer;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('broker never connected to the exchange');
}

describe('web terminal in a headless browser', { skip, timeout: 60_000 }, () => {
  let exchange: TestExchange;
  let maker: ExchangeClient;
  let context: BrowserContext;
  let page: Page;
  let base = '';
  let profile = '';
  const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `web-terminal-${name}.png`), fullPage: true });

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const brokerPort = await freePort();
    exchange = await startTestExchange({ brokerPort });
    base = `http://127.0.0.1:${brokerPort}`;
    maker = exchange.client(2);
    await maker.connect();
    maker.send('NewOrder', { account: 2, instrument: 1, clientOrderId: 1, side: Side.Sell, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, price: 10_000, quantity: 10 });
    await maker.next((m) => m.type === 'OrderAccepted');
    const { chromium } = await import('playwright-core');
    profile = mkdtempSync(path.join(os.tmpdir(), 'broker-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, viewport: { width: 1400, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = context.pages()[0] ?? await context.newPage();
    page.setDefaultTimeout(10_000);
  });

  after(async () => {
    await context?.close();
    await maker?.close();
    await exchange?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('signs up, passes KYC, trades, sees the fill, cancels', async () => {
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(base);
    await page.fill('#email', 'dana@example.com');
    await page.fill('#password', 'danas long password');
    await page.click('#signup');
    await page.waitForSelector('#kyc-form', { state: 'visible' });
    await page.fill('#kyc-name', 'Dana Example');
    await page.fill('#kyc-dob', '1985-06-15');
    await page.fill('#kyc-address', '2 Side Street, Springfield');
    await page.fill('#kyc-doc', 'ID-998877');
    await page.click('#kyc-submit');
    await page.waitForFunction(() => document.getElementById('kyc-status').textContent!.includes('under review'));
    await shot('1-kyc-pending');

    const queue = await adminCall(base, exchange.config.adminToken, 'GET', '/api/admin/kyc');
    const approved = await adminCall(base, exchange.config.adminToken, 'POST', `/api/admin/kyc/${queue.body.kyc[0].id}/approve`);
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    const deposit = await adminCall(base, exchange.config.adminToken, 'POST', '/api/admin/deposits', { email: 'dana@example.com', amount: 5_000_000 });
    assert.equal(deposit.status, 201, JSON.stringify(deposit.body));

    await page.waitForSelector('#terminal', { state: 'visible' });
    await page.waitForFunction(() => document.getElementById('live').textContent === 'live');
    await page.waitForFunction(() => document.getElementById('cash').textContent!.includes('50,000.00'));

    await page.fill('#search', 'acm');
    await page.waitForSelector('#search-results li[data-symbol="ACME"]');
    await page.waitForFunction(() => document.querySelectorAll('#search-results li').length === 1);
    await page.click('#search-results li[data-symbol="ACME"] button.add');
    await page.waitForSelector('#watchlist tr[data-symbol="ACME"]');
    await page.waitForFunction(() => document.querySelector('#watchlist td[data-price="ACME"]').textContent === '100.00');
    await page.waitForFunction(() => document.getElementById('selected-symbol').textContent === 'ACME');
    await page.waitForFunction(() => document.querySelectorAll('#depth tbody td.ask').length > 0);

    // A clear error for an order the exchange refuses.
    await page.selectOption('#order-tif', 'GTC');
    await page.fill('#order-qty', '5');
    await page.fill('#order-price', '500');
    await page.click('#place-order');
    await page.waitForFunction(() => document.getElementById('ticket-error').textContent!.includes('PRICE_OUTSIDE_BANDS'));
    await shot('2-rejected');

    // A limit buy that fills against the maker.
    await page.fill('#order-price', '100.00');
    await page.click('#place-order');
    await page.waitForFunction(() => document.getElementById('ticket-ok').textContent!.startsWith('Order'));
    await page.waitForFunction(() => [...document.querySelectorAll('#history td.status')].some((td: any) => td.textContent === 'filled'));
    await page.waitForSelector('#positions tr[data-symbol="ACME"]');
    assert.equal(await page.textContent('#positions tr[data-symbol="ACME"] td:nth-child(2)'), '5');
    await page.waitForSelector('#notifications li.kind-fill');
    // The chart draws the broker's candles: the fill at 100.00 is the last close of the 1 min series.
    await page.waitForFunction(() => document.getElementById('chart').dataset.lastClose === '10000');
    assert.ok(Number(await page.getAttribute('#chart', 'data-count')) >= 1);
    assert.ok(await page.locator('#chart rect.candle').count() >= 1, 'candle bodies drawn');
    await page.selectOption('#chart-interval', '1s');
    await page.waitForFunction(() => document.getElementById('chart').dataset.interval === '1s' && document.getElementById('chart').dataset.lastClose === '10000');
    await shot('3-filled');

    // A resting buy, then cancel it from the open orders.
    await page.fill('#order-price', '95.00');
    await page.fill('#order-qty', '2');
    await page.click('#place-order');
    await page.waitForSelector('#open-orders button.cancel');
    await shot('4-open-order');
    await page.click('#open-orders button.cancel');
    await page.waitForFunction(() => document.querySelectorAll('#open-orders tbody tr').length === 0);
    await page.waitForFunction(() => [...document.querySelectorAll('#history td.status')].some((td: any) => td.textContent.startsWith('canceled')));
    await shot('5-canceled');

    // Withdrawals from the portfolio view: one accepted, one refused with the core's reason.
    await page.fill('#withdraw-amount', '100.00');
    await page.fill('#withdraw-bank', 'DE89 3704 0044 0532 0130 00');
    await page.click('#withdraw-submit');
    await page.waitForFunction(() => document.getElementById('withdraw-ok').textContent!.endsWith('accepted'));
    await page.waitForFunction(() => document.querySelector('#withdrawals td.status')?.textContent === 'accepted');
    await page.fill('#withdraw-amount', '1000000');
    await page.click('#withdraw-submit');
    await page.waitForFunction(() => document.getElementById('withdraw-error').textContent!.includes('INSUFFICIENT_FUNDS'));
    await page.waitForFunction(() => document.querySelector('#withdrawals td.status')?.textContent === 'rejected (INSUFFICIENT_FUNDS)');
    await shot('6-withdrawals');
    assert.deepEqual(errors, [], 'no script errors in the page');
  });

  it('account security: confirms the e-mail address and resets the password from the outbox links, turns on two-factor login', async () => {
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const outbox = async (kind: string) => {
      const answer = await adminCall(base, exchange.config.adminToken, 'GET', '/api/admin/outbox?email=dana@example.com');
      const body = answer.body.messages.find((m: any) => m.kind === kind).body as string;
      return /http:\/\/\S+/.exec(body)![0];
    };
    await page.waitForSelector('#verify-note', { state: 'visible' });
    await page.goto(await outbox('email-verification'));
    await page.waitForFunction(() => document.getElementById('flash').textContent === 'E-mail address confirmed.');
    await page.waitForSelector('#terminal', { state: 'visible' });
    await page.waitForSelector('#verify-note', { state: 'hidden' });

    await page.click('#logout');
    await page.waitForSelector('#auth', { state: 'visible' });
    await page.fill('#email', 'dana@example.com');
    await page.click('#forgot');
    await page.waitForFunction(() => document.getElementById('auth-info').textContent!.includes('reset link'));
    await page.goto(await outbox('password-reset'));
    await page.waitForSelector('#reset', { state: 'visible' });
    await page.fill('#reset-password', 'danas brand new password');
    await page.click('#reset-submit');
    await page.waitForFunction(() => document.getElementById('auth-info').textContent!.startsWith('Password changed'));
    await shot('7-password-changed');
    await page.fill('#email', 'dana@example.com');
    await page.fill('#password', 'danas long password');
    await page.click('#login');
    await page.waitForFunction(() => document.getElementById('auth-error').textContent!.includes('BROKER_INVALID_CREDENTIALS'));
    await page.fill('#password', 'danas brand new password');
    await page.click('#login');
    await page.waitForSelector('#terminal', { state: 'visible' });

    // Two-factor: enroll, confirm with a code from the key shown, then login asks for a code.
    await page.click('#twofa-enroll');
    await page.waitForSelector('#twofa-setup', { state: 'visible' });
    const key = base32Decode((await page.textContent('#twofa-secret'))!.replace(/\s/g, ''));
    assert.match((await page.getAttribute('#twofa-uri', 'href'))!, /^otpauth:\/\/totp\/Broker:dana%40example\.com\?secret=/);
    const left = 30_000 - (Date.now() % 30_000);
    if (left < 10_000) await new Promise((resolve) => setTimeout(resolve, left + 200));
    const now = Date.now();
    await page.fill('#twofa-code', totp(key, now - 30_000));
    await page.click('#twofa-submit');
    await page.waitForFunction(() => document.getElementById('twofa-status').textContent === 'on');
    await shot('8-two-factor-on');
    await page.click('#logout');
    await page.waitForSelector('#auth', { state: 'visible' });
    await page.fill('#email', 'dana@example.com');
    await page.fill('#password', 'danas brand new password');
    await page.click('#login');
    await page.waitForFunction(() => document.getElementById('auth-error').textContent!.includes('BROKER_2FA_REQUIRED'));
    await page.waitForSelector('#code-row', { state: 'visible' });
    await shot('9-two-factor-login');
    await page.fill('#login-code', totp(key, now));
    await page.click('#login');
    await page.waitForSelector('#terminal', { state: 'visible' });
    assert.deepEqual(errors, [], 'no script errors in the page');
  });
});
