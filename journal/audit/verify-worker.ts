/**
 * The piscina worker of `verify`: checks one stretch of the chain and returns a small summary.
 *
 *   sqlite-chunk  rows with fromKey <= first_seq < toKey, streamed from the worker's own
 *                 read-only connection (bounded memory). The first record's sequence and
 *                 previousHash are adopted and returned: the main thread checks the seam
 *                 against the previous chunk's head.
 *   archive       one archive file: the journal's verifyArchive (content hash, header vs
 *                 records, chain from the header's anchor), then the auditor's record checks.
 *
 * Progress: the events checked so far go into slot `slot` of the shared Int32Array `progress`.
 * The same functions run inline (no worker) for small journals and one thread.
 */
import { readArchive, readArchiveHeader, verifyArchive } from '../archive';
import { isJournalError } from '../journal';
import { AuditFault, RecordChecker } from './record-check';
import { SqliteSource } from './source';
import { journalRecordRows, PageFile } from '../sqlite-pages';

export type VerifyTask =
  | { kind: 'sqlite-chunk'; path: string; fromKey: number; toKey: number; progress?: SharedArrayBuffer; slot: number }
  | { kind: 'pages-chunk'; path: string; leaves: number[]; progress?: SharedArrayBuffer; slot: number }
  | { kind: 'archive'; path: string; progress?: SharedArrayBuffer; slot: number };

export interface ChunkSummary {
  records: number;
  events: number;
  /** Whether the first record could be read (its sequence and previousHash are known). */
  firstReadable: boolean;
  firstSequence: number;
  firstPreviousHash: Uint8Array | null;
  lastSequence: number;
  headHash: Uint8Array;
  fault: (AuditFault & { atFirst: boolean }) | null;
}

const PROGRESS_EVERY_RECORDS = 4096;

function summary(checker: RecordChecker): ChunkSummary {
  return {
    records: checker.records,
    events: checker.events,
    firstReadable: checker.firstReadable,
    firstSequence: checker.firstSequence,
    firstPreviousHash: checker.firstPreviousHash ?? null,
    lastSequence: checker.lastSequence,
    headHash: checker.headHash(),
    fault: checker.fault ?? null,
  };
}

export function verifySqliteChunk(task: Extract<VerifyTask, { kind: 'sqlite-chunk' }>): ChunkSummary {
  const counter = task.progress === undefined ? undefined : new Int32Array(task.progress);
  // The first record's sequence and previousHash are adopted; the caller checks the seam.
  const checker = new RecordChecker(null);
  let source: SqliteSource | undefined;
  try {
    source = SqliteSource.open(task.path);
    let sinceProgress = 0;
    for (const stored of source.recordRows(task.fromKey, task.toKey)) { // a packed row holds several records
      if (!checker.checkBody(stored.body, stored)) break;
      if (counter !== undefined && ++sinceProgress === PROGRESS_EVERY_RECORDS) {
        sinceProgress = 0;
        Atomics.store(counter, task.slot, checker.events);
      }
    }
  } catch (error) {
    // sqlite itself cannot read on: the file is damaged below the record level.
    checker.failExternal(undefined, 'BAD_FORMAT', `sqlite cannot read the journal past this point: ${(error as Error).message}`);
  } finally {
    void source?.close();
  }
  if (counter !== undefined) Atomics.store(counter, task.slot, checker.events);
  return summary(checker);
}

/** The same check over leaf pages read straight from the file (sqlite-pages.ts); throws PageFormatError to fall back. */
export function verifyPagesChunk(task: Extract<VerifyTask, { kind: 'pages-chunk' }>): ChunkSummary {
  const counter = task.progress === undefined ? undefined : new Int32Array(task.progress);
  const checker = new RecordChecker(null);
  const file = new PageFile(task.path);
  try {
    let sinceProgress = 0;
    for (const row of journalRecordRows(file, task.leaves)) {
      if (!checker.checkBody(row.body, row)) break;
      if (counter !== undefined && ++sinceProgress === PROGRESS_EVERY_RECORDS) {
        sinceProgress = 0;
        Atomics.store(counter, task.slot, checker.events);
      }
    }
  } finally {
    file.close();
  }
  if (counter !== undefined) Atomics.store(counter, task.slot, checker.events);
  return summary(checker);
}

export async function verifyArchiveFile(task: Extract<VerifyTask, { kind: 'archive' }>): Promise<ChunkSummary> {
  const counter = task.progress === undefined ? undefined : new Int32Array(task.progress);
  let header;
  try {
    header = await readArchiveHeader(task.path);
  } catch (error) {
    if (!isJournalError(error, 'JOURNAL_CORRUPT')) throw error;
    const checker = new RecordChecker(null);
    checker.failExternal(error.sequence, 'BAD_FORMAT', `${task.path}: ${error.message}`);
    return summary(checker);
  }
  const checker = new RecordChecker({ firstSequence: header.firstSequence, previousHash: header.previousHash });
  const result = await verifyArchive(task.path);
  if (!result.ok) {
    checker.failExternal(result.firstBadSequence, result.reason, `${task.path}: ${result.detail}`);
  } else {
    for await (const record of readArchive(task.path)) if (!checker.checkRecord(record)) break;
  }
  if (counter !== undefined) Atomics.store(counter, task.slot, checker.events);
  const done = summary(checker);
  // The header is the archive's anchor: its first record links to header.previousHash.
  return { ...done, firstReadable: true, firstSequence: header.firstSequence, firstPreviousHash: header.previousHash };
}

export function runTask(task: VerifyTask): Promise<ChunkSummary> | ChunkSummary {
  switch (task.kind) {
    case 'archive': return verifyArchiveFile(task);
    case 'sqlite-chunk': return verifySqliteChunk(task);
    case 'pages-chunk': return verifyPagesChunk(task);
  }
}

export default async function run(task: VerifyTask): Promise<ChunkSummary> {
  return runTask(task);
}
