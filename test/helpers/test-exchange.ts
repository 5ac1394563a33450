/**
 * A real exchange for integration tests: supervisor, matcher and journal threads,
 * order-entry gateway workers on real loopback ports, a temporary data directory.
 */
import path from 'node:path';
import net from 'node:net';
import os from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import pino from 'pino';
import { defaultConfig, ExchangeConfig, validateConfig } from '../../core/runtime/config';
import { Supervisor, SupervisorExtras } from '../../core/runtime/supervisor';
import { gatewayServices } from '../../gateway/services';
import { ExchangeClient } from '../../gateway/client/exchange-client';

/** Ports 20000..32759 (below Linux's ephemeral range), in blocks of PORT_BLOCK per test exchange. */
const PORT_BASE = 20_000;
const PORT_BLOCKS = 1_276;
const PORT_BLOCK = 10;
let nextBlock = process.pid % PORT_BLOCKS;

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A block of PORT_BLOCK ports nobody listens on now. Test files run in parallel processes, and
 * a fixed per-process range could run into another's (a clean-clone CI run hit EADDRINUSE), so
 * each block is probed; a taken one is skipped.
 */
async function freePortBlock(): Promise<number> {
  for (let attempt = 0; attempt < PORT_BLOCKS; attempt++) {
    const base = PORT_BASE + (nextBlock++ % PORT_BLOCKS) * PORT_BLOCK;
    let free = true;
    for (let port = base; port < base + PORT_BLOCK && free; port++) free = await portFree(port);
    if (free) return base;
  }
  throw new Error('no free block of test ports');
}

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
  const base = await freePortBlock();
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
