/**
 * Embedded journal on better-sqlite3 (WAL): the zero-setup default backend.
 *
 * Rows (first_seq INTEGER PRIMARY KEY, last_seq, ts, body BLOB): one encoded record including
 * both hashes, or with packRows (the journal thread) a run of consecutive records back to back
 * (journal/row-records.ts; every reader reads both). Durability maps to PRAGMA synchronous:
 *   fsync → FULL   WAL fsync'd at every commit: a commit survives power loss.
 *   os    → NORMAL WAL fsync'd only at checkpoints: survives a process crash; power loss
 *                  may drop the latest commits (the database stays consistent).
 *   none  → OFF    never fsync'd: survives a process crash; power loss may drop commits and,
 *                  across a checkpoint, corrupt the file.
 *
 * Group commit: append() queues records and resolves later; one setImmediate flush writes
 * everything queued meanwhile in one transaction (one fsync for the whole group) and resolves
 * every waiting promise together. appendSync() writes the queue at once, for a dedicated
 * journal worker thread that batches from the ring itself.
 *
 * Single writer: a lease row (pid, host, random token) is taken under BEGIN IMMEDIATE at open,
 * so two openers serialize and the second sees the first's live lease (JOURNAL_LOCKED). A lease
 * whose pid is dead on this host is stale and taken over (reported). Every write transaction
 * re-reads the lease: a writer whose lease was taken fails with JOURNAL_FENCED.
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { existsSync } from 'node:fs';
import { ENGINE_SEMANTICS_LATEST, ENGINE_SEMANTICS_UNDECLARED, EngineSemantics } from '../core/engine-semantics';
import { eventCount, HASH_BYTES, JournalRecord } from './journal-record';
import { decodeRecord } from './record-codec';
import { checkEncodedAppendable, EncodedRecords, ENCODED_RECORDS_MAX } from './encoded-records';
import { PACKED_ROW_BYTES, RecordRow, splitStoredRow } from './row-records';
import { decodeDeclaration, encodeDeclaration, EngineDeclaration, ENGINE_META_KEY } from './engine-declaration';
import { ChainFaultReason, ChainVerifier, GENESIS_HASH, VerifyResult, verifyChain } from './hash-chain';
import { ChainLinkHasher, sealEncodedRecords } from './chain-hasher';
import {
  checkAppendable, checkReadPosition, DEFAULT_DURABILITY, Durability, DURABILITY_LEVELS, DurabilityWaiters, isJournalError,
  Journal, JournalError, journalError, NOTHING_DURABLE,
} from './journal';

export const SQLITE_SYNCHRONOUS: Readonly<Record<Durability, 'FULL' | 'NORMAL' | 'OFF'>> = { fsync: 'FULL', os: 'NORMAL', none: 'OFF' };
/** Records queued but not yet written; beyond it append() fails with JOURNAL_BACKPRESSURE instead of growing. */
export const MAX_PENDING_RECORDS = 1 << 16;
/** Bytes per transaction: bounds one commit's WAL growth and the fsync wait shared by its group. */
export const MAX_TRANSACTION_BYTES = 8 << 20;
/** Rows per INSERT statement: measured 1.33 µs/row at 16 vs 1.80 µs single-row (2-event records). */
export const ROWS_PER_INSERT = 16;
/** readFrom fetches pages: better-sqlite3 refuses writes while a statement iterator is open. */
export const READ_PAGE_RECORDS = 256;
/**
 * Page size of a new journal file. Rows are ~0.5 KiB and appended in key order; measured at
 * synchronous=FULL with 1024-record commits: 4 KiB pages 354K events/s, 16 KiB 523K, 64 KiB 591K.
 * 16 KiB keeps most of the gain while a one-record commit still writes only one 16 KiB frame.
 */
export const PAGE_SIZE_BYTES = 16384;
/**
 * Checkpoint cadence. A checkpoint copies the write-ahead log into the database file and fsyncs
 * it, inside the commit that triggers it, and every command waiting on that commit waits for it.
 * SQLite's automatic checkpoint at 1000 pages (16 MiB here) stalled such a commit ~5–8 ms: at
 * 100K commands/s that was the whole p99 of command-to-durable (bench/pipeline p99 4.9 ms).
 * Small checkpoints stall ≤ ~1 ms (at 100K/s: 512 pages p99 2.9 ms, 128 pages 2.0 ms, 32 pages
 * 1.6 ms) but at saturation, where one commit is already ~25 pages, a checkpoint after nearly
 * every commit costs ~10% of throughput (fsync 2 ev/record: 32 pages 0.90M ev/s, 1000 pages 1.0M).
 * So the writer checkpoints itself (SQLite's own is off) once the log has grown by
 * CHECKPOINT_COMMITS of its recent commits, never below CHECKPOINT_PAGES_MIN nor above
 * CHECKPOINT_PAGES_MAX pages: a checkpoint costs about as much as a few commits, whatever the load.
 * (A checkpointer thread on a second connection was worse, p99 13 ms: the writer's log rewind
 * waits on it through the busy handler.)
 */
export const CHECKPOINT_PAGES_MIN = 32;
export const CHECKPOINT_PAGES_MAX = 4096;
export const CHECKPOINT_COMMITS = 8;
/** How long an opener waits for another connection's write lock before giving up. */
export const BUSY_TIMEOUT_MS = 5000;
/** Records checked at open with verifyOnOpen 'tail' (the last one and its link to the one before). */
export const TAIL_VERIFY_RECORDS = 2;

const COLUMNS_PER_ROW = 4;
/** "No upper bound" for sequence-bounded queries. */
const NO_BOUND = Number.MAX_SAFE_INTEGER;

export interface SqliteJournalOptions {
  path: string;
  durability?: Durability;
  /** 'full' re-verifies the whole chain at open (O(n)); 'tail' only the last records. Default 'full'. */
  verifyOnOpen?: 'full' | 'tail';
  maxPendingRecords?: number;
  maxTransactionBytes?: number;
  /** Fixed checkpoint threshold in log pages instead of the adaptive cadence (tests, benchmarks). */
  checkpointPages?: number;
  /**
   * Pack consecutive records into rows of up to PACKED_ROW_BYTES (journal/row-records.ts): what the
   * journal thread does. Default false: one record per row (every reader reads both).
   */
  packRows?: boolean;
}

export interface SqliteOpenReport {
  lastSequence: number;
  verifiedRecords: number;
  /** The torn last record removed at open, if any. */
  truncated?: { firstSequence: number; reason: ChainFaultReason; detail: string };
  /** A dead writer's lease taken over at open, if any. */
  staleLease?: { pid: number; host: string };
}

export interface SqliteJournalStats {
  transactions: number;
  records: number;
  events: number;
  /** Checkpoints the writer ran (CHECKPOINT_COMMITS cadence). */
  checkpoints: number;
}

interface Row {
  first_seq: number;
  last_seq: number;
  ts: number;
  body: Buffer;
}

interface LeaseRow {
  pid: number;
  host: string;
  token: string;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS journal (
    first_seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL, ts INTEGER NOT NULL, body BLOB NOT NULL);
  CREATE TABLE IF NOT EXISTS journal_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS journal_lease (
    id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, host TEXT NOT NULL, token TEXT NOT NULL,
    acquired_ms INTEGER NOT NULL);`;

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** Takes the lease or throws JOURNAL_LOCKED. Returns a stale lease it replaced, if any. */
function acquireLease(db: Database.Database, token: string): LeaseRow | undefined {
  db.exec('BEGIN IMMEDIATE'); // the write lock: concurrent openers serialize here
  try {
    const held = db.prepare('SELECT pid, host, token FROM journal_lease WHERE id = 1').get() as LeaseRow | undefined;
    // Another host's pid cannot be probed: treat its lease as live rather than risk two writers.
    if (held !== undefined && (held.host !== hostname() || processIsAlive(held.pid))) {
      throw journalError('JOURNAL_LOCKED', `held by pid ${held.pid} on ${held.host}`);
    }
    db.prepare('INSERT OR REPLACE INTO journal_lease (id, pid, host, token, acquired_ms) VALUES (1, ?, ?, ?, ?)')
      .run(process.pid, hostname(), token, Date.now());
    db.exec('COMMIT');
    return held;
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

function positiveOption(value: number | undefined, fallback: number, name: string): number {
  const chosen = value ?? fallback;
  if (!Number.isSafeInteger(chosen) || chosen < 1) throw journalError('JOURNAL_BAD_OPTION', `${name} must be a positive integer`);
  return chosen;
}

export class SqliteJournal implements Journal {
  readonly openReport: SqliteOpenReport;
  private readonly db: Database.Database;
  readonly durability: Durability;
  private readonly token: string;
  private readonly maxPendingRecords: number;
  private readonly maxTransactionBytes: number;
  /** Where the record-object path (append/appendSync) encodes a transaction's records. */
  private readonly staging = new EncodedRecords(ENCODED_RECORDS_MAX, MAX_TRANSACTION_BYTES);
  private readonly insertParameters: unknown[] = new Array(ROWS_PER_INSERT * COLUMNS_PER_ROW);
  private readonly link = new ChainLinkHasher();
  private readonly headBeforeSeal = new Uint8Array(HASH_BYTES);
  private readonly statements: Statements;
  private readonly waiters = new DurabilityWaiters();
  private pending: JournalRecord[] = [];
  private headHash = new Uint8Array(GENESIS_HASH);
  private nextSequence = NOTHING_DURABLE + 1;
  private durable = NOTHING_DURABLE;
  private flushScheduled = false;
  private closed = false;
  private failure: JournalError | undefined;
  private readonly counters: SqliteJournalStats = { transactions: 0, records: 0, events: 0, checkpoints: 0 };
  private readonly pageSize: number;
  private readonly fixedCheckpointPages: number | undefined;
  private readonly packRows: boolean;
  /** Per row of the transaction being written: its first record and one past its last. */
  private readonly rowRecords = new Uint32Array(2 * ENCODED_RECORDS_MAX);
  private logPagesSinceCheckpoint = 0;
  private recentCommitPages = 1;

  static open(options: SqliteJournalOptions): SqliteJournal {
    if (typeof options.path !== 'string' || options.path.length === 0) throw journalError('JOURNAL_BAD_OPTION', 'path is required');
    const durability = options.durability ?? DEFAULT_DURABILITY;
    if (!DURABILITY_LEVELS.includes(durability)) throw journalError('JOURNAL_BAD_OPTION', `unknown durability ${String(durability)}`);
    const db = new Database(options.path);
    let token: string | undefined;
    try {
      db.pragma(`page_size = ${PAGE_SIZE_BYTES}`); // takes effect only while the file is new
      if (db.pragma('journal_mode = WAL', { simple: true }) !== 'wal') throw journalError('JOURNAL_BAD_OPTION', 'WAL mode unavailable');
      db.pragma(`synchronous = ${SQLITE_SYNCHRONOUS[durability]}`);
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      db.pragma('wal_autocheckpoint = 0'); // the writer checkpoints itself: checkpointAfterCommit
      db.exec(SCHEMA);
      token = randomUUID();
      const stale = acquireLease(db, token);
      const journal = new SqliteJournal(db, token, durability, options);
      if (stale !== undefined) journal.openReport.staleLease = { pid: stale.pid, host: stale.host };
      return journal;
    } catch (error) {
      if (token !== undefined && db.open) db.prepare('DELETE FROM journal_lease WHERE token = ?').run(token);
      db.close();
      throw error;
    }
  }

  private constructor(db: Database.Database, token: string, durability: Durability, options: SqliteJournalOptions) {
    this.db = db;
    this.token = token;
    this.durability = durability;
    this.maxPendingRecords = positiveOption(options.maxPendingRecords, MAX_PENDING_RECORDS, 'maxPendingRecords');
    this.maxTransactionBytes = positiveOption(options.maxTransactionBytes, MAX_TRANSACTION_BYTES, 'maxTransactionBytes');
    this.statements = prepareStatements(db);
    this.pageSize = db.pragma('page_size', { simple: true }) as number;
    this.fixedCheckpointPages = options.checkpointPages === undefined ? undefined : positiveOption(options.checkpointPages, 1, 'checkpointPages');
    this.packRows = options.packRows === true;
    this.openReport = this.recover(options.verifyOnOpen ?? 'full');
  }

  append(records: JournalRecord[]): Promise<void> {
    try {
      this.enqueue(records);
    } catch (error) {
      return Promise.reject(error);
    }
    const promise = this.waiters.wait(this.nextSequence - 1);
    if (this.pending.length === 0) this.waiters.resolveThrough(this.durable);
    else this.scheduleFlush();
    return promise;
  }

  /** Writes records (and anything queued before them) in this call. For a dedicated journal thread. */
  appendSync(records: JournalRecord[]): void {
    this.enqueue(records);
    this.flush();
  }

  /**
   * Writes a batch of records the caller encoded (the journal thread encodes straight from the
   * ring: encoded-records.ts), after anything queued before it, one transaction per
   * maxTransactionBytes. The records must continue the journal contiguously (JOURNAL_BAD_SEQUENCE
   * otherwise, nothing written). Seals them in the batch's arena: afterwards their hash fields
   * hold the chain. The caller may reset and reuse the batch once this returns.
   */
  appendEncodedSync(batch: EncodedRecords): void {
    this.checkOpen();
    if (this.failure !== undefined) throw this.failure;
    this.flush();
    const next = checkEncodedAppendable(batch, this.nextSequence);
    this.writeBatch(batch);
    this.nextSequence = next;
  }

  durableSequence(): number {
    return this.durable;
  }

  async *readFrom(sequence: number): AsyncGenerator<JournalRecord> {
    yield* this.records(sequence);
  }

  async tail(): Promise<JournalRecord | undefined> {
    this.checkOpen();
    const row = this.statements.last.get(NO_BOUND) as Row | undefined;
    if (row === undefined) return undefined;
    let last: JournalRecord | undefined;
    for (const record of rowRecords(row)) last = record;
    return last;
  }

  async verify(): Promise<VerifyResult> {
    return verifyChain(this.records(0));
  }

  /**
   * Moves the write-ahead log into the database file and empties it (wal_checkpoint(TRUNCATE)),
   * so the file alone holds every record and readers may read its pages directly
   * (journal/sqlite-pages.ts). Returns false when a reader kept part of the log in use.
   */
  checkpoint(): boolean {
    this.checkOpen();
    const [result] = this.db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
    this.logPagesSinceCheckpoint = 0;
    return result?.busy === 0;
  }

  /** The engine options this journal declares it was written with (undefined: none recorded). */
  engineDeclaration(): EngineDeclaration | undefined {
    this.checkOpen();
    return readDeclaration(this.db);
  }

  /** Records the engine options; only a journal without records and without a declaration takes one. */
  declareEngine(declaration: EngineDeclaration): void {
    this.checkOpen();
    if (this.nextSequence !== NOTHING_DURABLE + 1 || readDeclaration(this.db) !== undefined) {
      throw journalError('JOURNAL_BAD_OPTION', 'the engine is declared once, before the first record');
    }
    this.db.prepare('INSERT INTO journal_meta (key, value) VALUES (?, ?)').run(ENGINE_META_KEY, encodeDeclaration(declaration));
  }

  stats(): SqliteJournalStats {
    return { ...this.counters };
  }

  /** The synchronous pragma in force on the writing connection. */
  synchronousPragma(): number {
    return this.db.pragma('synchronous', { simple: true }) as number;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.failure === undefined) this.flush();
    } finally {
      this.closed = true;
      this.waiters.rejectAll(journalError('JOURNAL_CLOSED', 'closed before the append became durable'));
      this.db.prepare('DELETE FROM journal_lease WHERE token = ?').run(this.token);
      this.db.close();
    }
  }

  private checkOpen(): void {
    if (this.closed) throw journalError('JOURNAL_CLOSED', 'the journal is closed');
  }

  private enqueue(records: JournalRecord[]): void {
    this.checkOpen();
    if (this.failure !== undefined) throw this.failure;
    const next = checkAppendable(records, this.nextSequence);
    if (this.pending.length + records.length > this.maxPendingRecords) {
      throw journalError('JOURNAL_BACKPRESSURE', `${this.pending.length} records already wait (limit ${this.maxPendingRecords})`);
    }
    for (let index = 0; index < records.length; index++) this.pending.push(records[index]!);
    this.nextSequence = next;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.closed || this.failure !== undefined) return;
      try {
        this.flush();
      } catch {
        // Recorded in this.failure; every waiting promise was rejected with it.
      }
    });
  }

  /** Writes every queued record through the staging batch (writeBatch). */
  private flush(): void {
    const staging = this.staging;
    let start = 0;
    while (start < this.pending.length) {
      staging.reset();
      let end = start;
      while (end < this.pending.length && staging.hasRoomFor(eventCount(this.pending[end]!))) staging.addRecord(this.pending[end++]!);
      this.writeBatch(staging); // on failure: pending dropped, waiters rejected (fail)
      for (let index = start; index < end; index++) staging.copyHashesTo(index - start, this.pending[index]!);
      start = end;
    }
    this.pending.length = 0;
  }

  /** Writes a batch, one transaction per maxTransactionBytes, resolving waiters per commit; a failure is terminal. */
  private writeBatch(batch: EncodedRecords): void {
    let from = 0;
    try {
      while (from < batch.count) {
        const to = this.transactionEnd(batch, from);
        this.writeTransaction(batch, from, to);
        this.durable = batch.lastSequences[to - 1]!;
        this.waiters.resolveThrough(this.durable);
        from = to;
      }
    } catch (error) {
      throw this.fail(error, batch.firstSequences[from]);
    }
  }

  /** Records the write failure (terminal: the journal takes no more appends), rejects every waiter, returns it. */
  private fail(error: unknown, sequence: number | undefined): JournalError {
    this.failure = isJournalError(error, 'JOURNAL_FENCED')
      ? error
      : journalError('JOURNAL_WRITE_FAILED', (error as Error).message, { sequence, cause: error });
    this.pending.length = 0;
    this.waiters.rejectAll(this.failure);
    return this.failure;
  }

  /** End of the transaction starting at record `from` of a batch: at least one record, then up to maxTransactionBytes. */
  private transactionEnd(batch: EncodedRecords, from: number): number {
    const bounds = batch.bounds;
    const limit = bounds[2 * from]! + this.maxTransactionBytes;
    let to = from + 1;
    while (to < batch.count && bounds[2 * to + 1]! <= limit) to++;
    return to;
  }

  /**
   * One transaction: seals records [from, to) of the batch into the chain (one native call,
   * chain-hasher.ts), inserts their rows ROWS_PER_INSERT per statement (sqlite copies the
   * blobs), commits, then maybe checkpoints. On failure the chain head is put back.
   */
  private writeTransaction(batch: EncodedRecords, from: number, to: number): void {
    const { statements } = this;
    const bytes = batch.bytes;
    const bounds = batch.bounds;
    this.headBeforeSeal.set(this.headHash);
    statements.begin.run();
    try {
      if (statements.leaseToken.get() !== this.token) throw journalError('JOURNAL_FENCED', 'the lease was taken by another writer');
      sealEncodedRecords(bytes, from === 0 ? bounds : bounds.subarray(2 * from), to - from, this.headHash, this.link);
      const rows = this.cutRows(batch, from, to);
      const cuts = this.rowRecords;
      const parameters = this.insertParameters;
      let row = 0;
      for (; rows - row >= ROWS_PER_INSERT; row += ROWS_PER_INSERT) {
        for (let r = 0; r < ROWS_PER_INSERT; r++) {
          const first = cuts[2 * (row + r)]!;
          const last = cuts[2 * (row + r) + 1]! - 1;
          const offset = r * COLUMNS_PER_ROW;
          parameters[offset] = batch.firstSequences[first];
          parameters[offset + 1] = batch.lastSequences[last];
          parameters[offset + 2] = batch.timestamps[first];
          parameters[offset + 3] = bytes.subarray(bounds[2 * first], bounds[2 * last + 1]);
        }
        statements.insertMany.run(parameters);
      }
      parameters.fill(undefined); // drop the arena views
      for (; row < rows; row++) {
        const first = cuts[2 * row]!;
        const last = cuts[2 * row + 1]! - 1;
        statements.insertOne.run(batch.firstSequences[first], batch.lastSequences[last], batch.timestamps[first],
          bytes.subarray(bounds[2 * first], bounds[2 * last + 1]));
      }
      statements.commit.run();
    } catch (error) {
      this.headHash.set(this.headBeforeSeal);
      if (this.db.inTransaction) statements.rollback.run();
      throw error;
    }
    this.counters.transactions++;
    this.counters.records += to - from;
    this.counters.events += batch.lastSequences[to - 1]! - batch.firstSequences[from]! + 1;
    this.checkpointAfterCommit(bounds[2 * to - 1]! - bounds[2 * from]!);
  }

  /**
   * Cuts records [from, to) of the batch into rows (rowRecords: first record, one past the last, per
   * row); returns the row count. One record per row, or with packRows consecutive records up to
   * PACKED_ROW_BYTES per row (a record is never split; the arena holds them back to back).
   */
  private cutRows(batch: EncodedRecords, from: number, to: number): number {
    const cuts = this.rowRecords;
    const bounds = batch.bounds;
    let rows = 0;
    if (!this.packRows) {
      for (let record = from; record < to; record++, rows++) {
        cuts[2 * rows] = record;
        cuts[2 * rows + 1] = record + 1;
      }
      return rows;
    }
    let first = from;
    while (first < to) {
      const limit = bounds[2 * first]! + PACKED_ROW_BYTES;
      let end = first + 1;
      while (end < to && bounds[2 * end + 1]! <= limit) end++;
      cuts[2 * rows] = first;
      cuts[2 * rows + 1] = end;
      rows++;
      first = end;
    }
    return rows;
  }

  /** The adaptive checkpoint cadence (CHECKPOINT_COMMITS): a PASSIVE checkpoint once the log has grown enough. */
  private checkpointAfterCommit(bytes: number): void {
    const pages = Math.ceil(bytes / this.pageSize) + 1; // + the b-tree page above the appended leaves
    this.logPagesSinceCheckpoint += pages;
    this.recentCommitPages += (pages - this.recentCommitPages) / 8;
    const threshold = this.fixedCheckpointPages
      ?? Math.min(CHECKPOINT_PAGES_MAX, Math.max(CHECKPOINT_PAGES_MIN, CHECKPOINT_COMMITS * this.recentCommitPages));
    if (this.logPagesSinceCheckpoint < threshold) return;
    this.db.pragma('wal_checkpoint(PASSIVE)');
    this.logPagesSinceCheckpoint = 0;
    this.counters.checkpoints++;
  }

  /** Durable records from the one containing `sequence` (stopping before a record starting at `before`), a page at a time. */
  private *records(sequence: number, before = NO_BOUND): Generator<JournalRecord> {
    checkReadPosition(sequence);
    this.checkOpen();
    const containing = this.statements.containing.get(sequence) as number | undefined;
    let cursor = containing ?? sequence;
    for (;;) {
      this.checkOpen();
      const rows = this.statements.page.all(cursor, READ_PAGE_RECORDS) as Row[];
      for (const row of rows) {
        if (row.first_seq >= before) return;
        if (row.last_seq < sequence) continue;
        // A packed row's records, each decoded only if it lies in range (a torn one at `before` is not).
        for (const stored of splitStoredRow(row.first_seq, row.last_seq, row.ts, row.body)) {
          if (stored.firstSequence >= before) return;
          if (stored.lastSequence >= sequence) yield decodeStored(stored);
        }
      }
      if (rows.length < READ_PAGE_RECORDS) return;
      cursor = rows[rows.length - 1]!.last_seq + 1;
    }
  }

  /**
   * Verifies the chain (all or tail) up to a torn last record, then truncates that record.
   * Throws JOURNAL_CORRUPT, deleting nothing, if anything before the tail is bad.
   */
  private recover(mode: 'full' | 'tail'): SqliteOpenReport {
    const report: SqliteOpenReport = { lastSequence: 0, verifiedRecords: 0 };
    const last = this.statements.last.get(NO_BOUND) as Row | undefined;
    const torn = last === undefined ? undefined : tornTail(last);
    const before = torn === undefined ? NO_BOUND : torn.firstSequence;
    const result = mode === 'full' ? verifyChain(this.records(0, before)) : this.verifyTail(before);
    if (!result.ok) {
      throw journalError('JOURNAL_CORRUPT', `record at ${result.firstBadSequence}: ${result.reason} (${result.detail})`, {
        sequence: result.firstBadSequence,
      });
    }
    if (torn !== undefined) {
      if (torn.keepBytes === 0) this.statements.deleteRow.run(last!.first_seq);
      else this.db.prepare('UPDATE journal SET last_seq = ?, body = ? WHERE first_seq = ?').run(torn.firstSequence - 1, last!.body.subarray(0, torn.keepBytes), last!.first_seq);
      report.truncated = { firstSequence: torn.firstSequence, reason: torn.reason, detail: torn.detail };
    }
    this.headHash = new Uint8Array(result.headHash);
    this.durable = result.lastSequence;
    this.nextSequence = result.lastSequence + 1;
    report.lastSequence = result.lastSequence;
    report.verifiedRecords = result.count;
    return report;
  }

  /** Verifies the last TAIL_VERIFY_RECORDS records, anchored on the oldest one's own previousHash. */
  private verifyTail(before: number): VerifyResult {
    const rows = (this.statements.last.all(before) as Row[]).reverse();
    // The last TAIL_VERIFY_RECORDS records before `before` (a packed row holds several).
    const stored: RecordRow[] = [];
    for (const row of rows) {
      for (const record of splitStoredRow(row.first_seq, row.last_seq, row.ts, row.body)) {
        if (record.firstSequence < before) stored.push({ ...record });
      }
    }
    const tail = stored.slice(-TAIL_VERIFY_RECORDS);
    if (rows.length < TAIL_VERIFY_RECORDS && tail.length === stored.length) return verifyChain(decodeAll(tail)); // the whole journal, from genesis
    let oldest: JournalRecord;
    try {
      oldest = decodeStored(tail[0]!);
    } catch (error) {
      return { ok: false, firstBadSequence: tail[0]!.firstSequence, reason: 'BAD_FORMAT', detail: (error as Error).message };
    }
    return verifyChain(decodeAll(tail), { firstSequence: oldest.firstSequence, previousHash: oldest.previousHash });
  }
}

function prepareStatements(db: Database.Database) {
  const values = (rows: number) => Array.from({ length: rows }, () => '(?, ?, ?, ?)').join(', ');
  return {
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
    leaseToken: db.prepare('SELECT token FROM journal_lease WHERE id = 1').pluck(),
    insertOne: db.prepare(`INSERT INTO journal (first_seq, last_seq, ts, body) VALUES ${values(1)}`),
    insertMany: db.prepare(`INSERT INTO journal (first_seq, last_seq, ts, body) VALUES ${values(ROWS_PER_INSERT)}`),
    page: db.prepare('SELECT first_seq, last_seq, ts, body FROM journal WHERE first_seq >= ? ORDER BY first_seq LIMIT ?'),
    containing: db.prepare('SELECT first_seq FROM journal WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1').pluck(),
    last: db.prepare(`SELECT first_seq, last_seq, ts, body FROM journal WHERE first_seq < ? ORDER BY first_seq DESC LIMIT ${TAIL_VERIFY_RECORDS}`),
    deleteRow: db.prepare('DELETE FROM journal WHERE first_seq = ?'),
  };
}
type Statements = ReturnType<typeof prepareStatements>;

/** Decodes one record of a row; a body that is undecodable or disagrees with its columns is JOURNAL_CORRUPT at it. */
function decodeStored(stored: RecordRow): JournalRecord {
  let record: JournalRecord;
  try {
    record = decodeRecord(stored.body);
  } catch (error) {
    throw journalError('JOURNAL_CORRUPT', (error as Error).message, { sequence: stored.firstSequence, cause: error });
  }
  if (record.firstSequence !== stored.firstSequence || record.lastSequence !== stored.lastSequence || record.timestampMicros !== stored.timestampMicros) {
    throw journalError('JOURNAL_CORRUPT', `body of row ${stored.firstSequence} disagrees with its columns`, { sequence: stored.firstSequence });
  }
  return record;
}

/** The records of a row, decoded as iterated (journal/row-records.ts). */
function* rowRecords(row: Row): Generator<JournalRecord> {
  for (const stored of splitStoredRow(row.first_seq, row.last_seq, row.ts, row.body)) yield decodeStored(stored);
}

/** Decodes during iteration, so verifyChain turns a throw into BAD_FORMAT at that record. */
function* decodeAll(stored: RecordRow[]): Generator<JournalRecord> {
  for (const record of stored) yield decodeStored(record);
}

interface TornTail {
  firstSequence: number;
  /** Bytes of the row's body before the torn record (0: the row goes). */
  keepBytes: number;
  reason: ChainFaultReason;
  detail: string;
}

/**
 * The last row's last record, if it does not decode or its own hash is wrong: torn (a crash
 * mid-write), to be truncated. A bad record before it in the same row is not a torn tail but
 * corruption, left to the chain verification to name.
 */
function tornTail(row: Row): TornTail | undefined {
  let last: RecordRow | undefined;
  for (const stored of splitStoredRow(row.first_seq, row.last_seq, row.ts, row.body)) last = { ...stored };
  const fault = selfCheck(last!);
  return fault === undefined ? undefined : { firstSequence: last!.firstSequence, keepBytes: last!.bodyStart, ...fault };
}

/** A record that does not decode or whose own hash is wrong: its fault, or undefined. */
function selfCheck(stored: RecordRow): { reason: ChainFaultReason; detail: string } | undefined {
  let record: JournalRecord;
  try {
    record = decodeStored(stored);
  } catch (error) {
    return { reason: 'BAD_FORMAT', detail: (error as Error).message };
  }
  const verifier = new ChainVerifier({ firstSequence: record.firstSequence, previousHash: record.previousHash });
  verifier.check(record);
  const result = verifier.result();
  return result.ok ? undefined : { reason: result.reason, detail: result.detail };
}

/** The engine declaration stored in an open journal database (undefined: none). */
export function readDeclaration(db: Database.Database): EngineDeclaration | undefined {
  const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'journal_meta'").pluck().get() !== undefined;
  if (!hasTable) return undefined; // a journal from before the table (or opened read-only before any writer made it)
  const text = db.prepare('SELECT value FROM journal_meta WHERE key = ?').pluck().get(ENGINE_META_KEY) as string | undefined;
  if (text === undefined) return undefined;
  try {
    return decodeDeclaration(text);
  } catch (error) {
    throw journalError('JOURNAL_CORRUPT', (error as Error).message);
  }
}

/** The engine declaration of an embedded journal file, read without the writer lease. */
/**
 * The engine semantics to re-execute a journal file under: its declaration's, 1 for a journal
 * with records but no declaration (written before declarations), the latest for a journal
 * without records or no file yet (its writer will declare the latest when it creates it).
 */
export function journalFileSemantics(path: string): EngineSemantics {
  if (!existsSync(path)) return ENGINE_SEMANTICS_LATEST;
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const declared = readDeclaration(db);
    if (declared !== undefined) return declared.semantics;
    const hasRecords = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'journal'").get() !== undefined
      && db.prepare('SELECT 1 FROM journal LIMIT 1').get() !== undefined;
    return hasRecords ? ENGINE_SEMANTICS_UNDECLARED : ENGINE_SEMANTICS_LATEST;
  } finally {
    db.close();
  }
}

export function readJournalFileDeclaration(path: string): EngineDeclaration | undefined {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return readDeclaration(db);
  } finally {
    db.close();
  }
}

/**
 * Reads an embedded journal file without the writer lease (a read-only connection:
 * WAL lets it read while the exchange appends). For tools and tests that inspect a
 * live exchange's journal; it never truncates or repairs anything.
 */
export async function* readJournalFile(path: string, fromSequence = 1): AsyncGenerator<JournalRecord> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const containing = db.prepare('SELECT first_seq FROM journal WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1').pluck().get(fromSequence) as number | undefined;
    const page = db.prepare('SELECT first_seq, last_seq, ts, body FROM journal WHERE first_seq >= ? ORDER BY first_seq LIMIT ?');
    let cursor = containing ?? fromSequence;
    for (;;) {
      const rows = page.all(cursor, READ_PAGE_RECORDS) as Row[];
      for (const row of rows) {
        for (const stored of splitStoredRow(row.first_seq, row.last_seq, row.ts, row.body)) {
          if (stored.lastSequence >= fromSequence) yield decodeStored(stored);
        }
      }
      if (rows.length < READ_PAGE_RECORDS) return;
      cursor = rows[rows.length - 1].first_seq + 1;
    }
  } finally {
    db.close();
  }
}
