/**
 * The supervisor's view of a running exchange core: it creates the rings and the
 * control block, starts the matcher thread (which recovers from the journal) and
 * the journal thread, and stops them in order. It never restarts a dead thread
 * silently: a matcher or journal failure stops the exchange with the reason
 * (`onFatal`), because trading without a journal is never acceptable.
 *
 * The supervisor thread is also an inbound producer (`submit`), used for the
 * session calendar, configuration commands, the demo feed and tests; gateway
 * workers attach their own producers to the same ring.
 */
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { MpscRing, SpmcRing } from '../ring';
import { COMMAND_WORDS, EVENT_WORDS } from '../schema';
import { EngineLimits, validateLimits } from '../limits';
import { ControlBlock } from './control-block';
import type { StateImage } from '../state-image';
import type { MatcherWorkerData } from './matcher-worker';
import type { JournalWorkerData } from '../../journal/journal-worker';
import type { Durability } from '../../journal/journal';
import { snapshotDirectoryFor } from '../../snapshots/snapshot-store';

export interface ExchangeCoreOptions {
  dataDirectory: string;
  durability?: Durability;
  risk?: boolean;
  limits?: Partial<EngineLimits>;
  /** Inbound ring slots (power of two). */
  inboundCapacity?: number;
  /** Outbound ring slots (power of two, more than one output batch). */
  outboundCapacity?: number;
  /** Outbound consumers besides the journal (gateway workers, taps); each must keep reading. */
  extraConsumers?: number;
  maxBatch?: number;
  idleWaitMs?: number;
  onFatal?: (who: string, message: string) => void;
  onProgress?: (who: string, message: string) => void;
  /** Acknowledgements wait for EventStoreDB replication: the journal thread only publishes its local durable sequence. */
  acksWaitForReplication?: boolean;
}

export const DEFAULT_INBOUND_CAPACITY = 1 << 16;
export const DEFAULT_OUTBOUND_CAPACITY = 1 << 18;
export const DEFAULT_MAX_BATCH = 4096;
export const DEFAULT_IDLE_WAIT_MS = 50;
/** Consumer index of the journal on the outbound ring; extra consumers follow it. */
export const JOURNAL_CONSUMER = 0;

interface WorkerMessage { type: string; [key: string]: unknown }

export interface StartReport {
  sequence: number;
  stateHash: string;
  recovery: unknown;
}

export class ExchangeCore {
  readonly control: ControlBlock;
  readonly inbound: MpscRing;
  readonly outbound: SpmcRing;
  readonly journalPath: string;
  readonly snapshotDirectory: string;
  private matcher?: Worker;
  private journal?: Worker;
  private stopping = false;
  private readonly waiters = new Map<string, (message: WorkerMessage) => void>();
  /** Threads that failed, with why: waiting on them fails at once. */
  private readonly failed = new Map<string, string>();
  startReport?: StartReport;

  constructor(readonly options: ExchangeCoreOptions) {
    const limits = validateLimits(options.limits);
    const outboundCapacity = options.outboundCapacity ?? DEFAULT_OUTBOUND_CAPACITY;
    if (outboundCapacity <= limits.eventBatchCapacity) {
      throw new RangeError(`outboundCapacity (${outboundCapacity}) must exceed limits.eventBatchCapacity (${limits.eventBatchCapacity})`);
    }
    mkdirSync(options.dataDirectory, { recursive: true });
    this.journalPath = path.join(options.dataDirectory, 'journal.db');
    this.snapshotDirectory = snapshotDirectoryFor(this.journalPath);
    this.control = ControlBlock.create();
    this.inbound = MpscRing.create(options.inboundCapacity ?? DEFAULT_INBOUND_CAPACITY, COMMAND_WORDS);
    this.outbound = SpmcRing.create(outboundCapacity, EVENT_WORDS, 1 + (options.extraConsumers ?? 0));
  }

  /** Starts the matcher (recovery first), then the journal. Resolves when both run. */
  async start(): Promise<StartReport> {
    const o = this.options;
    const matcherData: MatcherWorkerData = {
      inbound: this.inbound.buffer, outbound: this.outbound.buffer, control: this.control.buffer,
      journalPath: this.journalPath, risk: o.risk ?? true,
      limits: o.limits ?? {}, maxBatch: Math.min(o.maxBatch ?? DEFAULT_MAX_BATCH, this.inbound.capacity), idleWaitMs: o.idleWaitMs ?? DEFAULT_IDLE_WAIT_MS,
    };
    this.matcher = this.spawn('matcher', path.join(__dirname, 'matcher-worker.js'), matcherData);
    const ready = await this.next('matcher', 'ready');
    const journalData: JournalWorkerData = {
      outbound: this.outbound.buffer, control: this.control.buffer, consumerIndex: JOURNAL_CONSUMER,
      journalPath: this.journalPath, durability: o.durability ?? 'fsync', idleWaitMs: o.idleWaitMs ?? DEFAULT_IDLE_WAIT_MS,
      publishDurable: o.acksWaitForReplication !== true,
    };
    this.journal = this.spawn('journal', path.join(__dirname, '..', '..', 'journal', 'journal-worker.js'), journalData);
    await this.next('journal', 'ready');
    this.startReport = { sequence: ready.sequence as number, stateHash: ready.stateHash as string, recovery: ready.report };
    return this.startReport;
  }

  /** Submits one command record; false if the inbound ring stayed full for timeoutMs. */
  submit(words: Float64Array, offset = 0, timeoutMs = 100): boolean {
    const slot = this.inbound.tryClaim(timeoutMs);
    if (slot < 0) return false;
    this.inbound.words.set(words.subarray(offset, offset + COMMAND_WORDS), slot);
    this.inbound.publish();
    return true;
  }

  /** Resolves once the journal has made every event up to `sequence` durable. */
  async waitDurable(sequence: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;  // clock-ok: supervisor side, never inside the matcher
    for (;;) {
      const tick = this.control.durableTick;
      if (this.control.durableSequence >= sequence) return;
      if (Date.now() > deadline) throw new Error(`durable sequence ${this.control.durableSequence} did not reach ${sequence} within ${timeoutMs} ms`);  // clock-ok: supervisor side, never inside the matcher
      await this.control.waitDurableAsync(tick, 50);
    }
  }

  /** Asks the matcher for a state image at its next batch boundary. */
  requestImage(): Promise<StateImage> {
    const image = this.next('matcher', 'image').then((m) => ({ header: m.header as StateImage['header'], bytes: m.bytes as Uint8Array }));
    this.control.requestSnapshot();
    return image;
  }

  /** The last image's bytes are no longer read: the matcher may cut the next one into the same arena. */
  releaseImage(): void {
    this.control.imageArenaBusy = false;
  }

  /** Drains and stops: the matcher finishes every published command, the journal makes it durable. */
  async stop(): Promise<{ sequence: number; stateHash: string; durableSequence: number }> {
    if (this.stopping) throw new Error('stop() already called');
    this.stopping = true;
    // Both waiters before the request: the threads may report before we look.
    const matcherDone = this.next('matcher', 'stopped');
    const journalDone = this.next('journal', 'stopped');
    this.control.requestStop();
    try {
      const matcherStopped = await matcherDone;
      const journalStopped = await journalDone;
      return {
        sequence: matcherStopped.sequence as number,
        stateHash: matcherStopped.stateHash as string,
        durableSequence: journalStopped.durableSequence as number,
      };
    } finally {
      await Promise.all([this.matcher?.terminate(), this.journal?.terminate()]);
    }
  }

  /** Stops the threads at once without draining (after a fatal error). */
  async kill(): Promise<void> {
    this.stopping = true;
    this.control.requestStop();
    await Promise.all([this.matcher?.terminate(), this.journal?.terminate()]);
  }


  private spawn(who: string, file: string, data: unknown): Worker {
    const worker = new Worker(file, { workerData: data });
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'progress') this.options.onProgress?.(who, String(message.message));
      if (message.type === 'fatal') this.fatal(who, String(message.message));
      const waiter = this.waiters.get(`${who}:${message.type}`);
      if (waiter !== undefined) {
        this.waiters.delete(`${who}:${message.type}`);
        waiter(message);
      }
    });
    worker.on('error', (error) => this.fatal(who, error.stack ?? error.message));
    worker.on('exit', (code) => {
      if (!this.stopping || code !== 0) {
        if (!this.stopping) this.fatal(who, `${who} thread exited (code ${code}) while the exchange was running`);
      }
    });
    return worker;
  }

  private fatal(who: string, message: string): void {
    if (this.failed.has(who)) return;
    this.failed.set(who, message);
    for (const [key, waiter] of this.waiters) {
      if (key.startsWith(`${who}:`)) {
        this.waiters.delete(key);
        waiter({ type: 'fatal', message });
      }
    }
    if (this.options.onFatal !== undefined) this.options.onFatal(who, message);
    else process.emitWarning(`exchange ${who} failed: ${message}`);
  }

  private next(who: string, type: string): Promise<WorkerMessage> {
    return new Promise((resolve, reject) => {
      const failure = this.failed.get(who);
      if (failure !== undefined) return reject(new Error(`${who} failed: ${failure}`));
      this.waiters.set(`${who}:${type}`, (message) => {
        if (message.type === 'fatal') reject(new Error(`${who} failed: ${String(message.message)}`));
        else resolve(message);
      });
    });
  }
}
