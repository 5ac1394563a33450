/**
 * Recovery: the engine state at the end of the journal, from the newest usable snapshot
 * plus a verified replay of the journal after it.
 *
 *  1. Candidates are the stored snapshots, newest first. A candidate is skipped, with one
 *     line in `fallbacks` saying why and what comes next, when it is corrupt (checksum,
 *     decode), ahead of the journal's durable end, not anchored (the journal's record at
 *     its sequence S is missing, spans S, or has another hash) or does not restore. When
 *     none is usable the engine starts empty and the whole journal is replayed.
 *  2. A snapshot cut with the risk layer on/off while recovery asks for the opposite is a
 *     configuration error (RECOVERY_CONFIG), not a fallback: replaying the journal with the
 *     other setting could only diverge.
 *  3. The journal is read from S+1 through a ReplayFeed anchored on the snapshot's chain
 *     hash: reader threads over the sqlite file when `journalPath` is given
 *     (SqliteReplayFeed), else journal.readFrom + ChainVerifier in this thread. Every record
 *     is chain-verified and its command re-executed through the engine (ReplayChecker:
 *     regenerated events must equal the journaled ones byte for byte).
 *     A broken chain or an undecodable record stops recovery with RECOVERY_JOURNAL_CORRUPT
 *     naming its sequence; a difference stops it with RECOVERY_DIVERGED. Recovery never
 *     skips a record and never returns a state the journal does not describe.
 *  4. A torn last record was already removed by SqliteJournal.open; its openReport is
 *     passed through as `journalTruncated` (and a line in `notes`).
 *
 * The engine is always rebuilt by re-executing commands (applying journaled events alone
 * cannot rebuild books and holds); checking equality costs one memcmp per record.
 */
import { performance } from 'node:perf_hooks';
import { Matcher } from '../core/matcher';
import { DISCARD_SINK, EventSink } from '../core/event-buffer';
import { DEFAULT_RISK, RiskDefaults, RiskEngine } from '../core/risk-engine';
import type { EngineLimits } from '../core/limits';
import type { EngineSemantics } from '../core/engine-semantics';
import { restoreImage } from '../core/state-image';
import { GENESIS_HASH, VerifyResult } from '../journal/hash-chain';
import type { Journal } from '../journal/journal';
import type { JournalRecord } from '../journal/journal-record';
import type { SqliteOpenReport } from '../journal/sqlite-journal';
import { lookupChainHash } from './journal-anchor';
import { ReplayChecker } from './replay-checker';
import { chainFault, JournalReplayFeed, ReplayFeed } from './replay-feed';
import { SqliteReplayFeed } from './sqlite-replay-feed';
import type { SnapshotStore } from './snapshot-store';
import { Snapshot, toHex } from './snapshot-format';
import { SnapshotError } from './snapshot-error';

/** Records between two onProgress calls during replay (checked per page). */
export const DEFAULT_PROGRESS_EVERY_RECORDS = 100_000;

export interface RecoveryProgress {
  phase: 'snapshot' | 'replay' | 'done';
  /** Last sequence the engine has reached. */
  sequence: number;
  /** The journal's durable end: where replay will stop. */
  targetSequence: number;
  replayedRecords: number;
  replayedEvents: number;
  elapsedMillis: number;
  /** Replayed events per second so far. */
  eventsPerSecond: number;
  /** A ready-made log line. */
  line: string;
}

export interface RecoverOptions {
  journal: Journal;
  /**
   * The sqlite file behind `journal` (a SqliteJournal): replay then reads and verifies the
   * file in a reader thread (SqliteReplayFeed), overlapping with re-execution. Without it,
   * replay reads through journal.readFrom in this thread (any backend).
   */
  journalPath?: string;
  /**
   * With journalPath: read the file's leaf pages directly when the file alone holds the
   * journal (no write-ahead log frames: checkpoint first). Default true; false forces rows
   * through better-sqlite3 (benchmark baseline).
   */
  readPages?: boolean;
  /** Where snapshots are; null or absent: full replay. */
  store?: SnapshotStore | null;
  /** Whether the engine runs the accounts-and-risk layer (must match how the journal was written). */
  risk: boolean;
  /** Risk defaults of the RiskEngine (must match how the journal was written). */
  riskDefaults?: RiskDefaults;
  /** The semantics the journal was written under (default the latest: a journal this build wrote). */
  semantics?: EngineSemantics;
  /** Engine limits for a full replay; a snapshot brings its own (a difference is noted). */
  limits?: Partial<EngineLimits>;
  /** Installed as the engine's sink once recovery is done (default: discard). */
  sink?: EventSink;
  onProgress?: (progress: RecoveryProgress) => void;
  progressEveryRecords?: number;
  /** Records per page of the readFrom feed (default PAGE_RECORDS). */
  pageRecords?: number;
  /** Reader threads of the sqlite feed (default DEFAULT_READERS) and events per range (default RANGE_EVENTS). */
  readers?: number;
  rangeEvents?: number;
  /** Every fallback and note line, as it happens. */
  log?: (line: string) => void;
}

export interface RecoveryResult {
  /** The recovered engine: echoCommands on, `sink` installed, ready for the next command. */
  matcher: Matcher;
  /** matcher.out.sequence: the last event the engine holds. */
  sequence: number;
  /** Hash of the journal's last record (the chain head the next append continues). */
  chainHash: Uint8Array;
  /** Sequence of the snapshot recovery started from, or null for a full replay. */
  fromSnapshot: number | null;
  replayedRecords: number;
  replayedEvents: number;
  /** One line per snapshot that was skipped, saying why and what recovery fell back to. */
  fallbacks: string[];
  /** Informational lines (torn tail truncated at open, limits differing from the snapshot's). */
  notes: string[];
  /** The torn last record SqliteJournal.open removed, if any. */
  journalTruncated: SqliteOpenReport['truncated'] | null;
  /**
   * Records the engine produced beyond the journal's end: only when the journal ends inside a
   * command whose continuation records were never durable. Append them before new commands.
   */
  unjournaledRecords: JournalRecord[];
  millis: { snapshot: number; replay: number; total: number };
}

interface Start {
  matcher: Matcher;
  sequence: number;
  chainHash: Uint8Array;
  fromSnapshot: number | null;
}

export async function recover(options: RecoverOptions): Promise<RecoveryResult> {
  const began = performance.now();
  const { journal } = options;
  const fallbacks: string[] = [];
  const notes: string[] = [];
  const log = options.log ?? (() => {});
  const fallback = (line: string) => { fallbacks.push(line); log(line); };
  const note = (line: string) => { notes.push(line); log(line); };

  const openReport = (journal as { openReport?: SqliteOpenReport }).openReport;
  const truncated = openReport?.truncated ?? null;
  if (truncated !== null) {
    note(`journal: torn last record at ${truncated.firstSequence} (${truncated.reason}: ${truncated.detail}) was truncated at open`);
  }
  const targetSequence = journal.durableSequence();

  const start = (await fromNewestSnapshot(options, targetSequence, fallback, note)) ?? emptyStart(options);
  const snapshotMillis = performance.now() - began;
  const progressEvery = options.progressEveryRecords ?? DEFAULT_PROGRESS_EVERY_RECORDS;
  const report = (phase: RecoveryProgress['phase'], sequence: number, records: number, events: number) => {
    if (options.onProgress === undefined) return;
    const elapsedMillis = performance.now() - began;
    const replayMillis = performance.now() - began - snapshotMillis;
    const eventsPerSecond = replayMillis > 0 ? (events / replayMillis) * 1000 : 0;
    const origin = start.fromSnapshot === null ? 'full replay' : `snapshot ${start.fromSnapshot}`;
    const line = `recovery ${phase}: ${origin}, at ${sequence} of ${targetSequence}, ${records} records / ${events} events replayed, `
      + `${(eventsPerSecond / 1e6).toFixed(2)}M events/s, ${elapsedMillis.toFixed(0)} ms`;
    options.onProgress({ phase, sequence, targetSequence, replayedRecords: records, replayedEvents: events, elapsedMillis, eventsPerSecond, line });
  };
  report('snapshot', start.sequence, 0, 0);

  // Replay from S+1: verify the chain, re-execute, compare.
  const { matcher } = start;
  const checker = new ReplayChecker(matcher);
  const anchor = { firstSequence: start.sequence + 1, previousHash: start.chainHash };
  const feed: ReplayFeed = options.journalPath !== undefined
    ? new SqliteReplayFeed({ path: options.journalPath, anchor, toSequence: targetSequence, readers: options.readers, rangeEvents: options.rangeEvents, pages: options.readPages })
    : new JournalReplayFeed(journal, anchor, targetSequence, options.pageRecords);
  let records = 0;
  let events = 0;
  let sequence = start.sequence;
  let sinceProgress = 0;
  let verified: VerifyResult;
  try {
    for (let page = await feed.next(); page !== null; page = await feed.next()) {
      checker.applyPage(page);
      records += page.count;
      events += page.eventStart[page.count]!;
      sequence = page.lastSequence[page.count - 1]!;
      sinceProgress += page.count;
      if (sinceProgress >= progressEvery) {
        sinceProgress = 0;
        report('replay', sequence, records, events);
      }
    }
    verified = feed.result();
  } finally {
    await feed.close();
  }
  if (!verified.ok) throw chainFault(verified);
  if (verified.lastSequence !== targetSequence) {
    throw new SnapshotError('RECOVERY_JOURNAL_CORRUPT', `replay ended at ${verified.lastSequence}, but the journal is durable through ${targetSequence}`, verified.lastSequence + 1);
  }
  if (options.journalPath !== undefined && records > 0) {
    const tail = await journal.tail();
    if (tail === undefined || toHex(tail.hash) !== toHex(verified.headHash)) {
      throw new SnapshotError('RECOVERY_CONFIG', `journalPath ${options.journalPath} does not hold this journal's records (head hashes differ)`);
    }
  }
  const unjournaledRecords = checker.unjournaled();
  if (unjournaledRecords.length > 0) {
    note(`journal ends inside the command at ${unjournaledRecords[0]!.firstSequence - 1}: ${unjournaledRecords.length} continuation records regenerated (append them)`);
  }
  matcher.out.sink = options.sink ?? DISCARD_SINK;
  const replayMillis = performance.now() - began - snapshotMillis;
  report('done', matcher.out.sequence, records, events);
  return {
    matcher,
    sequence: matcher.out.sequence,
    chainHash: verified.headHash,
    fromSnapshot: start.fromSnapshot,
    replayedRecords: records,
    replayedEvents: events,
    fallbacks,
    notes,
    journalTruncated: truncated,
    unjournaledRecords,
    millis: { snapshot: snapshotMillis, replay: replayMillis, total: performance.now() - began },
  };
}

function newRisk(options: RecoverOptions): RiskEngine | null {
  return options.risk ? new RiskEngine(options.riskDefaults ?? DEFAULT_RISK, { semantics: options.semantics }) : null;
}

function emptyStart(options: RecoverOptions): Start {
  const matcher = new Matcher({ limits: options.limits, risk: newRisk(options), echoCommands: true });
  return { matcher, sequence: 0, chainHash: new Uint8Array(GENESIS_HASH), fromSnapshot: null };
}

/** The newest snapshot that is intact, within the journal, anchored to it and restorable. */
async function fromNewestSnapshot(
  options: RecoverOptions,
  targetSequence: number,
  fallback: (line: string) => void,
  note: (line: string) => void,
): Promise<Start | undefined> {
  if (options.store === undefined || options.store === null) return undefined;
  const candidates = options.store.list();
  for (let i = 0; i < candidates.length; i++) {
    const { sequence } = candidates[i]!;
    const next = i + 1 < candidates.length ? `snapshot ${candidates[i + 1]!.sequence}` : 'full replay from sequence 1';
    const skip = (why: string) => fallback(`snapshot ${sequence}: ${why}; falling back to ${next}`);
    if (sequence > targetSequence) {
      skip(`ahead of the journal, which is durable through ${targetSequence}`);
      continue;
    }
    let snapshot: Snapshot;
    try {
      snapshot = options.store.load(sequence);
    } catch (error) {
      skip(`unusable (${(error as Error).message})`);
      continue;
    }
    if (snapshot.risk !== options.risk) {
      throw new SnapshotError('RECOVERY_CONFIG',
        `snapshot ${sequence} was cut with the risk layer ${snapshot.risk ? 'on' : 'off'}, recovery asked for ${options.risk ? 'on' : 'off'}`, sequence);
    }
    const anchor = await lookupChainHash(options.journal, sequence);
    if (!anchor.ok) {
      skip(`not anchored in the journal (${anchor.fault})`);
      continue;
    }
    if (toHex(anchor.hash) !== toHex(snapshot.chainHash)) {
      skip(`its chain hash ${toHex(snapshot.chainHash).slice(0, 16)}… differs from the journal's record at ${sequence} (${toHex(anchor.hash).slice(0, 16)}…)`);
      continue;
    }
    let matcher: Matcher;
    try {
      matcher = restoreImage(snapshot.image, { risk: newRisk(options), echoCommands: true });
    } catch (error) {
      skip(`does not restore (${(error as Error).message})`);
      continue;
    }
    if (options.limits !== undefined) {
      const differing = Object.entries(options.limits).filter(([key, value]) => matcher.limits[key as keyof EngineLimits] !== value).map(([key]) => key);
      if (differing.length > 0) note(`snapshot ${sequence} was cut with other limits (${differing.join(', ')}); the snapshot's limits are in force`);
    }
    return { matcher, sequence, chainHash: snapshot.chainHash, fromSnapshot: sequence };
  }
  return undefined;
}
