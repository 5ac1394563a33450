/**
 * Start-up recovery for the matcher thread: open the journal (which truncates and
 * reports a torn last record, and refuses a corrupt one before the tail), rebuild
 * the engine by replaying it, then close it so the journal thread can take the
 * writer lease. Snapshots shorten this (snapshots/recovery.ts) when present.
 */
import { SqliteJournal } from '../../journal/sqlite-journal';
import type { Matcher } from '../matcher';
import { replayRecords } from './replay';

export interface RecoverEngineOptions {
  journalPath: string;
  snapshotDirectory: string;
  risk: boolean;
  makeEngine: () => Matcher;
  onProgress: (message: string) => void;
}

export interface RecoveredEngine {
  matcher: Matcher;
  report: { replayedRecords: number; replayedEvents: number; fromSnapshot: number | null; notes: string[] };
}

export async function recoverEngine(options: RecoverEngineOptions): Promise<RecoveredEngine> {
  const journal = SqliteJournal.open({ path: options.journalPath, durability: 'fsync', verifyOnOpen: 'tail' });
  const notes: string[] = [];
  const openReport = (journal as unknown as { openReport?: unknown }).openReport;
  if (openReport !== undefined) notes.push(`journal open: ${JSON.stringify(openReport)}`);
  try {
    const matcher = options.makeEngine();
    const started = process.hrtime.bigint();
    const progress = await replayRecords(matcher, journal.readFrom(1), (p) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      options.onProgress(`replayed ${p.records} records, ${p.events} events (${Math.round(p.events / Math.max(seconds, 1e-6))} events/s)`);
    });
    return { matcher, report: { replayedRecords: progress.records, replayedEvents: progress.events, fromSnapshot: null, notes } };
  } finally {
    await journal.close();
  }
}
