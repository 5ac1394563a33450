import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import os from 'node:os';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { ConfigError, defaultConfig, loadConfig, validateConfig } from '../core/runtime/config';

test('the shipped defaults are valid with no file at all', () => {
  const config = loadConfig(undefined, {});
  assert.equal(config.durability, 'fsync');
  assert.ok(config.instruments.length > 0);
});

test('each bad key is named with what was expected', () => {
  const cases: Array<[(c: ReturnType<typeof defaultConfig>) => void, RegExp]> = [
    [(c) => (c.durability = 'sometimes' as never), /^config durability: expected "fsync", "os" or "none"/],
    [(c) => (c.inboundCapacity = 1000), /^config inboundCapacity: expected a power of two/],
    [(c) => (c.outboundCapacity = 1024), /^config outboundCapacity: expected more than limits.eventBatchCapacity/],
    [(c) => (c.instruments[2].tickSize = 0), /^config instruments\[2\]\.tickSize: expected an integer/],
    [(c) => (c.instruments[1].symbol = c.instruments[0].symbol), /^config instruments\[1\]\.symbol: expected a unique symbol/],
    [(c) => (c.instruments[0].symbol = 'bad symbol'), /^config instruments\[0\]\.symbol/],
    [(c) => (c.demoAccounts[0].apiSecret = 'short'), /^config demoAccounts\[0\]\.apiSecret: expected a string of at least 32/],
    [(c) => (c.httpPort = 70000), /^config httpPort: expected an integer in 0\.\.65535, got 70000/],
    [(c) => (c.calendar.mode = 'lunar' as never), /^config calendar\.mode/],
    [(c) => (c.calendar.holidays = ['25/12/2026']), /^config calendar\.holidays/],
    [(c) => ((c.limits as unknown as Record<string, number>).maxOrder = 1024), /^config limits\.maxOrder: expected one of maxOrders, /],
  ];
  for (const [mutate, message] of cases) {
    const config = defaultConfig();
    mutate(config);
    assert.throws(() => validateConfig(config), (error: Error) => error instanceof ConfigError && message.test(error.message), String(message));
  }
});

test('a file overrides defaults, unknown keys are refused, environment overrides the file', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'config-'));
  const file = path.join(dir, 'exchange.json');
  writeFileSync(file, JSON.stringify({ durability: 'os', limits: { maxOrders: 1024 }, calendar: { mode: 'demo' } }));
  const config = loadConfig(file, { EXCHANGE_DURABILITY: 'none', EXCHANGE_HTTP_PORT: '9999' });
  assert.equal(config.durability, 'none');
  assert.equal(config.httpPort, 9999);
  assert.equal(config.limits.maxOrders, 1024);
  assert.equal(config.limits.maxAccounts, defaultConfig().limits.maxAccounts);
  assert.equal(config.calendar.mode, 'demo');
  writeFileSync(file, JSON.stringify({ duribility: 'os' }));
  assert.throws(() => loadConfig(file, {}), /config duribility: expected one of/);
  writeFileSync(file, '{ not json');
  assert.throws(() => loadConfig(file, {}), /config \(file\): expected a readable JSON file/);
});
