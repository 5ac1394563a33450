/**
 * The fast replay feed for the embedded journal: reader threads (sqlite-replay-worker.ts)
 * read the journal file through their own read-only connections, verify the hash chain on
 * the stored bytes and hand over verified pages (transferred, not copied), so reading,
 * decoding and SHA-256 run beside the recovering thread, which only re-executes.
 *
 * The sequence space from the anchor on is cut into ranges of RANGE_EVENTS; range i holds
 * the records whose firstSequence falls in it (a record has at most MAX_EVENTS_PER_RECORD <
 * RANGE_EVENTS events, so every range of an intact journal holds at least one). With R
 * readers, reader k verifies ranges k, k+R, k+2R, ... in parallel (a record's hash depends
 * only on its own bytes and its stored previousHash), and this feed checks, in order, the
 * joint between consecutive ranges: the range starts right after the previous one ended
 * (else SEQUENCE_GAP at the missing sequence) and its first record's previousHash is the
 * previous range's last hash (else PREVIOUS_HASH_MISMATCH). Faults are reported in journal
 * order, with the reasons and sequence numbers ChainVerifier gives.
 *
 * The readers stop at `toSequence` (the journal's durable end as the open SqliteJournal
 * reported it); recovery cross-checks the final head against journal.tail(), so a path that
 * is not the journal's file cannot go unnoticed.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ChainAnchor, ChainFaultReason, VerifyResult } from '../journal/hash-chain';
import { MAX_EVENTS_PER_RECORD } from '../journal/journal-record';
import type { ReplayPage } from './replay-page';
import { JournalLayout, journalLayout } from '../journal/sqlite-pages';
import { chainFault, ReplayFeed } from './replay-feed';
import { SnapshotError } from './snapshot-error';

/** Sequence numbers per range (one page per range). At least twice the largest record. */
export const RANGE_EVENTS = 2 * MAX_EVENTS_PER_RECORD;
/** Reader threads: two keep both cores of the calibration machine busy beside the replaying thread. */
export const DEFAULT_READERS = 2;
/** Ranges each reader may run ahead of the replay (bounds memory: a range is ~1-2 MiB of pages). */
export const DEFAULT_READ_AHEAD_RANGES = 4;

/** @internal worker protocol */
export interface ReaderWorkerData {
  path: string;
  firstSequence: number;
  toSequence: number;
  rangeEvents: number;
  index: number;
  readers: number;
  readAhead: number;
  /** Leaf pages of the journal table, when the file alone is authoritative (else rows come through sqlite). */
  layout: Pick<JournalLayout, 'leaves' | 'upperKeys'> | null;
}
/** @internal one message per range, in the reader's range order */
export interface RangeMessage {
  range: number;
  /** The verified records (all of the range, or those before the fault); null if none. */
  page: ReplayPage | null;
  firstPreviousHash: Uint8Array;
  /** Hash of the range's last record (null on a fault or error). */
  lastHash: Uint8Array | null;
  fault: VerifyResult | null;
  error: string | null;
}

export interface SqliteReplayFeedOptions {
  /** The sqlite journal file. */
  path: string;
  anchor: ChainAnchor;
  /** Last sequence to replay (journal.durableSequence()). */
  toSequence: number;
  readers?: number;
  readAhead?: number;
  rangeEvents?: number;
  /** Read rows through better-sqlite3 even when the leaf pages could be read directly (benchmarks, tests). */
  pages?: boolean;
}

function equalHash(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class SqliteReplayFeed implements ReplayFeed {
  private readonly workers: Worker[] = [];
  private readonly queues: RangeMessage[][] = [];
  private readonly waiters: Array<((message: RangeMessage) => void) | undefined> = [];
  private readonly ranges: number;
  private readonly readers: number;
  private next_ = 0;
  private expectedSequence: number;
  private headHash: Uint8Array;
  private count = 0;
  private final: VerifyResult | undefined;
  private failure: Error | undefined;
  private pendingFault: Error | undefined;
  /** Whether the readers read the file's leaf pages directly (else rows through better-sqlite3). */
  readonly readsPages: boolean = false;

  constructor(options: SqliteReplayFeedOptions) {
    const rangeEvents = options.rangeEvents ?? RANGE_EVENTS;
    if (!Number.isSafeInteger(rangeEvents) || rangeEvents <= MAX_EVENTS_PER_RECORD) {
      throw new SnapshotError('SNAPSHOT_BAD_OPTION', `rangeEvents must exceed MAX_EVENTS_PER_RECORD (${MAX_EVENTS_PER_RECORD})`);
    }
    this.expectedSequence = options.anchor.firstSequence;
    this.headHash = new Uint8Array(options.anchor.previousHash);
    const span = options.toSequence - options.anchor.firstSequence + 1;
    this.ranges = span > 0 ? Math.ceil(span / rangeEvents) : 0;
    this.readers = Math.max(1, Math.min(options.readers ?? DEFAULT_READERS, this.ranges));
    if (this.ranges === 0) return;
    const fileLayout = options.pages === false ? undefined : journalLayout(options.path);
    const layout = fileLayout === undefined ? null : { leaves: fileLayout.leaves, upperKeys: fileLayout.upperKeys };
    this.readsPages = layout !== null;
    for (let index = 0; index < this.readers; index++) {
      const data: ReaderWorkerData = {
        path: options.path,
        firstSequence: options.anchor.firstSequence,
        toSequence: options.toSequence,
        rangeEvents,
        index,
        readers: this.readers,
        readAhead: options.readAhead ?? DEFAULT_READ_AHEAD_RANGES,
        layout,
      };
      const worker = new Worker(path.join(__dirname, 'sqlite-replay-worker.js'), { workerData: data });
      this.queues.push([]);
      this.waiters.push(undefined);
      worker.on('message', (message: RangeMessage) => this.deliver(index, message));
      const failed = (why: string) => this.deliver(index, { range: -1, page: null, firstPreviousHash: new Uint8Array(0), lastHash: null, fault: null, error: why });
      worker.on('error', (error) => failed(error.message));
      // A reader exits only when close() terminates it; an exit before that is a failure.
      worker.on('exit', (code) => failed(`reader thread ${index} exited (code ${code})`));
      this.workers.push(worker);
    }
  }

  async next(): Promise<ReplayPage | null> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      if (this.pendingFault !== undefined) {
        this.failure = this.pendingFault;
        throw this.failure;
      }
      if (this.final !== undefined) return null;
      if (this.next_ === this.ranges) {
        this.final = { ok: true, headHash: new Uint8Array(this.headHash), count: this.count, lastSequence: this.expectedSequence - 1 };
        return null;
      }
      const reader = this.next_ % this.readers;
      const message = this.queues[reader]!.shift() ?? (await new Promise<RangeMessage>((resolve) => (this.waiters[reader] = resolve)));
      this.next_++;
      if (message.error !== null) {
        this.failure = new SnapshotError('RECOVERY_JOURNAL_CORRUPT', `reading the journal file near ${this.expectedSequence}: ${message.error}`, this.expectedSequence);
        throw this.failure;
      }
      this.workers[reader]!.postMessage({ credit: 1 });
      const page = message.page;
      const fault = message.fault !== null && !message.fault.ok ? message.fault : undefined;
      // The joint with what came before, checked in journal order, as a sequential
      // ChainVerifier would: the first record must start where the last one ended and link
      // to its hash. (A first record that does not even decode is BAD_FORMAT whatever precedes it.)
      const jointSequence = page !== null ? page.firstSequence[0]! : fault?.reason === 'HASH_MISMATCH' ? fault.firstBadSequence : undefined;
      if (jointSequence !== undefined) {
        if (jointSequence !== this.expectedSequence) {
          this.fail(this.expectedSequence, 'SEQUENCE_GAP', `expected ${this.expectedSequence}, found a record at ${jointSequence}`);
        } else if (!equalHash(message.firstPreviousHash, this.headHash)) {
          this.fail(jointSequence, 'PREVIOUS_HASH_MISMATCH', 'previousHash differs from the preceding record hash');
        }
      }
      if (this.failure === undefined && fault !== undefined) {
        // Inside the range: reported after the records verified before it have been replayed.
        if (page === null) this.failure = chainFault(fault);
        else this.pendingFault = chainFault(fault);
      }
      if (this.failure !== undefined) throw this.failure;
      if (page === null) continue; // an empty range: the next joint decides whether records are missing
      this.count += page.count;
      this.expectedSequence = page.lastSequence[page.count - 1]! + 1;
      if (message.lastHash !== null) this.headHash = message.lastHash;
      return page;
    }
  }

  result(): VerifyResult {
    if (this.final === undefined) throw new Error('SqliteReplayFeed.result() before the end of the feed');
    return this.final;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map(async (worker) => {
      worker.removeAllListeners('exit');
      await worker.terminate();
    }));
  }

  /** A fault at a joint: throws at once (nothing after it may be replayed). */
  private fail(sequence: number, reason: ChainFaultReason, detail: string): void {
    this.failure ??= chainFault({ ok: false, firstBadSequence: sequence, reason, detail });
  }

  private deliver(reader: number, message: RangeMessage): void {
    const waiter = this.waiters[reader];
    if (waiter !== undefined) {
      this.waiters[reader] = undefined;
      waiter(message);
    } else {
      this.queues[reader]!.push(message);
    }
  }
}
