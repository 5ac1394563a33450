/**
 * `verify`: the hash chain end to end and every record's format, in bounded memory, on every core.
 *
 * sqlite: the records are split into chunks (about 4 per thread, at most ~2M events each): runs
 * of the table's leaf pages when the file's pages can be read directly (sqlite-pages.ts; no WAL
 * frames), else key ranges read through the worker's own read-only sqlite connection. A piscina
 * pool runs one task per chunk; each worker streams its chunk and checks the chunk's internal
 * chain, adopting the first record's sequence and previousHash. The main thread then walks the
 * chunk summaries in order and checks each seam exactly as a sequential verifier would check
 * that record: its sequence against the previous chunk's lastSequence + 1, its previousHash
 * against the previous chunk's head hash. The first fault in sequence order wins, so the verdict
 * (reason and sequence) is the sequential one.
 * Archives: one task per file, seams between files checked the same way. EventStoreDB: one
 * sequential stream.
 *
 * A missing LAST record cannot show in a chain; pass the head hash known from elsewhere
 * (--expect-head: a replica, an archive header, yesterday's audit) to catch that too.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { GENESIS_HASH } from '../hash-chain';
import { HASH_BYTES } from '../journal-record';
import { isJournalError } from '../journal';
import { Progress } from './progress';
import { AuditFaultReason, RecordChecker } from './record-check';
import { AuditSource, EsdbSource, SqliteSource } from './source';
import { ChunkSummary, runTask, VerifyTask } from './verify-worker';
import { isPageFormatError, journalLayout, layoutStillValid } from '../sqlite-pages';

export type VerifyFaultReason = AuditFaultReason | 'HEAD_MISMATCH';

export interface VerifyReport {
  ok: boolean;
  source: string;
  records: number;
  events: number;
  firstSequence: number;
  lastSequence: number;
  /** Hex head hash of the verified chain (of the intact prefix when the chain is broken). */
  headHash: string;
  /** False when an archive set starts after sequence 1 (anchored on its header, not on genesis). */
  anchoredAtGenesis: boolean;
  fault: { sequence: number; reason: VerifyFaultReason; detail: string } | null;
  threads: number;
  chunks: number;
  /** How the records were read: sqlite file pages directly, through sqlite, or the other sources. */
  reader: 'pages' | 'sqlite' | 'archive' | 'esdb' | 'none';
  seconds: number;
  eventsPerSecond: number;
}

export interface VerifyOptions {
  /** Worker threads (default: every core). 1 verifies in this thread. */
  threads?: number;
  /** Expected head hash (hex): catches a truncated tail or rewritten history. */
  expectHead?: string;
  progress?: Progress;
  /** Journals smaller than this are verified in this thread (pool start-up would dominate). */
  inlineBelowEvents?: number;
  /** Largest chunk, in events (before rounding to chunk boundaries). */
  maxChunkEvents?: number;
  /** sqlite journals: read the file's pages directly ('pages'), through sqlite, or pages when possible ('auto'). */
  reader?: 'auto' | 'pages' | 'sqlite';
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const DEFAULT_INLINE_BELOW_EVENTS = 200_000;
const DEFAULT_MAX_CHUNK_EVENTS = 2_000_000;
const CHUNKS_PER_THREAD = 4;
const PROGRESS_POLL_MS = 200;

function sameBytes(left: Uint8Array | null, right: Uint8Array): boolean {
  return left !== null && left.length === right.length && Buffer.from(left).equals(Buffer.from(right));
}

/** Walks chunk summaries in order, checking seams as a sequential verifier would. */
function merge(summaries: ChunkSummary[], allowMidChainStart: boolean) {
  let expected = 1;
  let head: Uint8Array = new Uint8Array(GENESIS_HASH);
  let records = 0;
  let events = 0;
  let firstSequence = 0;
  let anchoredAtGenesis = true;
  let fault: VerifyReport['fault'] = null;
  for (const chunk of summaries) {
    if (chunk.records === 0 && chunk.fault === null && !chunk.firstReadable) continue; // an empty key range
    const isFirst = firstSequence === 0;
    if (isFirst && allowMidChainStart && chunk.firstReadable && chunk.firstSequence !== 1) {
      // An archive set that starts mid-chain: anchored on its own header.
      expected = chunk.firstSequence;
      head = new Uint8Array(chunk.firstPreviousHash!);
      anchoredAtGenesis = false;
    }
    if (isFirst) firstSequence = chunk.firstReadable ? chunk.firstSequence : expected;
    if (!chunk.firstReadable) {
      const detail = chunk.fault?.detail ?? 'unreadable record';
      fault = { sequence: expected, reason: chunk.fault?.reason ?? 'BAD_FORMAT', detail };
      break;
    }
    if (chunk.firstSequence !== expected) {
      fault = { sequence: expected, reason: 'SEQUENCE_GAP', detail: `expected ${expected}, found a record at ${chunk.firstSequence}` };
      break;
    }
    if (!sameBytes(chunk.firstPreviousHash, head)) {
      fault = { sequence: chunk.firstSequence, reason: 'PREVIOUS_HASH_MISMATCH', detail: 'previousHash differs from the preceding record hash' };
      break;
    }
    records += chunk.records;
    events += chunk.events;
    if (chunk.records > 0) {
      head = chunk.headHash;
      expected = chunk.lastSequence + 1;
    }
    if (chunk.fault !== null) {
      const { sequence, reason, detail } = chunk.fault;
      fault = { sequence, reason, detail };
      break;
    }
  }
  return { records, events, firstSequence, lastSequence: expected - 1, head, anchoredAtGenesis, fault };
}

async function runTasks(tasks: VerifyTask[], threads: number, progress: Progress | undefined, inline: boolean): Promise<ChunkSummary[]> {
  if (inline) {
    const results: ChunkSummary[] = [];
    let done = 0;
    for (const task of tasks) {
      const result = await runTask(task);
      results.push(result);
      done += result.events;
      progress?.update(done);
      if (result.fault !== null) break;
    }
    return results;
  }
  const counters = new SharedArrayBuffer(4 * tasks.length);
  const view = new Int32Array(counters);
  const pool = new Piscina({
    filename: join(__dirname, 'verify-worker.js'),
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 1000,
  });
  const timer = setInterval(() => {
    let done = 0;
    for (let i = 0; i < view.length; i++) done += Atomics.load(view, i);
    progress?.update(done);
  }, PROGRESS_POLL_MS);
  try {
    return await Promise.all(tasks.map((task, slot) => pool.run({ ...task, progress: counters, slot }) as Promise<ChunkSummary>));
  } finally {
    clearInterval(timer);
    await pool.destroy();
  }
}

function initialReader(source: AuditSource): VerifyReport['reader'] {
  return source.spec.kind === 'sqlite' ? 'sqlite' : source.spec.kind;
}

function planPageChunks(path: string, leaves: number[], chunks: number): VerifyTask[] {
  const tasks: VerifyTask[] = [];
  const per = Math.ceil(leaves.length / Math.max(1, chunks));
  for (let start = 0; start < leaves.length; start += per) {
    tasks.push({ kind: 'pages-chunk', path, leaves: leaves.slice(start, start + per), slot: tasks.length });
  }
  return tasks;
}

function planSqliteChunks(path: string, firstKey: number, lastKey: number, chunks: number): VerifyTask[] {
  const span = lastKey + 1 - firstKey;
  const tasks: VerifyTask[] = [];
  const bounds: number[] = [];
  for (let i = 0; i <= chunks; i++) bounds.push(i === 0 ? 0 : i === chunks ? Number.MAX_SAFE_INTEGER : firstKey + Math.floor((span * i) / chunks));
  for (let i = 0; i < chunks; i++) {
    if (bounds[i + 1]! <= bounds[i]!) continue;
    tasks.push({ kind: 'sqlite-chunk', path, fromKey: bounds[i]!, toKey: bounds[i + 1]!, slot: tasks.length });
  }
  return tasks;
}

async function verifyEsdb(source: EsdbSource, progress: Progress | undefined): Promise<ChunkSummary> {
  const checker = new RecordChecker({ firstSequence: 1, previousHash: new Uint8Array(HASH_BYTES) });
  try {
    for await (const record of source.decoded()) {
      if (!checker.checkRecord(record)) break;
      progress?.update(checker.events);
    }
  } catch (error) {
    if (!isJournalError(error, 'JOURNAL_CORRUPT')) throw error;
    checker.failExternal(error.sequence, 'BAD_FORMAT', error.message);
  }
  return {
    records: checker.records, events: checker.events, firstReadable: true, firstSequence: 1, firstPreviousHash: new Uint8Array(HASH_BYTES),
    lastSequence: checker.lastSequence, headHash: checker.headHash(), fault: checker.fault ?? null,
  };
}

export async function verifyJournal(source: AuditSource, options: VerifyOptions = {}): Promise<VerifyReport> {
  const started = performance.now();
  const cores = availableParallelism();
  const threads = Math.max(1, Math.min(options.threads ?? cores, 64));
  const progress = options.progress;
  const spec = source.spec;
  let summaries: ChunkSummary[] | undefined;
  let usedThreads = 1;
  let usedReader: VerifyReport['reader'] = initialReader(source);
  let chunks = 1;
  if (spec.kind === 'sqlite') {
    const summaryRow = (source as SqliteSource).summary();
    progress?.setTotal(summaryRow.lastSequence);
    const inlineBelow = options.inlineBelowEvents ?? DEFAULT_INLINE_BELOW_EVENTS;
    const inline = threads === 1 || summaryRow.lastSequence < inlineBelow;
    const maxChunk = options.maxChunkEvents ?? DEFAULT_MAX_CHUNK_EVENTS;
    const wanted = inline ? 1 : Math.max(threads * CHUNKS_PER_THREAD, Math.ceil(summaryRow.lastSequence / maxChunk));
    usedThreads = inline ? 1 : threads;
    const reader = options.reader ?? 'auto';
    const layout = summaryRow.empty || reader === 'sqlite' ? undefined : journalLayout(spec.path);
    if (reader === 'pages' && layout === undefined && !summaryRow.empty) throw new Error('the page reader cannot read this file (WAL content or unexpected layout)');
    summaries = [];
    if (summaryRow.empty) {
      usedReader = 'none';
    } else if (layout !== undefined) {
      const tasks = planPageChunks(spec.path, layout.leaves, wanted);
      chunks = tasks.length;
      try {
        summaries = await runTasks(tasks, usedThreads, progress, inline);
        usedReader = 'pages';
        if (!layoutStillValid(spec.path, layout)) summaries = undefined; // a writer committed meanwhile
      } catch (error) {
        if (reader === 'pages' || !isPageFormatError(error)) throw error;
        summaries = undefined;
      }
    }
    if (summaries === undefined || (layout === undefined && !summaryRow.empty)) {
      const tasks = inline
        ? [{ kind: 'sqlite-chunk', path: spec.path, fromKey: 0, toKey: Number.MAX_SAFE_INTEGER, slot: 0 } as VerifyTask]
        : planSqliteChunks(spec.path, summaryRow.firstKey, summaryRow.lastKey, wanted);
      chunks = tasks.length;
      usedReader = 'sqlite';
      summaries = await runTasks(tasks, usedThreads, progress, inline);
    }
  } else if (spec.kind === 'archive') {
    progress?.setTotal(await source.lastSequence());
    const tasks: VerifyTask[] = spec.paths.map((path, slot) => ({ kind: 'archive', path, slot }));
    chunks = tasks.length;
    const inline = threads === 1 || tasks.length === 1;
    usedThreads = inline ? 1 : Math.min(threads, tasks.length);
    summaries = await runTasks(tasks, usedThreads, progress, inline);
  } else {
    progress?.setTotal(await source.lastSequence());
    summaries = [await verifyEsdb(source as EsdbSource, progress)];
  }
  const merged = merge(summaries!, spec.kind === 'archive');
  let fault = merged.fault;
  if (fault === null && options.expectHead !== undefined && options.expectHead.toLowerCase() !== hex(merged.head)) {
    fault = {
      sequence: merged.lastSequence + 1,
      reason: 'HEAD_MISMATCH',
      detail: `the chain is intact up to ${merged.lastSequence} but its head ${hex(merged.head)} is not the expected ${options.expectHead.toLowerCase()}: records after ${merged.lastSequence} are missing, or history was rewritten`,
    };
  }
  const seconds = (performance.now() - started) / 1000;
  progress?.finish(merged.events);
  return {
    ok: fault === null,
    source: source.description,
    records: merged.records,
    events: merged.events,
    firstSequence: merged.firstSequence,
    lastSequence: merged.lastSequence,
    headHash: hex(merged.head),
    anchoredAtGenesis: merged.anchoredAtGenesis,
    fault,
    threads: usedThreads,
    chunks,
    reader: usedReader,
    seconds,
    eventsPerSecond: merged.events / Math.max(seconds, 1e-9),
  };
}
