/**
 * Where a hot standby (standby.ts) follows the leader's journal from: the embedded
 * journal file on this machine, or the leader's EventStoreDB stream from another machine
 * (mirrored, hash for hash, into this machine's own embedded journal).
 */
import { hostname } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { journalFileSemantics, readJournalFile, SqliteJournal } from '../../journal/sqlite-journal';
import { ENGINE_SEMANTICS_LATEST, type EngineSemantics } from '../engine-semantics';
import { EventStoreClientLike, EventStoreJournal } from '../../journal/eventstore-journal';
import type { JournalRecord } from '../../journal/journal-record';
import { declareEngine, type EngineDeclaration } from '../../journal/engine-declaration';
import { readEngineStream } from '../../journal/eventstore-engine-stream';
import type { ExchangeConfig } from './config';

export interface StandbySource {
  /** The embedded journal the new leader will run on (snapshots go beside it). */
  readonly localJournalPath: string;
  /** Whether the leader's snapshots sit beside localJournalPath (then the standby checks its state against them). */
  readonly leaderSnapshots: boolean;
  /** Whether there is a journal to follow yet. */
  exists(): Promise<boolean>;
  /** Durable records from the one containing `from` on. */
  records(from: number): AsyncIterable<JournalRecord>;
  /** The standby accepted `record` (verified link and order). */
  accepted(record: JournalRecord): void;
  /** The standby read everything there was for now. */
  caughtUp(): void;
  /** Whether something besides the health check proves the leader alive (a live lease holder on this host). */
  leaderProvedAlive(): boolean;
  /** Before the hand-over: the local journal holds everything followed, and is free for the new leader. */
  prepareTakeover(): Promise<void>;
  /** The engine semantics the followed journal is written under (core/engine-semantics.ts). */
  engineSemantics(): EngineSemantics;
}

/** Records mirrored into the local journal per transaction while catching up. */
export const MIRROR_GROUP_RECORDS = 4096;

function localJournalPath(config: ExchangeConfig): string {
  return path.join(config.dataDirectory, 'journal.db');
}

/** The leader's embedded journal on this machine. */
export class LocalJournalSource implements StandbySource {
  readonly localJournalPath: string;
  readonly leaderSnapshots = true;

  constructor(config: ExchangeConfig) {
    this.localJournalPath = localJournalPath(config);
  }

  async exists(): Promise<boolean> {
    try {
      new Database(this.localJournalPath, { readonly: true, fileMustExist: true }).close();
      return true;
    } catch {
      return false;
    }
  }

  records(from: number): AsyncIterable<JournalRecord> {
    return readJournalFile(this.localJournalPath, from);
  }

  accepted(): void {}

  caughtUp(): void {}

  /** The journal's writer lease names a live process on this host. */
  leaderProvedAlive(): boolean {
    const db = new Database(this.localJournalPath, { readonly: true, fileMustExist: true });
    try {
      const lease = db.prepare('SELECT pid, host FROM journal_lease WHERE id = 1').get() as { pid: number; host: string } | undefined;
      if (lease === undefined) return false;
      if (lease.host !== hostname()) return true; // cannot probe another host: never assume it dead
      try {
        process.kill(lease.pid, 0);
        return true;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === 'EPERM';
      }
    } finally {
      db.close();
    }
  }

  async prepareTakeover(): Promise<void> {}

  engineSemantics(): EngineSemantics {
    return journalFileSemantics(this.localJournalPath);
  }
}

/**
 * The leader's EventStoreDB stream (journal-<eventStoreInstance>), followed from another
 * machine. Every accepted record is appended to this machine's embedded journal, which must
 * be empty or a prefix of the stream; the local journal re-seals each record and the hash
 * must come out as the stream's (else the standby stops: two histories). The stream's
 * snapshots are not reachable from here, so no snapshot check; the leader is presumed dead
 * after LEADER_MISSED_CHECKS health checks, and the stream's expected revision fences it
 * if it was not.
 */
export class EventStoreStandbySource implements StandbySource {
  readonly localJournalPath: string;
  readonly leaderSnapshots = false;
  private mirror: SqliteJournal | undefined;
  /** Accepted records not yet in the local journal, with the hash the stream gave each. */
  private readonly unmirrored: Array<{ record: JournalRecord; streamHash: Uint8Array }> = [];

  /** streamEngine: the stream's engine options (its engine stream), which a new mirror declares; else the configured ones. */
  private constructor(private readonly stream: EventStoreJournal, config: ExchangeConfig, streamEngine: EngineDeclaration | undefined) {
    this.localJournalPath = localJournalPath(config);
    this.mirror = SqliteJournal.open({ path: this.localJournalPath, durability: config.durability, verifyOnOpen: 'tail' });
    if (this.mirror.engineDeclaration() === undefined && this.mirror.durableSequence() === 0) {
      this.mirror.declareEngine(streamEngine ?? declareEngine(config.risk, config.limits));
    }
  }

  /** The mirror's declaration (the stream's, or this build's latest when the stream records none). */
  engineSemantics(): EngineSemantics {
    return this.mirror?.engineDeclaration()?.semantics ?? ENGINE_SEMANTICS_LATEST;
  }

  static async open(config: ExchangeConfig, client?: EventStoreClientLike): Promise<EventStoreStandbySource> {
    const stream = await EventStoreJournal.open({ instanceId: config.eventStoreInstance, connectionString: config.eventStoreUrl, client });
    return new EventStoreStandbySource(stream, config, await readEngineStream(stream.client, stream.instanceId));
  }

  async exists(): Promise<boolean> {
    return this.stream.durableSequence() > 0 || (await this.stream.tail()) !== undefined;
  }

  async *records(from: number): AsyncGenerator<JournalRecord> {
    yield* this.stream.readFrom(from);
  }

  /** Queues the record for the local journal (written in groups: one transaction, one fsync each). */
  accepted(record: JournalRecord): void {
    if (record.lastSequence <= this.mirror!.durableSequence()) return; // already mirrored by an earlier run
    this.unmirrored.push({ record, streamHash: new Uint8Array(record.hash) });
    if (this.unmirrored.length >= MIRROR_GROUP_RECORDS) this.caughtUp();
  }

  /** Writes the queued records; the local journal re-seals each, and its hash must be the stream's. */
  caughtUp(): void {
    if (this.unmirrored.length === 0) return;
    this.mirror!.appendSync(this.unmirrored.map((u) => u.record));
    for (const { record, streamHash } of this.unmirrored) {
      if (Buffer.compare(Buffer.from(record.hash), Buffer.from(streamHash)) !== 0) {
        throw new Error(`standby: the local journal ${this.localJournalPath} holds another history than the stream at ${record.firstSequence}`);
      }
    }
    this.unmirrored.length = 0;
  }

  leaderProvedAlive(): boolean {
    return false; // another machine's process cannot be probed: the stream's fencing covers a false alarm
  }

  async prepareTakeover(): Promise<void> {
    this.caughtUp();
    await this.mirror?.close();
    this.mirror = undefined;
    await this.stream.close();
  }
}
