/**
 * A hot standby: it follows the leader's journal, re-executing every command into a warm
 * engine and checking the events are byte-identical. When the leader dies (its health
 * endpoint stops answering, and — on one machine — the pid holding the journal lease is
 * gone) it takes over: its warm state becomes a snapshot at its last sequence, and a normal
 * start recovers from that snapshot plus whatever journal tail it had not read yet, then
 * opens the gateways.
 *
 * Where it follows from (core/runtime/standby-sources.ts):
 *   - the leader's embedded journal file on this machine (read-only connections, WAL); it
 *     also checks its state hash against every snapshot the leader stores. The journal
 *     lease fences the old leader: a revived one cannot open the journal for writing while
 *     the new leader lives (JOURNAL_LOCKED), and a writer whose lease was taken fails its
 *     next commit (JOURNAL_FENCED).
 *   - the leader's EventStoreDB stream, from another machine (`--from-stream`): every
 *     record is mirrored, hash for hash, into this machine's own embedded journal, so the
 *     takeover starts on a complete local journal and the new leader's replicator continues
 *     the same stream. The stream's exact expected revision fences the old leader: its next
 *     append fails with JOURNAL_FENCED and it stops (with `eventStoreAcks` it acknowledges
 *     nothing the stream does not hold).
 */
import type { Logger } from 'pino';
import { Matcher } from '../matcher';
import { RiskEngine } from '../risk-engine';
import { EVENT_WORDS } from '../schema';
import { cutImage, restoreImage, stateHash } from '../state-image';
import { MAX_EVENTS_PER_RECORD } from '../../journal/journal-record';
import { SnapshotStore } from '../../snapshots/snapshot-store';
import { encodeSnapshot } from '../../snapshots/snapshot-format';
import type { ExchangeConfig } from './config';
import type { ExchangeCore } from './exchange';
import type { StandbySource } from './standby-sources';

/** How often the standby reads the journal's new records and checks the leader. */
export const STANDBY_POLL_MS = 50;
/** Consecutive failed health checks before the leader is presumed dead (then the lease pid decides). */
export const LEADER_MISSED_CHECKS = 3;

export interface StandbyStatus {
  sequence: number;
  records: number;
  verifiedSnapshots: number;
  lastHeadHash: string;
}

export class Standby {
  private readonly matcher: Matcher;
  private readonly regenerated: Float64Array[] = [];
  private readonly store: SnapshotStore;
  private sequence = 0;
  private records = 0;
  private headHash: Uint8Array = new Uint8Array(32);
  private readonly verified = new Set<number>();
  private missedChecks = 0;

  constructor(
    private readonly config: ExchangeConfig,
    private readonly log: Logger,
    private readonly leaderHealthUrl: string,
    private readonly source: StandbySource,
  ) {
    this.store = SnapshotStore.forJournal(source.localJournalPath);
    this.matcher = new Matcher({
      limits: config.limits, risk: config.risk ? new RiskEngine(undefined, { semantics: source.engineSemantics() }) : null,
      sink: { onEvents: (words, count) => { this.regenerated.push(words.slice(0, count * EVENT_WORDS)); } },
    });
  }

  status(): StandbyStatus {
    return { sequence: this.sequence, records: this.records, verifiedSnapshots: this.verified.size, lastHeadHash: Buffer.from(this.headHash).toString('hex') };
  }

  /** Follows the journal until the leader is gone; resolves with the sequence it reached. */
  async follow(): Promise<number> {
    for (;;) {
      await this.catchUp();
      await this.checkSnapshots();
      if (await this.leaderGone()) {
        await this.catchUp(); // the last records the leader made durable before dying
        if (this.pending !== null) this.finishPending(); // a dead leader writes no more continuations
        await this.source.prepareTakeover();
        return this.sequence;
      }
      await new Promise((resolve) => setTimeout(resolve, STANDBY_POLL_MS));  // clock-ok: supervisor side, never inside the matcher
    }
  }

  /**
   * Turns the warm state into a snapshot at its last sequence (uncompressed: speed
   * matters now), so the new leader's normal recovery starts from it.
   */
  handOver(): number {
    const image = cutImage(this.matcher);
    const encoded = encodeSnapshot({ image, sequence: this.sequence, chainHash: this.headHash }, { compression: 'none', level: 0 });
    this.store.save(this.sequence, encoded);
    this.log.info({ sequence: this.sequence, bytes: encoded.length }, 'standby state handed over as a snapshot');
    return this.sequence;
  }

  /** A command whose continuation records may still be coming (its last record was full). */
  private pending: { command: Float64Array; events: Float64Array[]; last: number; full: boolean } | null = null;

  /** Reads and re-executes every record after the last one seen. */
  private async catchUp(): Promise<void> {
    if (!(await this.source.exists())) return;
    const from = (this.pending?.last ?? this.sequence) + 1;
    for await (const record of this.source.records(from)) {
      const expected = (this.pending?.last ?? this.sequence) + 1;
      if (record.lastSequence < expected) continue;
      if (record.firstSequence !== expected) throw new Error(`standby: journal gap before ${record.firstSequence} (expected ${expected})`);
      if (Buffer.compare(Buffer.from(record.previousHash), Buffer.from(this.headHash)) !== 0) {
        throw new Error(`standby: hash chain broken at ${record.firstSequence}`);
      }
      this.headHash = record.hash;
      this.source.accepted(record);
      this.records++;
      const full = record.events.length / EVENT_WORDS === MAX_EVENTS_PER_RECORD;
      if (record.command[0] === 0) {
        if (this.pending === null) throw new Error(`standby: continuation record at ${record.firstSequence} without its command`);
        this.pending.events.push(record.events);
        this.pending.last = record.lastSequence;
        this.pending.full = full;
        continue;
      }
      this.finishPending();
      this.pending = { command: record.command, events: [record.events], last: record.lastSequence, full };
    }
    this.source.caughtUp();
    // A full last record may still get continuations: keep it pending until the next read.
    if (this.pending !== null && !this.pending.full) this.finishPending();
  }

  private finishPending(): void {
    const pending = this.pending;
    if (pending === null) return;
    this.pending = null;
    this.regenerated.length = 0;
    this.matcher.process(pending.command, 0);
    this.matcher.flush();
    const expected = Buffer.concat(pending.events.map((e) => Buffer.from(e.buffer, e.byteOffset, e.byteLength)));
    const actual = Buffer.concat(this.regenerated.map((e) => Buffer.from(e.buffer, e.byteOffset, e.byteLength)));
    if (!expected.equals(actual)) throw new Error(`standby diverges from the journal after sequence ${this.sequence}: refusing to follow further`);
    this.sequence = pending.last;
  }

  /**
   * Checks the warm state against every leader snapshot it has passed: the snapshot's
   * image, rolled forward over the journal to the standby's sequence, must hash the
   * same as the standby's own state.
   */
  private async checkSnapshots(): Promise<void> {
    if (!this.source.leaderSnapshots) return; // the leader's snapshots are on another machine
    for (const entry of this.store.list()) {
      if (entry.sequence > this.sequence || this.verified.has(entry.sequence)) continue;
      const snapshot = this.store.load(entry.sequence);
      const theirs = restoreImage(snapshot.image, { risk: this.config.risk ? new RiskEngine(undefined, { semantics: this.source.engineSemantics() }) : null });
      for await (const record of this.source.records(entry.sequence + 1)) {
        if (record.firstSequence > this.sequence) break;
        if (record.firstSequence > entry.sequence && record.command[0] !== 0) theirs.process(record.command, 0);
      }
      theirs.flush();
      const ours = stateHash(this.matcher);
      if (stateHash(theirs) !== ours) throw new Error(`standby state differs from the leader's snapshot at ${entry.sequence} rolled forward to ${this.sequence}`);
      this.verified.add(entry.sequence);
      this.log.info({ snapshot: entry.sequence, sequence: this.sequence, stateHash: ours }, 'standby verified against the leader snapshot');
    }
  }

  private async leaderGone(): Promise<boolean> {
    if (!(await this.source.exists())) return false; // the leader has not even started
    try {
      const response = await fetch(this.leaderHealthUrl, { signal: AbortSignal.timeout(200) });
      if (response.ok) {
        this.missedChecks = 0;
        return false;
      }
    } catch {
      // no answer
    }
    this.missedChecks++;
    if (this.missedChecks < LEADER_MISSED_CHECKS) return false;
    return !this.source.leaderProvedAlive();
  }
}

/** Used by the supervisor after a takeover: the new leader's recovery must start from the hand-over snapshot. */
export function assertRecoveredFrom(core: ExchangeCore, sequence: number): void {
  const report = core.startReport?.recovery as { fromSnapshot?: number | null } | undefined;
  if (report?.fromSnapshot === undefined || report.fromSnapshot === null || report.fromSnapshot < sequence) {
    throw new Error(`takeover: recovery started from ${String(report?.fromSnapshot)}, expected the hand-over snapshot ${sequence}`);
  }
}
