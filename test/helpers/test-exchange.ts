/**
 * A real exchange for integration tests: supervisor, matcher and journal threads,
 * order-entry gateway workers on real loopback ports, a temporary data directory.
 */
import path from 'node:path';
import os from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import pino from 'pino';
import { defaultConfig, ExchangeConfig, validateConfig } from '../../core/runtime/config';
import { Supervisor, SupervisorExtras } from '../../core/runtime/supervisor';
import { gatewayServices } from '../../gateway/services';
import { ExchangeClient } from '../../gateway/client/exchange-client';

let nextPort = 20_000 + (process.pid % 200) * 50;

export interface TestExchange {
  config: ExchangeConfig;
  supervisor: Supervisor;
  fatal: string[];
  /** A client for the demo key `keyId` (2 maker, 3 taker, 4 and 5 traders, 9 ops), on its assigned port. */
  client(keyId: number, options?: { cancelOnDisconnect?: boolean; heartbeatIntervalMs?: number }): ExchangeClient;
  stop(): Promise<void>;
}

export async function startTestExchange(
  overrides: Partial<ExchangeConfig> = {},
  dataDirectory?: string,
  /** The supervisor's clock (time commands, calendar), an EventStoreDB client, ...: the real ones by default. */
  extras: SupervisorExtras = {},
  /** The supervisor's logger (threads' log lines included); silent by default. */
  log: pino.Logger = pino({ level: 'silent' }),
): Promise<TestExchange> {
  const config = defaultConfig();
  const base = nextPort;
  nextPort += 10;
  Object.assign(config, {
    dataDirectory: dataDirectory ?? mkdtempSync(path.join(os.tmpdir(), 'exchange-test-')),
    // No broker unless a test asks for one (brokerPort): parallel test files would fight over its port.
    httpPort: 0, brokerPort: 0, demoFlow: false, gatewayWorkers: 2, orderEntryBasePort: base, marketDataPort: base + 9, durability: 'os',
    ...overrides,
  });
  validateConfig(config);
  const fatal: string[] = [];
  let supervisor: Supervisor | undefined = undefined;
  supervisor = new Supervisor(config, log, gatewayServices(config, log, (who, message) => {
    fatal.push(`${who}: ${message}`);
  }), extras);
  await supervisor.start();
  const owned = dataDirectory === undefined;
  return {
    config,
    supervisor,
    fatal,
    client(keyId, options = {}) {
      const account = config.demoAccounts.find((a) => a.keyId === keyId)!;
      const port = config.orderEntryBasePort + (keyId % config.gatewayWorkers);
      return new ExchangeClient({ url: `ws://127.0.0.1:${port}`, keyId, secret: account.apiSecret, ...options });
    },
    async stop() {
      await supervisor!.stop('test done');
      if (owned) rmSync(config.dataDirectory, { recursive: true, force: true });
    },
  };
}
