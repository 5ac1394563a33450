/**
 * The broker's HTTP API against a real exchange (docs/broker-api.md): sign-up, login,
 * failed-login limits, KYC and back-office approval, deposits, orders that fill
 * against a maker, portfolio and notifications (also over the WebSocket), cancel,
 * validation errors, and isolation between users.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestExchange } from './helpers/test-exchange';
import { ExchangeClient } from '../gateway/client/exchange-client';
import { OrderType, Side, TimeInForce } from '../core/codes';
import { searchInstruments } from '../gateway/broker/http-api';
import { Api, until, whenConnected, startBrokerExchange } from './helpers/broker-api';

describe('broker API', { timeout: 60_000 }, () => {
  let exchange: TestExchange;
  let base: string;
  let maker: ExchangeClient;
  const admin = () => new Api(base, exchange.config.adminToken);
  const a = () => new Api(base);

  before(async () => {
    ({ exchange, base } = await startBrokerExchange());
    maker = exchange.client(2);
    await maker.connect();
  });

  after(async () => {
    await maker?.close();
    await exchange?.stop();
  });

  const userA = new Api('');
  const userB = new Api('');
  let orderFilled = 0;
  let watchlistA = 0;

  it('signs up and logs in (cookie and bearer), refuses duplicates and bad input', async () => {
    Object.assign(userA, { base }); Object.assign(userB, { base });
    const signup = await a().call('POST', '/api/signup', { email: 'Alice@Example.com', password: 'correct horse battery' });
    assert.equal(signup.status, 201, JSON.stringify(signup.body));
    assert.equal(signup.body.user.email, 'alice@example.com');
    assert.equal(signup.body.user.kycStatus, 'none');
    assert.equal((await a().call('POST', '/api/signup', { email: 'alice@example.com', password: 'another password!' })).body.error.code, 'BROKER_EMAIL_TAKEN');
    assert.equal((await a().call('POST', '/api/signup', { email: 'bob@example.com', password: 'short' })).body.error.code, 'BROKER_VALIDATION');
    assert.equal((await a().call('POST', '/api/signup', { email: 'not-an-email', password: 'long enough password' })).body.error.field, 'email');
    assert.equal((await a().call('POST', '/api/signup', '{nope')).body.error.code, 'BROKER_BAD_JSON');
    assert.equal((await a().call('POST', '/api/signup', { email: 'x'.repeat(20_000) })).status, 413);
    assert.equal((await a().call('POST', '/api/signup', { email: 'bob@example.com', password: 'bobs long password' })).status, 201);

    const login = await a().call('POST', '/api/login', { email: 'alice@example.com', password: 'correct horse battery' });
    assert.equal(login.status, 200);
    const cookie = login.headers.get('set-cookie') ?? '';
    assert.match(cookie, /broker_session=[\w-]+; HttpOnly; SameSite=Strict/);
    userA.token = login.body.token;
    const me = await fetch(`${base}/api/me`, { headers: { cookie: cookie.split(';')[0] } });
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as any).user.email, 'alice@example.com');
    userB.token = (await a().call('POST', '/api/login', { email: 'bob@example.com', password: 'bobs long password' })).body.token;
    assert.equal((await a().call('GET', '/api/me')).body.error.code, 'BROKER_UNAUTHENTICATED');
  });

  it('rate-limits repeated failed logins per email', async () => {
    await a().call('POST', '/api/signup', { email: 'carol@example.com', password: 'carols long password' });
    for (let i = 0; i < 5; i++) {
      const wrong = await a().call('POST', '/api/login', { email: 'carol@example.com', password: `wrong password ${i}` });
      assert.equal(wrong.body.error.code, 'BROKER_INVALID_CREDENTIALS');
    }
    const limited = await a().call('POST', '/api/login', { email: 'carol@example.com', password: 'carols long password' });
    assert.equal(limited.status, 429);
    assert.equal(limited.body.error.code, 'BROKER_LOGIN_RATE_LIMITED');
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
  });

  it('KYC: submit, admin approval needs the token, approval opens the core account', async () => {
    assert.equal((await userA.call('POST', '/api/kyc', { name: 'Alice Example', dateOfBirth: '2020-01-01', address: '1 Main St, Springfield', documentReference: 'P-123' })).body.error.field, 'dateOfBirth');
    const submitted = await userA.call('POST', '/api/kyc', { name: 'Alice Example', dateOfBirth: '1990-04-01', address: '1 Main St, Springfield', documentReference: 'P-123456' });
    assert.equal(submitted.status, 202);
    assert.equal((await userA.call('POST', '/api/kyc', { name: 'Alice Example', dateOfBirth: '1990-04-01', address: '1 Main St', documentReference: 'P-1' })).body.error.code, 'BROKER_KYC_STATE');
    const kycId = submitted.body.kyc.id;
    assert.equal((await a().call('POST', `/api/admin/kyc/${kycId}/approve`)).status, 403);
    assert.equal((await new Api(base, 'wrong-token-wrong-token').call('POST', `/api/admin/kyc/${kycId}/approve`)).body.error.code, 'BROKER_FORBIDDEN');
    assert.equal((await userA.call('GET', '/api/admin/kyc')).status, 403, 'a customer session is not the admin token');
    const queue = await admin().call('GET', '/api/admin/kyc');
    assert.equal(queue.body.kyc.length, 1);
    const approved = await whenConnected(() => admin().call('POST', `/api/admin/kyc/${kycId}/approve`));
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    assert.ok(approved.body.kyc.account >= 1000);
    const me = (await userA.call('GET', '/api/me')).body.user;
    assert.equal(me.kycStatus, 'approved');
    assert.equal(me.accountStatus, 'active');
    assert.equal((await admin().call('POST', `/api/admin/kyc/${kycId}/approve`)).body.error.code, 'BROKER_KYC_STATE');
  });

  it('deposits through the back office', async () => {
    assert.equal((await a().call('POST', '/api/admin/deposits', { email: 'alice@example.com', amount: 1 })).status, 403);
    assert.equal((await admin().call('POST', '/api/admin/deposits', { email: 'bob@example.com', amount: 100 })).body.error.code, 'BROKER_KYC_REQUIRED');
    const deposit = await whenConnected(() => admin().call('POST', '/api/admin/deposits', { email: 'alice@example.com', amount: 10_000_000 }));
    assert.equal(deposit.status, 201, JSON.stringify(deposit.body));
    assert.equal(deposit.body.deposit.cashBalance, 10_000_000);
    assert.equal((await userA.call('GET', '/api/portfolio')).body.portfolio.cash, 10_000_000);
  });

  it('searches symbols by prefix, company name and fuzzily', async () => {
    const search = async (q: string) => (await userA.call('GET', `/api/instruments?q=${encodeURIComponent(q)}`)).body.instruments.map((i: any) => i.symbol);
    assert.equal((await search('GLO'))[0], 'GLOBX');
    assert.equal((await search('wayne'))[0], 'WAYNE');
    assert.equal((await search('pharma'))[0], 'UMBR');
    assert.ok((await search('UMBRR')).includes('UMBR'));
    assert.deepEqual(searchInstruments([{ symbol: 'INITECH', name: 'Initech Software' }], 'inteck').length, 1);
  });

  it('places a limit order that fills against the maker: position, fill notification (HTTP and WebSocket)', async () => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/ws`, { headers: { authorization: `Bearer ${userA.token}` } });
    const pushed: any[] = [];
    ws.on('message', (data) => pushed.push(JSON.parse(data.toString())));
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    ws.send(JSON.stringify({ op: 'prices', symbols: ['ACME'] }));

    maker.send('NewOrder', { account: 2, instrument: 1, clientOrderId: 1, side: Side.Sell, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, price: 10_000, quantity: 10 });
    await maker.next((m) => m.type === 'OrderAccepted');

    assert.equal((await userA.call('POST', '/api/orders', { symbol: 'ACME', side: 'buy', type: 'limit', quantity: 5 })).body.error.field, 'price');
    assert.equal((await userA.call('POST', '/api/orders', { symbol: 'NOPE', side: 'buy', type: 'limit', price: 1, quantity: 5 })).body.error.code, 'BROKER_UNKNOWN_SYMBOL');
    assert.equal((await userA.call('POST', '/api/orders', { symbol: 'ACME', side: 'hold', price: 10_000, quantity: 5 })).body.error.field, 'side');
    const placed = await whenConnected(() => userA.call('POST', '/api/orders', { symbol: 'ACME', side: 'buy', type: 'limit', timeInForce: 'GTC', price: 10_000, quantity: 5 }));
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    orderFilled = placed.body.order.id;
    const order = await until(async () => {
      const o = (await userA.call('GET', `/api/orders/${orderFilled}`)).body.order;
      return o.status === 'filled' ? o : undefined;
    }, 'the fill');
    assert.equal(order.filled, 5);
    assert.equal(order.averagePrice, 10_000);
    const portfolio = (await userA.call('GET', '/api/portfolio')).body.portfolio;
    assert.equal(portfolio.positions.length, 1);
    assert.equal(portfolio.positions[0].symbol, 'ACME');
    assert.equal(portfolio.positions[0].quantity, 5);
    assert.equal(portfolio.positions[0].lastPrice, 10_000);
    assert.ok(portfolio.cash < 10_000_000 - 50_000 + 1, 'cash paid for the shares (and the fee)');
    const executions = (await userA.call('GET', '/api/executions')).body.executions;
    assert.equal(executions.length, 1);
    assert.equal(executions[0].liquidity, 'taker');
    const notifications = (await userA.call('GET', '/api/notifications')).body.notifications;
    assert.ok(notifications.some((n: any) => n.kind === 'fill' && n.data.orderId === orderFilled), JSON.stringify(notifications));
    await until(async () => pushed.some((m) => m.type === 'notification' && m.notification.kind === 'fill'), 'the pushed fill notification');
    await until(async () => pushed.some((m) => m.type === 'price' && m.symbol === 'ACME' && m.last === 10_000), 'the pushed price');
    ws.close();
  });

  it('performance: today\'s point is the portfolio\'s equity with the day\'s deposit as its flow', async () => {
    const { performance } = (await userA.call('GET', '/api/performance')).body;
    const { portfolio } = (await userA.call('GET', '/api/portfolio')).body;
    const today = performance.points[performance.points.length - 1];
    assert.equal(today.date, new Date().toISOString().slice(0, 10));
    assert.equal(today.equity, portfolio.equity);
    assert.equal(today.flows, 10_000_000, 'the back-office deposit of the day');
    assert.equal(performance.timeWeightedReturn, null, 'one day: no return yet');
    assert.equal((await new Api(base).call('GET', '/api/performance')).status, 401);
  });

  it('instrument detail and order history filters', async () => {
    userA.patient = true;
    const detail = (await userA.call('GET', '/api/instruments/acme')).body.instrument;
    assert.equal(detail.symbol, 'ACME');
    assert.equal(detail.tickSize, 1);
    assert.ok(detail.last > 0, 'a last price after the fills above');
    assert.ok(detail.today === null || (detail.today.high >= detail.today.low && detail.today.volume > 0));
    assert.equal((await userA.call('GET', '/api/instruments/NOPE')).body.error.code, 'BROKER_UNKNOWN_SYMBOL');
    const all = (await userA.call('GET', '/api/orders')).body.orders;
    assert.ok(all.length >= 1);
    const filled = (await userA.call('GET', '/api/orders?status=filled&symbol=acme&side=buy')).body.orders;
    assert.ok(filled.length >= 1 && filled.every((o: any) => o.status === 'filled' && o.symbol === 'ACME' && o.side === 'buy'));
    assert.deepEqual((await userA.call('GET', '/api/orders?side=sell&symbol=GLOBX')).body.orders, []);
    assert.deepEqual((await userA.call('GET', `/api/orders?from=${Date.now() + 60_000}`)).body.orders, [], 'nothing from the future');
    assert.equal((await userA.call('GET', `/api/orders?to=${new Date(Date.now() + 60_000).toISOString()}`)).body.orders.length, all.length);
    assert.equal((await userA.call('GET', '/api/orders?status=done')).body.error.field, 'status');
    assert.equal((await userA.call('GET', '/api/orders?side=long')).body.error.field, 'side');
    assert.equal((await userA.call('GET', '/api/orders?from=yesterday')).body.error.field, 'from');
  });

  it('rejections come back as clear errors and notifications', async () => {
    const rejected = await userA.call('POST', '/api/orders', { symbol: 'ACME', side: 'buy', type: 'limit', price: 50_000, quantity: 5 });
    assert.equal(rejected.status, 422, JSON.stringify(rejected.body));
    assert.equal(rejected.body.error.code, 'BROKER_ORDER_REJECTED');
    assert.equal(rejected.body.error.reason, 'PRICE_OUTSIDE_BANDS');
    const notifications = (await userA.call('GET', '/api/notifications')).body.notifications;
    assert.ok(notifications.some((n: any) => n.kind === 'rejection'));
  });

  it('cancels a resting order and replaces another', async () => {
    const placed = await userA.call('POST', '/api/orders', { symbol: 'ACME', side: 'buy', price: 9_500, quantity: 3, timeInForce: 'GTC' });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    assert.equal(placed.body.order.status, 'open');
    const open = (await userA.call('GET', '/api/orders?status=open')).body.orders;
    assert.deepEqual(open.map((o: any) => o.id), [placed.body.order.id]);
    const replaced = await userA.call('PATCH', `/api/orders/${placed.body.order.id}`, { price: 9_600, quantity: 4 });
    assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
    assert.equal(replaced.body.order.price, 9_600);
    assert.equal(replaced.body.order.leaves, 4);
    const canceled = await userA.call('DELETE', `/api/orders/${placed.body.order.id}`);
    assert.equal(canceled.status, 200, JSON.stringify(canceled.body));
    assert.equal(canceled.body.order.status, 'canceled');
    assert.equal((await userA.call('DELETE', `/api/orders/${placed.body.order.id}`)).body.error.code, 'BROKER_ORDER_NOT_OPEN');
  });

  it('watchlists and alerts', async () => {
    const list = await userA.call('POST', '/api/watchlists', { name: 'Tech' });
    assert.equal(list.status, 201);
    watchlistA = list.body.watchlist.id;
    assert.deepEqual((await userA.call('POST', `/api/watchlists/${watchlistA}/symbols`, { symbol: 'initech' })).body.watchlist.symbols, ['INITECH']);
    await userA.call('POST', `/api/watchlists/${watchlistA}/symbols`, { symbol: 'ACME' });
    assert.deepEqual((await userA.call('DELETE', `/api/watchlists/${watchlistA}/symbols/INITECH`)).body.watchlist.symbols, ['ACME']);
    // Rename, reorder (exactly the list's symbols), and the checks. From here on the tests send many
    // requests: they wait out the per-user throttle (its own test is above).
    userA.patient = true;
    userB.patient = true;
    assert.equal((await userA.call('PATCH', `/api/watchlists/${watchlistA}`, { name: 'Core' })).body.watchlist.name, 'Core');
    await userA.call('POST', `/api/watchlists/${watchlistA}/symbols`, { symbol: 'GLOBX' });
    await userA.call('POST', `/api/watchlists/${watchlistA}/symbols`, { symbol: 'INITECH' });
    assert.deepEqual((await userA.call('PUT', `/api/watchlists/${watchlistA}/symbols`, { symbols: ['initech', 'ACME', 'GLOBX'] })).body.watchlist.symbols, ['INITECH', 'ACME', 'GLOBX']);
    assert.deepEqual((await userA.call('GET', '/api/watchlists')).body.watchlists[0].symbols, ['INITECH', 'ACME', 'GLOBX'], 'the order is kept');
    assert.equal((await userA.call('PUT', `/api/watchlists/${watchlistA}/symbols`, { symbols: ['ACME', 'GLOBX'] })).body.error.field, 'symbols', 'not a permutation');
    assert.equal((await userA.call('PATCH', `/api/watchlists/${watchlistA}`, { name: '' })).body.error.field, 'name');
    assert.equal((await userB.call('PATCH', `/api/watchlists/${watchlistA}`, { name: 'Mine' })).status, 404, 'another user\'s list');
    assert.equal((await userB.call('PUT', `/api/watchlists/${watchlistA}/symbols`, { symbols: ['ACME', 'GLOBX', 'INITECH'] })).status, 404);
    for (const symbol of ['GLOBX', 'INITECH']) await userA.call('DELETE', `/api/watchlists/${watchlistA}/symbols/${symbol}`);
    const alert = await userA.call('POST', '/api/alerts', { symbol: 'ACME', direction: 'below', price: 9_900 });
    assert.equal(alert.status, 201);
    maker.send('NewOrder', { account: 2, instrument: 1, clientOrderId: 2, side: Side.Sell, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, price: 9_800, quantity: 1 });
    const taker = exchange.client(3);
    await taker.connect();
    taker.send('NewOrder', { account: 3, instrument: 1, clientOrderId: 1, side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.IOC, price: 9_800, quantity: 1 });
    await until(async () => (await userA.call('GET', '/api/notifications')).body.notifications.some((n: any) => n.kind === 'alert'), 'the alert');
    assert.equal((await userA.call('GET', '/api/alerts')).body.alerts[0].active, 0);
    await taker.close();
  });

  it('user B can never see or touch user A\'s orders, portfolio or watchlists', async () => {
    assert.equal((await userB.call('GET', `/api/orders/${orderFilled}`)).status, 404);
    assert.equal((await userB.call('DELETE', `/api/orders/${orderFilled}`)).status, 404);
    assert.equal((await userB.call('PATCH', `/api/orders/${orderFilled}`, { price: 1 })).status, 404);
    assert.deepEqual((await userB.call('GET', '/api/orders')).body.orders, []);
    assert.deepEqual((await userB.call('GET', '/api/executions')).body.executions, []);
    assert.deepEqual((await userB.call('GET', '/api/portfolio')).body.portfolio.positions, []);
    assert.deepEqual((await userB.call('GET', '/api/watchlists')).body.watchlists, []);
    assert.equal((await userB.call('POST', `/api/watchlists/${watchlistA}/symbols`, { symbol: 'WAYNE' })).status, 404);
    assert.equal((await userB.call('DELETE', `/api/watchlists/${watchlistA}`)).status, 404);
    assert.deepEqual((await userB.call('GET', '/api/notifications')).body.notifications, []);
    assert.equal((await userB.call('POST', '/api/orders', { symbol: 'ACME', side: 'buy', price: 10_000, quantity: 1 })).body.error.code, 'BROKER_KYC_REQUIRED');
    assert.deepEqual((await userA.call('GET', '/api/watchlists')).body.watchlists[0].symbols, ['ACME'], 'A\'s watchlist untouched');
  });

  it('serves the terminal\'s production build: minified scripts and styles, the charting library, security headers', async () => {
    const source = readFileSync(join(__dirname, '..', '..', 'gateway', 'web', 'static', 'app.js'), 'utf8');
    const served = await fetch(`${base}/app.js`);
    assert.equal(served.status, 200);
    assert.match(served.headers.get('content-type')!, /^text\/javascript/);
    assert.match(served.headers.get('content-security-policy')!, /script-src 'self'/);
    const body = await served.text();
    assert.ok(body.length < source.length * 0.8, `minified (${body.length} of ${source.length} bytes)`);
    assert.ok(!body.includes('// '), 'no comments left');
    const page = await (await fetch(`${base}/`)).text();
    assert.match(page, /<script src="\/dom.js" defer><\/script>/);
    const library = await fetch(`${base}/vendor/lightweight-charts.js`);
    assert.equal(library.status, 200);
    assert.match(await library.text(), /LightweightCharts/);
    assert.equal((await fetch(`${base}/../package.json`)).status, 404);
  });

  it('logout ends the session and closes its live sockets, not those of the user\'s other sessions', async () => {
    const other = new Api(base);
    other.token = (await other.call('POST', '/api/login', { email: 'bob@example.com', password: 'bobs long password' })).body.token as string;
    const open = async (token: string) => {
      const ws = new WebSocket(`${base.replace('http', 'ws')}/ws`, { headers: { authorization: `Bearer ${token}` } });
      await new Promise((resolve, reject) => { ws.once('message', resolve); ws.once('error', reject); }); // hello
      return ws;
    };
    const mine = await open(userB.token!);
    const theirs = await open(other.token!);
    const closed = new Promise<number>((resolve) => mine.once('close', (code) => resolve(code)));
    assert.equal((await userB.call('POST', '/api/logout')).status, 200);
    assert.equal(await closed, 4001, 'the logged-out session\'s socket is closed');
    assert.equal(theirs.readyState, WebSocket.OPEN, 'the other session\'s socket stays');
    assert.equal((await other.call('GET', '/api/me')).status, 200);
    theirs.close();
    assert.equal((await userB.call('GET', '/api/me')).body.error.code, 'BROKER_UNAUTHENTICATED');
    assert.equal((await userB.call('GET', '/api/nothing-here')).status, 404);
  });
});
