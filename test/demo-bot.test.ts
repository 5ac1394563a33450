/**
 * The demo market as a client (gateway/client/demo-bot.ts): the maker's ladder and the
 * taker's IOC orders go over real sockets to a running exchange, are accepted, and trade.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startTestExchange } from './helpers/test-exchange';
import { DemoBot } from '../gateway/client/demo-bot';
import { readJournalFile } from '../journal/sqlite-journal';
import { Events } from '../core/schema';
import { RejectReason } from '../core/codes';

test('the demo bot quotes and takes over the binary protocol: orders accepted, trades between its two keys, nothing rejected', { timeout: 30_000 }, async () => {
  const exchange = await startTestExchange({ demoFlow: false });
  try {
    const { config } = exchange;
    const key = (id: number) => config.demoAccounts.find((a) => a.keyId === id)!;
    const url = (id: number) => `ws://127.0.0.1:${config.orderEntryBasePort + (id % config.gatewayWorkers)}`;
    const bot = new DemoBot({
      makerUrl: url(2), takerUrl: url(3), makerKey: 2, makerSecret: key(2).apiSecret, takerKey: 3, takerSecret: key(3).apiSecret,
      makerAccount: key(2).account, takerAccount: key(3).account, instruments: config.instruments.slice(0, 2), cyclesPerSecond: 8, levels: 2,
    });
    await bot.start();
    const deadline = Date.now() + 15_000;
    while (bot.stats.trades < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await bot.stop();
    assert.ok(bot.stats.trades >= 3, `trades ${JSON.stringify(bot.stats)}`);
    assert.ok(bot.stats.accepted > 10);
    assert.deepEqual(Object.keys(bot.stats.rejectReasons).filter((reason) => Number(reason) !== RejectReason.INSUFFICIENT_POSITION), [],
      'only the taker\'s sells beyond its shares are refused');
    assert.equal(bot.stats.gatewayRejects, 0, 'within the keys\' throttles');
    let trades = 0;
    for await (const record of readJournalFile(path.join(config.dataDirectory, 'journal.db'))) {
      for (let offset = 0; offset < record.events.length; offset += 16) {
        if (record.events[offset] !== Events.Trade.code) continue;
        trades++;
        assert.deepEqual([record.events[offset + Events.Trade.at.makerAccount], record.events[offset + Events.Trade.at.takerAccount]], [key(2).account, key(3).account]);
      }
    }
    assert.ok(trades >= bot.stats.trades, 'the journal holds the trades the taker saw');
  } finally {
    await exchange.stop();
  }
});
