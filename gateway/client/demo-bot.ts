/**
 * The demo market as a client: the same market maker and taker as the exchange's built-in
 * demo flow (core/runtime/demo-flow.ts: one strategy, two transports), here logged on as
 * two API keys over the binary protocol against a running server — throttles, risk checks
 * and the durability gate apply as to any firm. `npm run bot` (bin/exchange-bot.ts).
 */
import { DemoFlow, DemoFlowOptions } from '../../core/runtime/demo-flow';
import { decodeCommand } from '../../core/record-objects';
import type { ExchangeConfig } from '../../core/runtime/config';
import { ExchangeClient } from './exchange-client';

export interface DemoBotOptions {
  /** WebSocket URL of each key's order-entry gateway. */
  makerUrl: string;
  takerUrl: string;
  makerKey: number;
  makerSecret: string;
  takerKey: number;
  takerSecret: string;
  makerAccount: number;
  takerAccount: number;
  /** The instruments to quote (id, tick, lot, reference price, band). */
  instruments: ExchangeConfig['instruments'];
  cyclesPerSecond: number;
  levels: number;
}

export interface DemoBotStats {
  sent: number;
  accepted: number;
  trades: number;
  rejected: number;
  /** OrderRejected by reason code (the taker's sells are refused until it holds shares: INSUFFICIENT_POSITION). */
  rejectReasons: Record<number, number>;
  /** Gateway rejects (THROTTLED, SYSTEM_BUSY, ...): the bot sends faster than the keys may. */
  gatewayRejects: number;
}

export class DemoBot {
  readonly stats: DemoBotStats = { sent: 0, accepted: 0, trades: 0, rejected: 0, rejectReasons: {}, gatewayRejects: 0 };
  private readonly maker: ExchangeClient;
  private readonly taker: ExchangeClient;
  private readonly flow: DemoFlow;

  constructor(private readonly options: DemoBotOptions) {
    this.maker = new ExchangeClient({ url: options.makerUrl, keyId: options.makerKey, secret: options.makerSecret, cancelOnDisconnect: true });
    this.taker = new ExchangeClient({ url: options.takerUrl, keyId: options.takerKey, secret: options.takerSecret, cancelOnDisconnect: true });
    const flowOptions: DemoFlowOptions = {
      makerAccount: options.makerAccount, takerAccount: options.takerAccount, cyclesPerSecond: options.cyclesPerSecond, levels: options.levels,
    };
    this.flow = new DemoFlow({ instruments: options.instruments } as ExchangeConfig, (words) => this.submit(words), flowOptions);
  }

  async start(): Promise<void> {
    await Promise.all([this.maker.connect(), this.taker.connect()]);
    for (const client of [this.maker, this.taker]) {
      client.keepReceived = false;
      client.on('message', (m: { type: string; reason?: number }) => {
        if (m.type === 'OrderAccepted') this.stats.accepted++;
        else if (m.type === 'Trade' && client === this.taker) this.stats.trades++;
        else if (m.type === 'OrderRejected') {
          this.stats.rejected++;
          this.stats.rejectReasons[m.reason!] = (this.stats.rejectReasons[m.reason!] ?? 0) + 1;
        }
        else if (m.type === 'Reject') this.stats.gatewayRejects++;
      });
    }
    this.flow.start();
  }

  async stop(): Promise<void> {
    this.flow.stop();
    await Promise.all([this.maker.close(), this.taker.close()]);
  }

  /** The flow's commands, sent by the key of the account they name. */
  private submit(words: Float64Array): boolean {
    const { type, timestamp: _timestamp, origin: _origin, ...fields } = decodeCommand(words);
    const client = fields.account === this.options.makerAccount ? this.maker : this.taker;
    client.send(type, fields as Record<string, number>);
    this.stats.sent++;
    return true;
  }
}
