/**
 * Crash safety with a real child process: the exchange runs under load from a
 * client over the wire and is SIGKILLed at seeded random moments, then restarted
 * on the same journal, again and again. Afterwards:
 *  - every order the client saw acknowledged is in the journal;
 *  - no client order id was ever accepted twice (resends after a crash are
 *    refused as duplicates or were never accepted), no trade appears twice;
 *  - each recovery reproduced the state of a clean single-threaded run over the
 *    journaled commands (state hash), and so does the final state;
 *  - every session sequence a client received, in any run, numbers the event the
 *    routing rule gives over the final journal (sequences survive the crashes).
 * CRASH_KILLS (default 20) sets the number of kills; a longer opt-in run uses more.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import os from 'node:os';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { ExchangeClient } from '../gateway/client/exchange-client';
import { defaultConfig } from '../core/runtime/config';
import { readJournalFile } from '../journal/sqlite-journal';
import { decodeEvent } from '../core/record-objects';
import { EVENT_WORDS } from '../core/schema';
import { OrderType, Side, TimeInForce } from '../core/codes';
import { mulberry32 } from './helpers/random-flow';
import { Running, startExchange, cleanRunHash } from './helpers/child-exchange';
import { KeyRouting } from '../gateway/order-entry/key-routing';
import { apiKeys } from '../gateway/services';

const KILLS = Number(process.env.CRASH_KILLS ?? 20);

test(`SIGKILL under load ${KILLS} times: acknowledged orders survive, nothing duplicates, recovery equals a clean run`, { timeout: 600_000 }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'crash-'));
  const base = 23_000 + (process.pid % 100) * 20;
  const config = defaultConfig();
  const configFile = path.join(dir, 'exchange.json');
  writeFileSync(configFile, JSON.stringify({
    dataDirectory: path.join(dir, 'data'), durability: 'fsync', demoFlow: false, gatewayWorkers: 1,
    orderEntryBasePort: base, marketDataPort: base + 5, httpPort: 0, clockIntervalMs: 60_000,
    throttle: { ordersPerSecond: 100_000, orderBurst: 100_000, cancelsPerSecond: 100_000, cancelBurst: 100_000 },
  }));
  const journalPath = path.join(dir, 'data', 'journal.db');
  const rnd = mulberry32(20261125);
  const acknowledged = new Map<number, number>(); // clientOrderId -> orderId
  const numbered = new Map<number, Map<number, number>>([[2, new Map()], [4, new Map()]]); // keyId -> session sequence -> event sequence
  let clientOrderId = 1;
  const trader = (keyId: number) => config.demoAccounts.find((a) => a.keyId === keyId)!;
  let current: Running | undefined;
  try {
    for (let run = 0; run <= KILLS; run++) {
      const exchange = startExchange(configFile);
      current = exchange;
      const recovered = await exchange.ready;
      if (recovered.sequence > 0) {
        assert.equal(recovered.stateHash, await cleanRunHash(journalPath, recovered.sequence), `run ${run}: recovery equals a clean run`);
      }
      // Two traders cross each other: account 2 (margin maker, may short) and 4 (cash buyer).
      const clients = [2, 4].map((keyId) => new ExchangeClient({ url: `ws://127.0.0.1:${base}`, keyId, secret: trader(keyId).apiSecret }));
      await Promise.all(clients.map((c) => c.connect()));
      for (const c of clients) {
        c.keepReceived = false;
        const seen = numbered.get(c.options.keyId)!;
        c.on('message', (m) => {
          if (m.type === 'OrderAccepted') acknowledged.set(Number(m.clientOrderId) * 10 + Number(m.account), Number(m.orderId));
          if (m.sequence > 0) {
            const earlier = seen.get(m.sequence);
            assert.ok(earlier === undefined || earlier === Number(m.eventSequence), `key ${c.options.keyId} sequence ${m.sequence}: event ${m.eventSequence}, before the crash ${earlier}`);
            seen.set(m.sequence, Number(m.eventSequence));
          }
        });
        c.on('error', () => {});
      }
      const last = run === KILLS;
      const killAfterMs = last ? 400 : 50 + Math.floor(rnd() * 400);
      const started = Date.now();
      while (Date.now() - started < killAfterMs) {
        for (const [i, c] of clients.entries()) {
          const account = i === 0 ? 2 : 4;
          c.batch(() => {
            for (let k = 0; k < 20; k++) {
              const price = 9_990 + Math.floor(rnd() * 20);
              c.send('NewOrder', {
                account, instrument: 1, clientOrderId: clientOrderId++, side: account === 2 ? Side.Sell : Side.Buy,
                orderType: OrderType.Limit, timeInForce: rnd() < 0.5 ? TimeInForce.IOC : TimeInForce.GTC, price, quantity: 1 + Math.floor(rnd() * 5),
              });
            }
          });
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      if (last) {
        await Promise.all(clients.map((c) => c.close()));
        exchange.child.kill('SIGTERM');
        const stopped = await exchange.stopped;
        assert.ok(stopped !== null, 'the last run stops cleanly');
        assert.equal(stopped.stateHash, await cleanRunHash(journalPath, stopped.sequence), 'final state equals a clean run');
      } else {
        exchange.child.kill('SIGKILL');
        await exchange.stopped;
        for (const c of clients) c.terminate();
      }
    }
    // Every acknowledged order is in the journal; no client order id accepted twice; no trade twice.
    const accepted = new Map<number, number>();
    const trades = new Set<string>();
    let events = 0;
    const routing = new KeyRouting(apiKeys(config), () => true);
    let numberingChecked = 0;
    for await (const record of readJournalFile(journalPath)) {
      for (let i = 0; i < record.events.length / EVENT_WORDS; i++) {
        const n = routing.route(record.events, i * EVENT_WORDS);
        for (let k = 0; k < n; k++) {
          const stream = routing.recipients[k];
          const eventSequence = record.events[i * EVENT_WORDS + 1];
          const received = numbered.get(stream.keyId)?.get(stream.take(eventSequence));
          if (received === undefined) continue;
          assert.equal(received, eventSequence, `key ${stream.keyId} sequence ${stream.nextServerSequence - 1}: the client got event ${received}, the journal routes ${eventSequence}`);
          numberingChecked++;
        }
        const e = decodeEvent(record.events, i * EVENT_WORDS);
        events++;
        if (e.type === 'OrderAccepted' && Number(e.clientOrderId) > 0) {
          const key = Number(e.clientOrderId) * 10 + Number(e.account);
          assert.ok(!accepted.has(key), `client order id ${e.clientOrderId} of account ${e.account} accepted twice`);
          accepted.set(key, Number(e.orderId));
        }
        if (e.type === 'Trade') {
          const key = `${e.makerOrderId}/${e.takerOrderId}/${e.quantity}/${e.makerLeaves}`;
          assert.ok(!trades.has(key), `trade ${key} appears twice`);
          trades.add(key);
        }
      }
    }
    let missing = 0;
    for (const [key, orderId] of acknowledged) if (accepted.get(key) !== orderId) missing++;
    assert.equal(missing, 0, 'every acknowledged order is in the journal with the id the client saw');
    const received = [...numbered.values()].reduce((total, m) => total + m.size, 0);
    assert.equal(numberingChecked, received, 'every session sequence a client received is in the journal');
    t.diagnostic(`${KILLS} kills, ${acknowledged.size} acknowledged orders, ${trades.size} trades, ${events} events in the journal, ${received} session sequences checked`);
    assert.ok(acknowledged.size > KILLS * 10, 'the load was real');
    assert.ok(trades.size > 0, 'trades happened');
  } finally {
    if (current !== undefined && current.child.exitCode === null) current.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
