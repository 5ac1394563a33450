/**
 * Chart candles from the broker (docs/broker-api.md, "Chart candles"): a scripted set
 * of trades between two demo accounts, and the candles of every interval must have
 * exactly the OHLCV computed here from the trades' own timestamps — over HTTP, over the
 * WebSocket (history on subscribe, then live updates), and again after a restart, where
 * the open candle goes on from where it stopped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import os from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import WebSocket from 'ws';
import { startTestExchange, TestExchange } from './helpers/test-exchange';
import { ExchangeClient, ServerMessage } from '../gateway/client/exchange-client';
import { OrderType, Side, TimeInForce } from '../core/codes';
import { Api, freePort, until } from './helpers/broker-api';

const INITECH = 3;
const INTERVALS: Record<string, number> = { '1s': 1_000_000, '1m': 60_000_000, '1h': 3_600_000_000 };

interface Print { price: number; quantity: number; timestamp: number }

/** The candles the trades make, per the market-data rules: epoch-aligned buckets of the trade timestamps (µs). */
function expected(prints: Print[], intervalMicros: number): Array<Record<string, number>> {
  const candles: Array<Record<string, number>> = [];
  for (const p of prints) {
    const time = (Math.floor(p.timestamp / intervalMicros) * intervalMicros) / 1000;
    const last = candles[candles.length - 1];
    if (last !== undefined && last.time === time) {
      last.high = Math.max(last.high, p.price);
      last.low = Math.min(last.low, p.price);
      last.close = p.price;
      last.volume += p.quantity;
      last.trades++;
    } else candles.push({ time, open: p.price, high: p.price, low: p.price, close: p.price, volume: p.quantity, trades: 1 });
  }
  return candles;
}

const ohlcv = (candles: Array<Record<string, unknown>>) => candles.map(({ time, open, high, low, close, volume, trades }) => ({ time, open, high, low, close, volume, trades }));

/** One trade on INITECH at `price`: the maker rests a sell, the taker lifts it; returns the print (maker's Trade message). */
async function trade(maker: ExchangeClient, taker: ExchangeClient, price: number, quantity: number, id: number): Promise<Print> {
  maker.send('NewOrder', { account: 2, instrument: INITECH, clientOrderId: id, side: Side.Sell, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, price, quantity });
  await maker.next((m) => m.type === 'OrderAccepted' && m.clientOrderId === id);
  taker.send('NewOrder', { account: 3, instrument: INITECH, clientOrderId: id, side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.IOC, price, quantity });
  const print: ServerMessage = await maker.next((m) => m.type === 'Trade' && Number(m.price) === price);
  assert.equal(Number(print.quantity), quantity);
  return { price, quantity, timestamp: Number(print.timestamp) };
}

async function login(base: string): Promise<Api> {
  const user = new Api(base);
  await new Api(base).call('POST', '/api/signup', { email: 'erin@example.com', password: 'erins long password' });
  const answer = await new Api(base).call('POST', '/api/login', { email: 'erin@example.com', password: 'erins long password' });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  user.token = answer.body.token;
  return user;
}

test('candles: OHLCV of scripted trades over HTTP and WebSocket, bad input, and after a restart', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'broker-candles-'));
  const brokerPort = await freePort();
  const base = `http://127.0.0.1:${brokerPort}`;
  let exchange: TestExchange | undefined;
  const clients: ExchangeClient[] = [];
  const connect = async (keyId: number) => {
    const client = exchange!.client(keyId);
    await client.connect();
    clients.push(client);
    return client;
  };
  try {
    exchange = await startTestExchange({ brokerPort }, dir);
    const user = await login(base);

    // Bad input.
    assert.equal((await new Api(base).call('GET', '/api/candles/INITECH')).body.error.code, 'BROKER_UNAUTHENTICATED');
    const badInterval = await user.call('GET', '/api/candles/INITECH?interval=5m');
    assert.equal(badInterval.status, 400);
    assert.equal(badInterval.body.error.field, 'interval');
    assert.equal((await user.call('GET', '/api/candles/NOPE?interval=1m')).body.error.code, 'BROKER_UNKNOWN_SYMBOL');
    assert.equal((await user.call('GET', '/api/candles/INITECH?interval=1m&limit=0')).body.error.field, 'limit');
    assert.equal((await user.call('GET', '/api/candles/INITECH?interval=1m&limit=1001')).body.error.field, 'limit');
    assert.deepEqual((await user.call('GET', '/api/candles/initech?interval=1h')).body, { symbol: 'INITECH', interval: '1h', candles: [] });

    const ws = new WebSocket(`${base.replace('http', 'ws')}/ws`, { headers: { authorization: `Bearer ${user.token}` } });
    const pushed: any[] = [];
    ws.on('message', (data) => pushed.push(JSON.parse(data.toString())));
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    ws.send(JSON.stringify({ op: 'candles', symbol: 'INITECH', interval: '2s' }));
    await until(async () => pushed.some((m) => m.type === 'error' && m.code === 'BROKER_VALIDATION'), 'the error for a bad interval');
    ws.send(JSON.stringify({ op: 'candles', symbol: 'INITECH', interval: '1s' }));
    await until(async () => pushed.some((m) => m.type === 'candles' && m.snapshot), 'the candle snapshot');
    assert.deepEqual(pushed.find((m) => m.type === 'candles' && m.snapshot), { type: 'candles', symbol: 'INITECH', interval: '1s', snapshot: true, candles: [] });

    const maker = await connect(2);
    const taker = await connect(3);
    const prints: Print[] = [];
    const script: Array<[number, number]> = [[4_200, 3], [4_250, 1], [4_150, 2], [4_210, 5]];
    let id = 1;
    for (const [price, quantity] of script) prints.push(await trade(maker, taker, price, quantity, id++));
    await new Promise((resolve) => setTimeout(resolve, 1100)); // one more second: the next print opens a new 1 s candle
    for (const [price, quantity] of [[4_300, 4], [4_100, 1]] as const) prints.push(await trade(maker, taker, price, quantity, id++));

    for (const [name, micros] of Object.entries(INTERVALS)) {
      const want = expected(prints, micros);
      const got = await until(async () => {
        const candles = (await user.call('GET', `/api/candles/INITECH?interval=${name}`)).body.candles;
        return candles.reduce((n: number, c: any) => n + c.volume, 0) === 16 ? candles : undefined;
      }, `the ${name} candles`);
      assert.deepEqual(ohlcv(got), want, `${name} candles`);
      assert.ok(want.length >= (name === '1s' ? 2 : 1));
    }
    // The reference itself, checked against the script (the prints may straddle an hour boundary of the wall clock).
    const hours = expected(prints, INTERVALS['1h']);
    assert.equal(hours[0]!.open, 4_200);
    assert.equal(Math.max(...hours.map((c) => c.high!)), 4_300);
    assert.equal(Math.min(...hours.map((c) => c.low!)), 4_100);
    assert.equal(hours.at(-1)!.close, 4_100);
    assert.equal(hours.reduce((n, c) => n + c.trades!, 0), 6);

    // The WebSocket series (snapshot, then updates that replace the candle with the same time) ends up the same.
    const want1s = expected(prints, INTERVALS['1s']);
    const series = new Map<number, any>();
    await until(async () => {
      series.clear();
      for (const m of pushed) if (m.type === 'candles' && m.interval === '1s') for (const c of m.candles) series.set(c.time, c);
      return [...series.values()].reduce((n, c) => n + c.volume, 0) === 16 || undefined;
    }, 'the live 1 s candles');
    assert.deepEqual(ohlcv([...series.values()].sort((a, b) => a.time - b.time)), want1s);
    assert.ok(pushed.some((m) => m.type === 'candles' && !m.snapshot && m.candles.some((c: any) => c.closed)), 'a closed 1 s candle was pushed');

    // The exchange's clock (1 s) closes the last 1 s candle without another trade.
    await until(async () => {
      const candles = (await user.call('GET', '/api/candles/INITECH?interval=1s')).body.candles;
      return candles.every((c: any) => c.closed) || undefined;
    }, 'the clock closing the 1 s candles');
    const lastHour = (await user.call('GET', '/api/candles/INITECH?interval=1h')).body.candles.at(-1);
    if (lastHour.time === Math.floor(Date.now() / 3_600_000) * 3_600_000) assert.equal(lastHour.closed, false, 'the hour is still open');
    ws.close();

    for (const client of clients.splice(0)) await client.close();
    await exchange.stop();
    exchange = undefined;

    // Restart: history is in broker.db and the open candles go on.
    exchange = await startTestExchange({ brokerPort }, dir);
    const again = new Api(base);
    again.token = (await new Api(base).call('POST', '/api/login', { email: 'erin@example.com', password: 'erins long password' })).body.token;
    assert.deepEqual(ohlcv((await again.call('GET', '/api/candles/INITECH?interval=1s')).body.candles), want1s, 'history after the restart');
    const maker2 = await connect(2);
    const taker2 = await connect(3);
    prints.push(await trade(maker2, taker2, 4_220, 7, 100));
    for (const [name, micros] of Object.entries(INTERVALS)) {
      const want = expected(prints, micros);
      const got = await until(async () => {
        const candles = (await again.call('GET', `/api/candles/INITECH?interval=${name}`)).body.candles;
        return candles.reduce((n: number, c: any) => n + c.volume, 0) === 23 ? candles : undefined;
      }, `the ${name} candles after the restart`);
      assert.deepEqual(ohlcv(got), want, `${name} candles after the restart`);
    }
  } finally {
    for (const client of clients) await client.close();
    await exchange?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
