/**
 * Where replay gets its records: a feed of chain-verified pages, starting at an anchor
 * (the snapshot's S+1 and chain hash, or sequence 1 and genesis) and ending at the journal's
 * durable end. A broken chain or an unreadable record ends the feed with
 * RECOVERY_JOURNAL_CORRUPT naming its sequence, after every verified record before it.
 *
 * JournalReplayFeed works with any Journal backend (readFrom + the journal's ChainVerifier,
 * in the calling thread). SqliteReplayFeed (sqlite-replay-feed.ts) reads the sqlite file in a
 * worker thread instead, so reading and hashing overlap with re-execution.
 */
import { ChainAnchor, ChainVerifier, VerifyResult } from '../journal/hash-chain';
import { isJournalError, Journal } from '../journal/journal';
import type { JournalRecord } from '../journal/journal-record';
import { PAGE_EVENTS_MAX, PAGE_RECORDS, pageFromRecords, ReplayPage } from './replay-page';
import { SnapshotError } from './snapshot-error';

export interface ReplayFeed {
  /** The next page, or null once the journal's end was reached with the chain intact. */
  next(): Promise<ReplayPage | null>;
  /** The chain's head after the last record delivered (valid once next() returned null). */
  result(): VerifyResult;
  close(): Promise<void>;
}

export function chainFault(result: VerifyResult & { ok: false }): SnapshotError {
  return new SnapshotError('RECOVERY_JOURNAL_CORRUPT',
    `journal record at ${result.firstBadSequence}: ${result.reason} (${result.detail}); recovery stopped`, result.firstBadSequence);
}

export class JournalReplayFeed implements ReplayFeed {
  private readonly iterator: AsyncIterator<JournalRecord>;
  private readonly verifier: ChainVerifier;
  private done = false;

  constructor(
    journal: Journal,
    anchor: ChainAnchor,
    private readonly toSequence = Number.MAX_SAFE_INTEGER,
    private readonly pageRecords = PAGE_RECORDS,
  ) {
    this.verifier = new ChainVerifier(anchor);
    this.iterator = journal.readFrom(anchor.firstSequence)[Symbol.asyncIterator]();
  }

  async next(): Promise<ReplayPage | null> {
    const fault = this.verifier.result();
    if (!fault.ok) throw chainFault(fault);
    if (this.done) return null;
    const records: JournalRecord[] = [];
    let events = 0;
    while (records.length < this.pageRecords && events < PAGE_EVENTS_MAX) {
      let step: IteratorResult<JournalRecord>;
      try {
        step = await this.iterator.next();
      } catch (error) {
        if (!isJournalError(error, 'JOURNAL_CORRUPT')) throw error;
        this.verifier.fail(error.sequence, 'BAD_FORMAT', error.message);
        break;
      }
      if (step.done || step.value.firstSequence > this.toSequence) {
        this.done = true;
        break;
      }
      if (!this.verifier.check(step.value)) break;
      records.push(step.value);
      events += step.value.lastSequence - step.value.firstSequence + 1;
    }
    if (records.length > 0) return pageFromRecords(records);
    return this.next(); // nothing verified: either the end (null) or the fault (throws)
  }

  result(): VerifyResult {
    return this.verifier.result();
  }

  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}
