/**
 * Readiness is false until recovery has finished and the gateways listen: an
 * exchange restarted on a journal with history answers /ready 503 while it
 * replays, then 200; /health is 200 throughout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import os from 'node:os';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import pino from 'pino';
import { defaultConfig, validateConfig } from '../core/runtime/config';
import { Supervisor } from '../core/runtime/supervisor';
import { gatewayServices } from '../gateway/services';
import { encodeCommand } from '../core/record-objects';
import { OrderType, Side, TimeInForce } from '../core/codes';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

test('/ready is 503 during recovery and 200 after; /health stays 200', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ready-'));
  const base = 26_000 + (process.pid % 100) * 20;
  const config = defaultConfig();
  Object.assign(config, { dataDirectory: dir, demoFlow: false, gatewayWorkers: 1, orderEntryBasePort: base, marketDataPort: base + 5, httpPort: await freePort(), durability: 'none' });
  // No snapshots: recovery must replay the whole history.
  config.snapshot = { everyEvents: Number.MAX_SAFE_INTEGER, everySeconds: 86_400, keep: 1 };
  validateConfig(config);
  const log = pino({ level: 'silent' });
  try {
    const first = new Supervisor(config, log, gatewayServices(config, log));
    await first.start();
    const words = new Float64Array(16);
    for (let i = 0; i < 60_000; i++) {
      encodeCommand('NewOrder', {
        account: 2, instrument: 1, clientOrderId: i + 1, side: i % 2 ? Side.Buy : Side.Sell, orderType: OrderType.Limit,
        timeInForce: TimeInForce.IOC, price: 10_000, quantity: 1,
      }, Date.now() * 1000, 0, words);
      while (!first.core.submit(words, 0, 100)) { /* ring full: retry */ }
    }
    await first.core.waitDurable(first.core.control.matchedSequence + 1, 60_000).catch(() => {});
    // Stop without the final snapshot so the restart has to replay everything.
    await (first as unknown as { snapshots: { close(): Promise<void> } }).snapshots.close();
    (first as unknown as { snapshots: undefined }).snapshots = undefined;
    await first.stop('restart');

    const second = new Supervisor(config, log, gatewayServices(config, log));
    const starting = second.start();
    const url = `http://127.0.0.1:${config.httpPort}`;
    const seen: number[] = [];
    let health = 200;
    for (let i = 0; i < 2000; i++) {
      try {
        const ready = await fetch(`${url}/ready`);
        seen.push(ready.status);
        health = Math.max(health, (await fetch(`${url}/health`)).status);
        if (ready.status === 200) break;
      } catch {
        // HTTP not bound yet
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await starting;
    assert.ok(seen.includes(503), `readiness was false while recovering (saw ${[...new Set(seen)].join(', ')})`);
    assert.equal(seen.at(-1), 200);
    assert.equal(health, 200);
    await second.stop('done');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
