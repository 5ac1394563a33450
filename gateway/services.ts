/**
 * The gateway-side services the supervisor starts: one order-entry gateway worker
 * per configured worker (each on its own port, each one outbound-ring consumer),
 * the market-data endpoint (one worker on config.marketDataPort, one consumer), and
 * the retail broker (gateway/broker, on config.brokerPort, one consumer; 0 = none).
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ExchangeConfig } from '../core/runtime/config';
import type { ExchangeCore } from '../core/runtime/exchange';
import type { Service, ServiceFactory } from '../core/runtime/supervisor';
import type { GatewayStats, MarketDataStats } from '../core/runtime/observability';
import type { OrderEntryWorkerData } from './order-entry/order-entry-worker';
import type { MarketDataWorkerData } from './market-data/endpoint/market-data-worker';
import { MarketDataEndpointOptions, resolveMarketDataOptions } from './market-data/endpoint/options';
import type { ApiKeySpec } from './session/key-registry';
import { brokerService } from './broker/broker';

/** How long dispose() waits for a worker to finish draining the outbound ring before ending it. */
export const DRAIN_TIMEOUT_MS = 10_000;

/** Unsent bytes a client may accumulate before it is disconnected as a slow consumer. */
export const MAX_CLIENT_BUFFERED_BYTES = 8 << 20;

export function apiKeys(config: ExchangeConfig): ApiKeySpec[] {
  return config.demoAccounts.filter((a) => a.permissions.length > 0).map((a) => ({
    keyId: a.keyId, account: a.account, permissions: a.permissions, type: 'hmac-sha256' as const, secret: Buffer.from(a.apiSecret, 'utf8'),
  }));
}

/**
 * A service that is one worker thread speaking the gateway workers' small protocol:
 * it posts 'listening' when ready, 'log' and 'fatal' lines, optionally 'stats'; it
 * answers 'stop' by closing its listeners and posting 'closed' (while it keeps
 * draining the outbound ring until the matcher stops).
 */
class WorkerService implements Service {
  private worker?: Worker;
  private drained = false;
  private onDrained?: () => void;
  private stats?: GatewayStats;
  private marketData?: MarketDataStats;

  constructor(
    readonly name: string,
    private readonly file: string,
    private readonly workerData: unknown,
    private readonly log: Logger,
    private readonly onFatal: (message: string) => void,
  ) {}

  start(): Promise<void> {
    const worker = new Worker(this.file, { workerData: this.workerData });
    this.worker = worker;
    return new Promise((resolve, reject) => {
      worker.on('message', (message: { type: string; message?: string; level?: string }) => {
        if (message.type === 'listening') resolve();
        if (message.type === 'drained') {
          this.drained = true;
          this.onDrained?.();
        }
        if (message.type === 'stats') {
          if ((message as { kind?: string }).kind === 'market-data') this.marketData = message as unknown as MarketDataStats;
          else this.stats = message as unknown as GatewayStats;
        }
        if (message.type === 'log') {
          const level = message.level === 'info' ? 'info' : message.level === 'warn' ? 'warn' : 'error';
          this.log[level]({ service: this.name }, String(message.message));
        }
        if (message.type === 'fatal') {
          reject(new Error(String(message.message)));
          this.onFatal(String(message.message));
        }
      });
      worker.on('error', (error) => {
        reject(error);
        this.onFatal(error.stack ?? error.message);
      });
    });
  }

  gatewayStats(): GatewayStats | undefined {
    return this.stats;
  }

  marketDataStats(): MarketDataStats | undefined {
    return this.marketData;
  }

  stop(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const onMessage = (message: { type: string }) => {
        if (message.type === 'closed') {
          worker.off('message', onMessage);
          resolve();
        }
      };
      worker.on('message', onMessage);
      worker.postMessage({ type: 'stop' });
    });
  }

  /** After the core stopped: let the worker finish draining the ring (a gateway then saves its checkpoint), then end it. */
  async dispose(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    if (!this.drained) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, DRAIN_TIMEOUT_MS);
        this.onDrained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    await worker.terminate();
  }
}

/**
 * The market-data service: one outbound consumer. It starts after the core recovered
 * (core.startReport) and rebuilds its state from the journal up to that sequence.
 */
export function marketDataService(
  config: ExchangeConfig, log: Logger, onFatal: (who: string, message: string) => void = () => {}, options: Partial<MarketDataEndpointOptions> = {},
): ServiceFactory {
  const resolved = resolveMarketDataOptions(options);
  return {
    consumers: 1,
    create(core: ExchangeCore, firstConsumer: number): Service {
      if (core.startReport === undefined) throw new Error('market data: the core must be started (recovered) first');
      const data: MarketDataWorkerData = {
        outbound: core.outbound.buffer, control: core.control.buffer, consumerIndex: firstConsumer, host: config.host, port: config.marketDataPort,
        journalPath: core.journalPath, recoveredSequence: core.startReport.sequence, options: resolved,
      };
      const file = path.join(__dirname, 'market-data', 'endpoint', 'market-data-worker.js');
      return new WorkerService(`market data (port ${config.marketDataPort})`, file, data, log, (message) => onFatal('market data', message));
    },
  };
}

/**
 * Every gateway service. Market-data options: the `marketData` argument, else an
 * optional `marketData` object on the config (not yet a validated config key), else
 * the defaults (gateway/market-data/endpoint/options.ts).
 */
export function gatewayServices(
  config: ExchangeConfig, log: Logger, onFatal: (who: string, message: string) => void = () => {},
  marketData: Partial<MarketDataEndpointOptions> = (config as ExchangeConfig & { marketData?: Partial<MarketDataEndpointOptions> }).marketData ?? {},
): ServiceFactory[] {
  const broker = config.brokerPort === 0 ? [] : [brokerService(config, log)];
  return [...orderEntryServices(config, log, onFatal), marketDataService(config, log, onFatal, marketData), ...broker];
}

export function orderEntryServices(config: ExchangeConfig, log: Logger, onFatal: (who: string, message: string) => void = () => {}): ServiceFactory[] {
  const keys = apiKeys(config);
  return Array.from({ length: config.gatewayWorkers }, (_, i): ServiceFactory => ({
    consumers: 1,
    create(core: ExchangeCore, firstConsumer: number): Service {
      if (core.startReport === undefined) throw new Error('order entry: the core must be started (recovered) first');
      const data: OrderEntryWorkerData = {
        inbound: core.inbound.buffer, outbound: core.outbound.buffer, control: core.control.buffer, consumerIndex: firstConsumer,
        gatewayId: i + 1, gatewayCount: config.gatewayWorkers, host: config.host, port: config.orderEntryBasePort + i, keys,
        maxBufferedBytes: MAX_CLIENT_BUFFERED_BYTES, throttle: config.throttle,
        journalPath: core.journalPath, recoveredSequence: core.startReport.sequence,
        checkpointEveryEvents: config.gatewayCheckpointEveryEvents,
      };
      const file = path.join(__dirname, 'order-entry', 'order-entry-worker.js');
      return new WorkerService(`order-entry gateway ${i + 1} (port ${data.port})`, file, data, log, (message) => onFatal(`gateway ${i + 1}`, message));
    },
  }));
}
