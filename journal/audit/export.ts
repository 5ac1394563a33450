/**
 * `exchange-audit export <journal.db> --out DIR`: a closed range of an embedded journal into
 * archive files (journal/archive.ts) for long retention — compressed, hash-verified, chained
 * (each file's previousHash is the head hash of the one before) and readable by every other
 * command (`exchange-audit verify DIR`, `reexecute DIR`, ...).
 *
 * Reads through a read-only connection, so it runs beside a live exchange (the range must be
 * durable). Each file holds about `eventsPerFile` events (whole records), which bounds the
 * memory an archive is built in. The journal's engine options (risk, limits, semantics) go
 * into every header so re-executing the archives needs no flags. Files are named by their
 * first sequence (zero-padded); readers order archives by their headers anyway.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ArchiveCompression, ArchiveHeader, exportArchive } from '../archive';
import type { EngineDeclaration } from '../engine-declaration';
import { readJournalFile } from '../sqlite-journal';
import { usageError } from './errors';
import { SqliteSource } from './source';
import type { Progress } from './progress';

/** ~120 MB of archive content at 2 events per record, well inside ARCHIVE_MAX_CONTENT_BYTES (256 MiB) at any record size. */
export const EXPORT_EVENTS_PER_FILE = 500_000;

export interface ExportOptions {
  outDirectory: string;
  fromSequence?: number;
  /** Default: the journal's durable end. */
  toSequence?: number;
  eventsPerFile?: number;
  compression?: ArchiveCompression;
  progress?: Progress;
}

export interface ExportReport {
  files: Array<{ path: string; header: ArchiveHeader }>;
  firstSequence: number;
  lastSequence: number;
  headHash: string;
  engineRecorded: boolean;
}

export async function exportJournal(journalPath: string, options: ExportOptions): Promise<ExportReport> {
  const source = SqliteSource.open(journalPath);
  let end: number;
  let engine: EngineDeclaration | undefined;
  try {
    end = await source.lastSequence();
    engine = source.engineDeclaration();
  } finally {
    await source.close();
  }
  const from = options.fromSequence ?? 1;
  const to = options.toSequence ?? end;
  const perFile = options.eventsPerFile ?? EXPORT_EVENTS_PER_FILE;
  if (!(Number.isSafeInteger(from) && from >= 1)) throw usageError(`--from must be a sequence >= 1, got ${from}`);
  if (!(Number.isSafeInteger(to) && to >= from)) throw usageError(`--to ${to} is before --from ${from}`);
  if (to > end) throw usageError(`--to ${to} is past the journal's end ${end}`);
  if (!(Number.isSafeInteger(perFile) && perFile >= 1)) throw usageError(`--events-per-file must be a positive integer, got ${perFile}`);
  mkdirSync(options.outDirectory, { recursive: true });
  const journal = { readFrom: (sequence: number) => readJournalFile(journalPath, sequence), durableSequence: () => end };
  const files: ExportReport['files'] = [];
  options.progress?.setTotal(to - from + 1);
  for (let start = from; start <= to;) {
    const file = path.join(options.outDirectory, `journal-${String(start).padStart(15, '0')}.exja`);
    const header = await exportArchive(journal, {
      fromSequence: start, toSequence: Math.min(to, start + perFile - 1), path: file, compression: options.compression, engine,
    });
    files.push({ path: file, header });
    start = header.lastSequence + 1;
    options.progress?.update(Math.min(to, header.lastSequence) - from + 1);
  }
  options.progress?.finish();
  const first = files[0]!.header;
  const last = files[files.length - 1]!.header;
  return {
    files, firstSequence: first.firstSequence, lastSequence: last.lastSequence,
    headHash: Buffer.from(last.headHash).toString('hex'), engineRecorded: engine !== undefined,
  };
}
