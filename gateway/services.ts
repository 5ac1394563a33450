/**
 * The gateway-side services the supervisor starts: one order-entry gateway worker
 * per configured worker (each on its own port, each one outbound-ring consumer),
 * and the market-data publisher.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ExchangeConfig } from '../core/runtime/config';
import type { ExchangeCore } from '../core/runtime/exchange';
import type { Service, ServiceFactory } from '../core/runtime/supervisor';
import type { OrderEntryWorkerData } from './order-entry/order-entry-worker';
import type { ApiKeySpec } from './session/key-registry';

/** Unsent bytes a client may accumulate before it is disconnected as a slow consumer. */
export const MAX_CLIENT_BUFFERED_BYTES = 8 << 20;
/** How long a gateway waits for inbound ring space before answering SYSTEM_BUSY. */
export const RING_WAIT_MS = 2;

export function apiKeys(config: ExchangeConfig): ApiKeySpec[] {
  return config.demoAccounts.filter((a) => a.permissions.length > 0).map((a) => ({
    keyId: a.keyId, account: a.account, permissions: a.permissions, type: 'hmac-sha256' as const, secret: Buffer.from(a.apiSecret, 'utf8'),
  }));
}

class OrderEntryGateway implements Service {
  readonly name: string;
  private worker?: Worker;

  constructor(private readonly workerData: OrderEntryWorkerData, private readonly log: Logger, private readonly onFatal: (message: string) => void) {
    this.name = `order-entry gateway ${workerData.gatewayId} (port ${workerData.port})`;
  }

  start(): Promise<void> {
    const worker = new Worker(path.join(__dirname, 'order-entry', 'order-entry-worker.js'), { workerData: this.workerData });
    this.worker = worker;
    return new Promise((resolve, reject) => {
      worker.on('message', (message: { type: string; message?: string; level?: string }) => {
        if (message.type === 'listening') resolve();
        if (message.type === 'log') this.log.error({ gateway: this.workerData.gatewayId }, String(message.message));
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

  async dispose(): Promise<void> {
    await this.worker?.terminate();
  }
}

export function gatewayServices(config: ExchangeConfig, log: Logger, onFatal: (who: string, message: string) => void = () => {}): ServiceFactory[] {
  const keys = apiKeys(config);
  return Array.from({ length: config.gatewayWorkers }, (_, i): ServiceFactory => ({
    consumers: 1,
    create(core: ExchangeCore, firstConsumer: number): Service {
      return new OrderEntryGateway({
        inbound: core.inbound.buffer, outbound: core.outbound.buffer, control: core.control.buffer, consumerIndex: firstConsumer,
        gatewayId: i + 1, gatewayCount: config.gatewayWorkers, host: config.host, port: config.orderEntryBasePort + i, keys,
        maxBufferedBytes: MAX_CLIENT_BUFFERED_BYTES, ringWaitMs: RING_WAIT_MS, throttle: config.throttle,
      }, log, (message) => onFatal(`gateway ${i + 1}`, message));
    },
  }));
}
