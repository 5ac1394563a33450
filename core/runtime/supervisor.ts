/**
 * The supervisor (main thread): reads the configuration, starts the exchange core
 * (matcher and journal threads; recovery first), bootstraps a fresh journal from the
 * configuration, serves health/readiness/metrics, starts the gateways and the demo
 * flow, and shuts everything down in order on SIGTERM/SIGINT: stop accepting, drain
 * the rings, flush the journal, exit 0. A dead matcher or journal thread stops the
 * exchange with a clear error and a non-zero exit: it never trades without a journal.
 */
import { EventStoreClientLike, EventStoreJournal } from '../../journal/eventstore-journal';
import { EventStoreReplicator } from '../../journal/eventstore-replicator';
import type http from 'node:http';
import type { Logger } from 'pino';
import { ExchangeCore } from './exchange';
import type { ExchangeConfig } from './config';
import { bootstrapCommands } from './bootstrap';
import { createMetrics, GatewayStats, MarketDataStats, ObservabilityState, startHttp } from './observability';
import { DemoFlow } from './demo-flow';
import { SnapshotScheduler } from './snapshot-scheduler';
import { CalendarMoment, momentAt, SessionCommand, startCommands, transitionCommands } from './trading-calendar';
import { encodeCommand } from '../record-objects';

export interface Service {
  readonly name: string;
  start(): Promise<void>;
  /** Stop accepting new work (gateways close their listeners); keep draining the outbound ring. */
  stop(): Promise<void>;
  /** After the core stopped: release threads and resources. */
  dispose?(): Promise<void>;
  /** Latest figures of an order-entry gateway, for the metrics. */
  gatewayStats?(): GatewayStats | undefined;
  /** Latest figures of the market-data endpoint, for the metrics. */
  marketDataStats?(): MarketDataStats | undefined;
}

/** Extra outbound-ring consumers a service needs, assigned in the order services are added. */
export interface ServiceFactory {
  consumers: number;
  create(core: ExchangeCore, firstConsumer: number): Service;
}

/** What tests (and embedders) may substitute. */
export interface SupervisorExtras {
  /** Wall clock for time commands and the calendar. */
  now?: () => number;
  /** An EventStoreDB client instead of connecting to config.eventStoreUrl. */
  eventStoreClient?: EventStoreClientLike;
}

export class Supervisor {
  readonly core: ExchangeCore;
  private http?: http.Server;
  private demo?: DemoFlow;
  private readonly services: Service[] = [];
  private readonly state: ObservabilityState = { ready: false, live: true };
  private stopping?: Promise<number>;
  private clock?: NodeJS.Timeout;
  snapshots?: SnapshotScheduler;
  /** Called after an admin-requested stop finished (bin/exchange.ts exits with the code). */
  onStopped?: (code: number) => void;
  /** The calendar as of the last tick; undefined before the first, which sends startCommands. */
  private moment: CalendarMoment | undefined;
  /** Whether start() recovered an existing journal (a fresh one has no previous day to end). */
  private recovered = false;
  private readonly now: () => number;
  /** Copies the journal into EventStoreDB when configured. */
  replicator?: EventStoreReplicator;

  constructor(
    readonly config: ExchangeConfig,
    readonly log: Logger,
    private readonly factories: ServiceFactory[] = [],
    private readonly extras: SupervisorExtras = {},
  ) {
    this.now = extras.now ?? (() => Date.now());  // clock-ok: supervisor side, never inside the matcher
    const extra = factories.reduce((n, f) => n + f.consumers, 0);
    this.core = new ExchangeCore({
      dataDirectory: config.dataDirectory, durability: config.durability, risk: config.risk, limits: config.limits,
      inboundCapacity: config.inboundCapacity, outboundCapacity: config.outboundCapacity, extraConsumers: extra,
      onFatal: (who, message) => this.onFatal(who, message),
      onProgress: (who, message) => this.log.info({ thread: who }, message),
      acksWaitForReplication: config.eventStoreAcks,
    });
  }

  async start(): Promise<void> {
    const started = process.hrtime.bigint();  // clock-ok: supervisor side, never inside the matcher
    const sources = {
      gateways: () => this.services.map((s) => s.gatewayStats?.()).filter((g): g is GatewayStats => g !== undefined),
      marketData: () => this.services.map((s) => s.marketDataStats?.()).filter((m): m is MarketDataStats => m !== undefined),
      snapshot: () => ({ storedAtMs: this.snapshots?.lastStoredAtMs ?? 0, durationMs: this.snapshots?.lastDurationMs ?? 0 }),
      replication: () => (this.replicator === undefined ? undefined : { sequence: this.replicator.replicatedSequence(), lagEvents: this.replicator.lagEvents() }),
    };
    this.http = await startHttp(this.config.httpPort, this.config.host, createMetrics(this.core, this.state, sources), this.state, {
      token: this.config.adminToken,
      status: () => ({
        ready: this.state.ready, matchedSequence: this.core.control.matchedSequence, durableSequence: this.core.control.durableSequence,
        commandsProcessed: this.core.control.commandsProcessed, snapshotSequence: this.core.control.snapshotSequence,
        inboundOccupancy: this.core.inbound.occupancy(), outboundOccupancy: this.core.outbound.occupancy(), phase: this.moment?.phase ?? 'starting', tradingDay: this.moment?.day ?? 0,
      }),
      snapshot: async () => {
        if (this.snapshots === undefined) throw new Error('not started');
        await this.snapshots.requestNow();
        return { snapshotSequence: this.core.control.snapshotSequence };
      },
      stop: () => void this.stop('admin request').then((code) => this.onStopped?.(code)),
    });
    const report = await this.core.start();
    this.log.info({ sequence: report.sequence, stateHash: report.stateHash, recovery: report.recovery }, 'recovered');
    this.recovered = report.sequence !== 0;
    if (report.sequence === 0) {
      const commands = bootstrapCommands(this.config, Date.now() * 1000);  // clock-ok: supervisor side, never inside the matcher
      for (const command of commands) if (!this.core.submit(command, 0, 5000)) throw new Error('inbound ring full during bootstrap');
      this.log.info({ commands: commands.length }, 'bootstrapped a fresh journal from the configuration');
    }
    this.snapshots = new SnapshotScheduler(this.core, this.config.snapshot, this.log, report.sequence);
    if (this.config.eventStoreUrl !== '' || this.extras.eventStoreClient !== undefined) await this.startReplication();
    let consumer = 1;
    for (const factory of this.factories) {
      const service = factory.create(this.core, consumer);
      consumer += factory.consumers;
      await service.start();
      this.services.push(service);
      this.log.info({ service: service.name }, 'service started');
    }
    this.tick();
    this.clock = setInterval(() => this.tick(), this.config.clockIntervalMs);  // clock-ok: supervisor side, never inside the matcher
    if (this.config.demoFlow) {
      this.demo = new DemoFlow(this.config, (words) => this.core.submit(words, 0, 10));
      this.demo.start();
      this.log.info('demo market maker and taker running');
    }
    this.state.ready = true;
    const ms = Number(process.hrtime.bigint() - started) / 1e6;  // clock-ok: supervisor side, never inside the matcher
    this.log.info({ ms: Math.round(ms), http: `http://${this.config.host}:${this.config.httpPort}` }, 'exchange ready');
  }

  /** Graceful stop; resolves with the exit code. */
  stop(reason: string): Promise<number> {
    if (this.stopping !== undefined) return this.stopping;
    this.stopping = (async () => {
      this.log.info({ reason }, 'stopping: no new work, draining rings, flushing the journal');
      this.state.ready = false;
      this.demo?.stop();
      if (this.clock !== undefined) clearInterval(this.clock);
      for (const service of [...this.services].reverse()) await service.stop();
      await this.snapshots?.final();
      await this.snapshots?.close();
      const stopped = await this.core.stop();
      await this.replicator?.stop(); // everything durable reaches the stream before the process exits
      for (const service of this.services) await service.dispose?.();
      this.log.info(stopped, 'stopped cleanly');
      await new Promise<void>((resolve) => (this.http ? this.http.close(() => resolve()) : resolve()));
      return 0;
    })().catch((error: Error) => {
      this.log.error({ err: error }, 'stop failed');
      return 1;
    });
    return this.stopping;
  }

  private async startReplication(): Promise<void> {
    const stream = await EventStoreJournal.open({
      instanceId: this.config.eventStoreInstance, connectionString: this.config.eventStoreUrl, client: this.extras.eventStoreClient,
    });
    this.replicator = new EventStoreReplicator({
      journalPath: this.core.journalPath, stream, localDurable: () => this.core.control.localDurableSequence,
      onFatal: (message) => this.onFatal('replicator', message),
      onReplicated: this.config.eventStoreAcks ? (sequence) => this.core.control.publishDurable(sequence) : undefined,
    });
    await this.replicator.start();
    this.log.info({ stream: stream.stream, from: this.replicator.replicatedSequence() }, 'replicating the journal to EventStoreDB');
  }

  /** Sends time into the matcher (Clock: GTD expiry) and the calendar's session transitions. */
  private tick(): void {
    const now = this.now();
    const micros = now * 1000;
    const next = momentAt(this.config.calendar, now);
    const commands: SessionCommand[] = this.moment === undefined
      ? startCommands(this.config.calendar, now, this.recovered)
      : transitionCommands(this.moment, next);
    for (const command of commands) {
      this.log.info({ from: this.moment ?? 'start', to: next, command }, 'session transition');
      const fields = command.name === 'EndOfDay' ? { calendarDate: command.calendarDate } : { instrument: 0 };
      this.core.submit(encodeCommand(command.name, fields, micros), 0, 1000);
    }
    this.moment = next;
    this.core.submit(encodeCommand('Clock', {}, micros), 0, 10);
    this.snapshots?.tick();
  }

  /** A thread failed: stop the exchange (public so services can report their own threads). */
  onFatal(who: string, message: string): void {
    if (this.clock !== undefined) clearInterval(this.clock);
    this.state.live = false;
    this.state.ready = false;
    this.log.fatal({ thread: who }, `${who} thread failed; stopping the exchange: ${message}`);
    this.demo?.stop();
    void Promise.all([this.core.kill(), ...this.services.map((s) => s.dispose?.())]).then(() => {
      this.http?.close();
      process.exit(1);
    });
  }
}
