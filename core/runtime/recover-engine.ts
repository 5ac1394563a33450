/**
 * Start-up recovery for the matcher thread: open the journal (which truncates and
 * reports a torn last record, and refuses a corrupt one before the tail), restore
 * the newest valid snapshot (falling back to older ones, then to a full replay),
 * replay the journal's tail by re-executing every command and checking the events
 * are byte-identical (snapshots/recovery.ts), then close the journal so the journal
 * thread can take the writer lease.
 */
import { SqliteJournal } from '../../journal/sqlite-journal';
import { SnapshotStore } from '../../snapshots/snapshot-store';
import { recover } from '../../snapshots/recovery';
import { declarationDifferences, declareEngine } from '../../journal/engine-declaration';
import type { EngineLimits } from '../limits';
import type { Matcher } from '../matcher';
import { ENGINE_SEMANTICS_UNDECLARED, EngineSemantics } from '../engine-semantics';

export interface RecoverEngineOptions {
  journalPath: string;
  risk: boolean;
  limits: Partial<EngineLimits>;
  onProgress: (message: string) => void;
}

export interface RecoveredEngine {
  matcher: Matcher;
  report: { replayedRecords: number; replayedEvents: number; fromSnapshot: number | null; fallbacks: string[]; notes: string[]; millis: number };
}

export async function recoverEngine(options: RecoverEngineOptions): Promise<RecoveredEngine> {
  const journal = SqliteJournal.open({ path: options.journalPath, durability: 'fsync', verifyOnOpen: 'tail' });
  try {
    const semantics = checkDeclaration(journal, options);
    // Nothing writes until recovery ends: with the log checkpointed, the replay readers read
    // the file's leaf pages directly (several times faster than rows through sqlite).
    journal.checkpoint();
    const result = await recover({
      journal,
      journalPath: options.journalPath,
      store: SnapshotStore.forJournal(options.journalPath),
      risk: options.risk,
      semantics,
      limits: options.limits,
      onProgress: (p) => options.onProgress(p.line),
      log: options.onProgress,
    });
    // A journal that ends inside a huge command's continuation records: make them durable first.
    if (result.unjournaledRecords.length > 0) journal.appendSync(result.unjournaledRecords);
    return {
      matcher: result.matcher,
      report: {
        replayedRecords: result.replayedRecords, replayedEvents: result.replayedEvents, fromSnapshot: result.fromSnapshot,
        fallbacks: result.fallbacks, notes: result.notes, millis: Math.round(result.millis.total),
      },
    };
  } finally {
    await journal.close();
  }
}

/**
 * A new journal records the engine options it is written with; an existing one must have
 * been written with the same risk layer setting (replay would diverge at once otherwise).
 * Different limits only warn: replay verifies every event, so a limit that mattered stops
 * recovery with the first divergence, and one that never mattered (raised capacity) is fine.
 */
function checkDeclaration(journal: SqliteJournal, options: RecoverEngineOptions): EngineSemantics {
  const configured = declareEngine(options.risk, options.limits);
  const declared = journal.engineDeclaration();
  if (declared === undefined) {
    if (journal.durableSequence() === 0) {
      journal.declareEngine(configured);
      return configured.semantics;
    }
    options.onProgress(`the journal records no engine options (written before they were recorded): recovering with the configured ones under engine semantics ${ENGINE_SEMANTICS_UNDECLARED}`);
    return ENGINE_SEMANTICS_UNDECLARED;
  }
  if (declared.semantics !== configured.semantics) {
    options.onProgress(`the journal was written under engine semantics ${declared.semantics} (this build's latest: ${configured.semantics}); the engine keeps them for this journal (core/engine-semantics.ts)`);
  }
  const differences = declarationDifferences(declared, { ...configured, semantics: declared.semantics });
  if (declared.risk !== configured.risk) {
    throw new Error(`journal ${options.journalPath} was written with the risk layer ${declared.risk ? 'on' : 'off'}; this exchange is configured with it ${configured.risk ? 'on' : 'off'}: set risk to ${declared.risk} or use another data directory`);
  }
  if (differences.length > 0) options.onProgress(`engine options differ from the journal's (replay verifies every event): ${differences.join('; ')}`);
  return declared.semantics;
}
