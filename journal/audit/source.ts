/**
 * Where the auditor reads a journal from, always read-only:
 *
 *   - an embedded sqlite journal file: opened with a READ-ONLY connection of its own, never
 *     through SqliteJournal.open (which takes the writer lease and truncates a torn tail:
 *     an auditor must change nothing). Works while the exchange is writing (WAL readers).
 *   - archive files (journal/archive.ts): one file, a comma-separated list, or a directory;
 *     ordered by the sequence range in their headers.
 *   - an EventStoreDB connection string (esdb://..., esdb+discover://...), with the exchange
 *     instance id (--instance), through journal/eventstore-journal.ts (reads only).
 *
 * Every source yields records in stored order as RecordViews. A view may be reused by the
 * next iteration step: copy what you keep.
 */
import { RecordRow, RowCutter } from '../row-records';
import Database from 'better-sqlite3';
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Unpackr } from 'msgpackr';
import { readArchive } from '../archive';
import { EventStoreJournal } from '../eventstore-journal';
import { isJournalError } from '../journal';
import { WORDS_PER_COMMAND, WORDS_PER_EVENT } from '../journal-record';
import { decodeRecord } from '../record-codec';
import { readDeclaration } from '../sqlite-journal';
import { decodeDeclaration, type EngineDeclaration } from '../engine-declaration';
import { AuditError, ExitCode, journalFault, sourceError } from './errors';
import { readAhead } from './read-ahead';
import { newRecordLayout, parseRecordLayout, readRecordWords } from '../record-layout';
import { readEngineStream } from '../eventstore-engine-stream';

/** Below this many events, reading in this thread is cheaper than starting a worker (env override for tests). */
export const READ_AHEAD_MIN_EVENTS = Number(process.env.EXCHANGE_AUDIT_READ_AHEAD_MIN_EVENTS ?? 50_000);

export interface RecordView {
  firstSequence: number;
  lastSequence: number;
  timestampMicros: number;
  /** WORDS_PER_COMMAND words; type 0 = continuation of the previous record's command. */
  command: Float64Array;
  /** At least (lastSequence - firstSequence + 1) × WORDS_PER_EVENT words. */
  events: Float64Array;
}

export type SourceSpec =
  | { kind: 'sqlite'; path: string }
  | { kind: 'archive'; paths: string[] }
  | { kind: 'esdb'; connectionString: string; instanceId: string };

export interface AuditSource {
  readonly spec: SourceSpec;
  readonly description: string;
  /** lastSequence of the newest record (0 when empty): the progress total. */
  lastSequence(): Promise<number>;
  records(): AsyncIterable<RecordView> | Iterable<RecordView>;
  /** The engine options the journal records it was written with, where the source keeps them. */
  engineDeclaration?(): EngineDeclaration | undefined;
  close(): Promise<void>;
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const ARCHIVE_MAGIC = Buffer.from('EXJA', 'latin1');
const headerUnpackr = new Unpackr({ useRecords: false, mapsAsObjects: false });

function readPrefix(path: string, bytes: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const read = readSync(fd, buffer, 0, bytes, 0);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/** Sequence range (and engine options, when recorded) from an archive's header, reading only the file's first few KiB. */
export function archiveRange(path: string): { firstSequence: number; lastSequence: number; engine?: EngineDeclaration } {
  const prefix = readPrefix(path, 8 + 4096);
  if (prefix.length < 8 || !prefix.subarray(0, 4).equals(ARCHIVE_MAGIC)) throw sourceError(`${path}: not a journal archive`);
  const length = prefix.readUInt32LE(4);
  let header: unknown;
  try {
    header = headerUnpackr.unpack(prefix.subarray(8, 8 + length));
  } catch {
    header = undefined;
  }
  const fields = header as unknown[];
  if (!Array.isArray(fields) || typeof fields[2] !== 'number' || typeof fields[3] !== 'number') {
    throw new AuditError(`${path}: malformed archive header`, ExitCode.FAILED);
  }
  let engine: EngineDeclaration | undefined;
  if (typeof fields[9] === 'string') {
    try {
      engine = decodeDeclaration(fields[9]);
    } catch (error) {
      throw new AuditError(`${path}: archive header: ${(error as Error).message}`, ExitCode.FAILED);
    }
  }
  return { firstSequence: fields[2], lastSequence: fields[3], ...(engine === undefined ? {} : { engine }) };
}

function isArchive(path: string): boolean {
  try {
    return readPrefix(path, 4).equals(ARCHIVE_MAGIC);
  } catch {
    return false;
  }
}

function sortArchives(paths: string[]): string[] {
  const ranges = new Map(paths.map((path) => [path, archiveRange(path)]));
  return [...paths].sort((a, b) => ranges.get(a)!.firstSequence - ranges.get(b)!.firstSequence);
}

/** Interprets the <journal> argument. */
export function resolveSource(argument: string, options: { instance?: string } = {}): SourceSpec {
  if (/^esdb(\+discover)?:\/\//.test(argument)) {
    const instanceId = options.instance ?? process.env.EXCHANGE_INSTANCE_ID;
    if (instanceId === undefined || instanceId === '') {
      throw new AuditError('an EventStoreDB journal needs --instance <id> (the exchange instance id: stream journal-<id>)', ExitCode.USAGE);
    }
    return { kind: 'esdb', connectionString: argument, instanceId };
  }
  if (argument.includes(',')) {
    const paths = argument.split(',').filter((p) => p !== '');
    for (const path of paths) if (!isArchive(path)) throw sourceError(`${path}: not a journal archive`);
    return { kind: 'archive', paths: sortArchives(paths) };
  }
  let stats;
  try {
    stats = statSync(argument);
  } catch {
    throw sourceError(`${argument}: no such file or directory`);
  }
  if (stats.isDirectory()) {
    const paths = readdirSync(argument).map((name) => join(argument, name)).filter((path) => statSync(path).isFile() && isArchive(path));
    if (paths.length === 0) throw sourceError(`${argument}: the directory holds no journal archive`);
    return { kind: 'archive', paths: sortArchives(paths) };
  }
  const prefix = readPrefix(argument, 16);
  if (prefix.equals(SQLITE_MAGIC)) return { kind: 'sqlite', path: argument };
  if (prefix.subarray(0, 4).equals(ARCHIVE_MAGIC)) return { kind: 'archive', paths: [argument] };
  throw sourceError(`${argument}: neither a sqlite journal nor a journal archive`);
}

export async function openSource(spec: SourceSpec): Promise<AuditSource> {
  switch (spec.kind) {
    case 'sqlite': return SqliteSource.open(spec.path);
    case 'archive': return new ArchiveSource(spec);
    case 'esdb': return EsdbSource.open(spec);
  }
}

export type RawRow = [firstSequence: number, lastSequence: number, timestampMicros: number, body: Buffer];

export interface SqliteSummary {
  empty: boolean;
  firstKey: number;
  lastKey: number;
  lastSequence: number;
}

/** A read-only connection to an embedded journal file. */
export class SqliteSource implements AuditSource {
  readonly spec: SourceSpec;
  readonly description: string;
  private readonly db: Database.Database;
  private readonly rangeStatement: Database.Statement;

  static open(path: string): SqliteSource {
    let db: Database.Database;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
    } catch (error) {
      throw sourceError(`${path}: cannot open: ${(error as Error).message}`);
    }
    try {
      const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'journal'").pluck().get();
      if (table === undefined) throw sourceError(`${path}: a sqlite file without a journal table`);
    } catch (error) {
      db.close();
      if (error instanceof AuditError) throw error;
      throw sourceError(`${path}: cannot read: ${(error as Error).message}`);
    }
    return new SqliteSource(path, db);
  }

  private constructor(readonly path: string, db: Database.Database) {
    this.spec = { kind: 'sqlite', path };
    this.description = `sqlite journal ${path}`;
    this.db = db;
    this.rangeStatement = db.prepare('SELECT first_seq, last_seq, ts, body FROM journal WHERE first_seq >= ? AND first_seq < ? ORDER BY first_seq').raw(true);
  }

  /** O(log n): the key range and the last sequence. */
  summary(): SqliteSummary {
    const first = this.db.prepare('SELECT first_seq FROM journal ORDER BY first_seq LIMIT 1').pluck().get() as number | undefined;
    const last = this.db.prepare('SELECT first_seq, last_seq FROM journal ORDER BY first_seq DESC LIMIT 1').get() as { first_seq: number; last_seq: number } | undefined;
    return { empty: first === undefined, firstKey: first ?? 0, lastKey: last?.first_seq ?? 0, lastSequence: last?.last_seq ?? 0 };
  }

  async lastSequence(): Promise<number> {
    return this.summary().lastSequence;
  }

  engineDeclaration(): EngineDeclaration | undefined {
    return readDeclaration(this.db);
  }

  /** Stored rows with fromKey <= first_seq < toKey, in key order, streamed. */
  rows(fromKey = 0, toKey = Number.MAX_SAFE_INTEGER): IterableIterator<RawRow> {
    return this.rangeStatement.iterate(fromKey, toKey) as IterableIterator<RawRow>;
  }

  /** The stored records, a packed row cut into its records (journal/row-records.ts), each shaped like a one-record row. */
  *recordRows(fromKey = 0, toKey = Number.MAX_SAFE_INTEGER): Generator<RecordRow> {
    const record: RecordRow = { firstSequence: 0, lastSequence: 0, timestampMicros: 0, body: Buffer.alloc(0), bytes: Buffer.alloc(0), bodyStart: 0 };
    const cutter = new RowCutter();
    for (const [first, last, ts, body] of this.rows(fromKey, toKey)) {
      cutter.start(first, last, ts, body, 0, body.length);
      while (cutter.next(record)) yield record;
    }
  }

  /**
   * Records parsed straight from the stored bytes (canonical v1 / v2), else through the journal
   * decoder. Large journals are read and parsed ahead by a worker thread (read-ahead.ts).
   */
  *records(): Generator<RecordView> {
    if (this.summary().lastSequence >= READ_AHEAD_MIN_EVENTS) {
      yield* readAhead(this.path);
      return;
    }
    const layout = newRecordLayout();
    const command = new Float64Array(WORDS_PER_COMMAND);
    let events = new Float64Array(256 * WORDS_PER_EVENT);
    const view: RecordView = { firstSequence: 0, lastSequence: 0, timestampMicros: 0, command, events };
    for (const { firstSequence: key, body } of this.recordRows()) {
      if (parseRecordLayout(body, layout) === undefined) {
        if (events.length < layout.eventCount * WORDS_PER_EVENT) events = new Float64Array(layout.eventCount * WORDS_PER_EVENT * 2);
        if (!readRecordWords(body, layout, command, 0, events, 0)) {
          throw journalFault(`record at ${key} is unreadable: packed words are not canonical (run verify)`, key);
        }
        view.firstSequence = layout.firstSequence;
        view.lastSequence = layout.lastSequence;
        view.timestampMicros = layout.timestampMicros;
        view.command = command;
        view.events = events;
        yield view;
      } else {
        let record;
        try {
          record = decodeRecord(body);
        } catch (error) {
          throw journalFault(`record at ${key} is unreadable: ${(error as Error).message} (run verify)`, key);
        }
        yield record;
      }
    }
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

export class ArchiveSource implements AuditSource {
  readonly description: string;
  private readonly paths: string[];

  constructor(readonly spec: Extract<SourceSpec, { kind: 'archive' }>) {
    this.paths = spec.paths;
    this.description = this.paths.length === 1 ? `archive ${this.paths[0]}` : `${this.paths.length} archives (${this.paths[0]} ...)`;
  }

  async lastSequence(): Promise<number> {
    return archiveRange(this.paths[this.paths.length - 1]!).lastSequence;
  }

  /** The first archive's recorded engine options (every archive exported from one journal records the same). */
  engineDeclaration(): EngineDeclaration | undefined {
    return archiveRange(this.paths[0]!).engine;
  }

  async *records(): AsyncGenerator<RecordView> {
    for (const path of this.paths) {
      try {
        yield* readArchive(path);
      } catch (error) {
        if (isJournalError(error, 'JOURNAL_CORRUPT')) throw journalFault(`${path}: ${error.message} (run verify)`, error.sequence);
        throw error;
      }
    }
  }

  async close(): Promise<void> {}
}

export class EsdbSource implements AuditSource {
  readonly description: string;

  static async open(spec: Extract<SourceSpec, { kind: 'esdb' }>): Promise<EsdbSource> {
    let journal: EventStoreJournal;
    try {
      journal = await EventStoreJournal.open({ instanceId: spec.instanceId, connectionString: spec.connectionString });
    } catch (error) {
      if (isJournalError(error, 'JOURNAL_CORRUPT')) throw journalFault(error.message, error.sequence);
      throw sourceError(`EventStoreDB ${spec.connectionString}: ${(error as Error).message}`);
    }
    return new EsdbSource(spec, journal, await readEngineStream(journal.client, spec.instanceId));
  }

  /** Wraps an already open journal (tests inject a client this way). */
  static async fromJournal(journal: EventStoreJournal): Promise<EsdbSource> {
    const spec: SourceSpec = { kind: 'esdb', connectionString: 'injected', instanceId: journal.instanceId };
    return new EsdbSource(spec, journal, await readEngineStream(journal.client, journal.instanceId));
  }

  private constructor(readonly spec: SourceSpec, private readonly journal: EventStoreJournal, private readonly engine: EngineDeclaration | undefined) {
    this.description = `EventStoreDB stream ${journal.stream}`;
  }

  /** From the stream's sibling `journal-<instance>-engine` (written by the exchange's replicator), if any. */
  engineDeclaration(): EngineDeclaration | undefined {
    return this.engine;
  }

  async lastSequence(): Promise<number> {
    return this.journal.durableSequence();
  }

  async *records(): AsyncGenerator<RecordView> {
    if (this.journal.durableSequence() === 0) return;
    try {
      yield* this.journal.readFrom(1);
    } catch (error) {
      if (isJournalError(error, 'JOURNAL_CORRUPT')) throw journalFault(`${error.message} (run verify)`, error.sequence);
      throw error;
    }
  }

  /** The stored records as the journal decodes them (verify needs their hashes). */
  decoded(): AsyncIterable<import('../journal-record').JournalRecord> {
    return this.journal.readFrom(1);
  }

  async close(): Promise<void> {
    await this.journal.close();
  }
}
