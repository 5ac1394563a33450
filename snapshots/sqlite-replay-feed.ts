/**
 * The fast replay feed for the embedded journal: a reader thread (sqlite-replay-worker.ts)
 * reads the journal file through its own read-only connection, verifies the hash chain on
 * the stored bytes and hands over verified pages (transferred, not copied), so reading,
 * decoding and SHA-256 run on the second core while the recovering thread re-executes.
 *
 * The reader stops at `toSequence` (the journal's durable end as the open SqliteJournal
 * reported it), and recovery cross-checks the reader's final head against journal.tail(), so
 * a path that is not the journal's file cannot go unnoticed.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ChainAnchor, VerifyResult } from '../journal/hash-chain';
import type { ReplayPage } from './replay-page';
import { PAGE_RECORDS } from './replay-page';
import { chainFault, ReplayFeed } from './replay-feed';
import { SnapshotError } from './snapshot-error';

/** Pages the reader may run ahead of the replay (bounds memory: a page is at most ~8 MiB). */
export const DEFAULT_READ_AHEAD_PAGES = 3;

/** @internal worker protocol */
export interface ReaderWorkerData {
  path: string;
  firstSequence: number;
  previousHash: Uint8Array;
  toSequence: number;
  pageRecords: number;
  readAhead: number;
}
/** @internal */
export type ReaderMessage =
  | { type: 'page'; page: ReplayPage }
  | { type: 'end'; result: VerifyResult }
  | { type: 'fault'; result: VerifyResult }
  | { type: 'error'; message: string; sequence: number };

export interface SqliteReplayFeedOptions {
  /** The sqlite journal file. */
  path: string;
  anchor: ChainAnchor;
  /** Last sequence to replay (journal.durableSequence()). */
  toSequence: number;
  readAhead?: number;
  pageRecords?: number;
}

export class SqliteReplayFeed implements ReplayFeed {
  private readonly worker: Worker;
  private readonly queue: ReaderMessage[] = [];
  private waiter: ((message: ReaderMessage) => void) | undefined;
  private final: VerifyResult | undefined;
  private failure: Error | undefined;

  constructor(options: SqliteReplayFeedOptions) {
    const data: ReaderWorkerData = {
      path: options.path,
      firstSequence: options.anchor.firstSequence,
      previousHash: new Uint8Array(options.anchor.previousHash),
      toSequence: options.toSequence,
      pageRecords: options.pageRecords ?? PAGE_RECORDS,
      readAhead: options.readAhead ?? DEFAULT_READ_AHEAD_PAGES,
    };
    this.worker = new Worker(path.join(__dirname, 'sqlite-replay-worker.js'), { workerData: data });
    this.worker.on('message', (message: ReaderMessage) => this.deliver(message));
    this.worker.on('error', (error) => this.deliver({ type: 'error', message: error.message, sequence: NaN }));
    // After 'end' the worker idles until close() terminates it; an exit before that is a failure.
    this.worker.on('exit', (code) => this.deliver({ type: 'error', message: `the reader thread exited (code ${code})`, sequence: NaN }));
  }

  async next(): Promise<ReplayPage | null> {
    if (this.failure !== undefined) throw this.failure;
    if (this.final !== undefined) return null;
    const message = this.queue.shift() ?? (await new Promise<ReaderMessage>((resolve) => (this.waiter = resolve)));
    switch (message.type) {
      case 'page':
        this.worker.postMessage({ credit: 1 });
        return message.page;
      case 'end':
        this.final = message.result;
        return null;
      case 'fault':
        this.failure = chainFault(message.result as VerifyResult & { ok: false });
        throw this.failure;
      case 'error': {
        const at = Number.isNaN(message.sequence) ? undefined : message.sequence;
        this.failure = new SnapshotError('RECOVERY_JOURNAL_CORRUPT', `reading the journal file${at === undefined ? '' : ` at ${at}`}: ${message.message}`, at);
        throw this.failure;
      }
    }
  }

  result(): VerifyResult {
    if (this.final === undefined) throw new Error('SqliteReplayFeed.result() before the end of the feed');
    return this.final;
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }

  private deliver(message: ReaderMessage): void {
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      waiter(message);
    } else {
      this.queue.push(message);
    }
  }
}
