/**
 * Copies the embedded journal, record for record, into an EventStoreDB stream: how the
 * journal leaves the machine. The matcher's journal thread keeps writing the local sqlite
 * file (fsync'd group commits: what acknowledgements wait for); this replicator follows
 * that file through read-only connections and appends every durable record to the stream
 * `journal-<instanceId>` through EventStoreJournal (one binary event per batch,
 * deterministic event ids, exact expected revision, several appends in flight).
 *
 * The two journals are one history: the stream's records carry the very hashes of the
 * local ones. At start the replicator checks that the stream's newest record is the local
 * record at the same sequence, hash for hash, then continues after it. It refuses to run
 * when the stream holds a different history or more than the local journal (a lost or
 * swapped data directory): copying would fork the record. A second writer on the stream
 * makes the next append fail with JOURNAL_FENCED; the replicator then stops and reports.
 *
 * By default replication is asynchronous: an acknowledged order is on the local disk; it is
 * in the stream `lagEvents()` later (exported as a metric). With `eventStoreAcks` the journal
 * thread publishes only its local durable sequence and this replicator publishes what the
 * stream acknowledged (onReplicated): acknowledgements then wait for the stream (a cluster's
 * majority), so losing the whole machine loses nothing acknowledged. See docs/operations.md.
 */
import { readJournalFile, readJournalFileDeclaration } from './sqlite-journal';
import { writeEngineStream } from './eventstore-engine-stream';
import type { JournalRecord } from './journal-record';
import { journalError } from './journal';
import type { EventStoreJournal } from './eventstore-journal';

/** How often the local journal is checked for new durable records when caught up. */
export const REPLICATION_POLL_MS = 20;
/** Records handed to the stream per append call (EventStoreJournal splits them into batches). */
export const REPLICATION_CHUNK_RECORDS = 4096;
/** Records read per pass: keeps the stream's unacknowledged records under ESDB_MAX_OUTSTANDING_RECORDS. */
export const REPLICATION_RECORDS_PER_PASS = 8 * REPLICATION_CHUNK_RECORDS;

export interface ReplicatorOptions {
  journalPath: string;
  stream: EventStoreJournal;
  /** The local journal's durable sequence (what the journal thread published). */
  localDurable: () => number;
  pollMs?: number;
  onFatal?: (message: string) => void;
  /** Called with the stream's acknowledged sequence whenever it advances (and once at start). */
  onReplicated?: (sequence: number) => void;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class EventStoreReplicator {
  private replicated = 0;
  private running = false;
  /** stop() was called: the loop ends after a pass that finds nothing new. */
  private draining = false;
  private loop: Promise<void> | undefined;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly options: ReplicatorOptions) {}

  /** lastSequence of the newest record the stream has acknowledged. */
  replicatedSequence(): number {
    return this.replicated;
  }

  /** Events the stream is behind the local journal. */
  lagEvents(): number {
    return Math.max(0, this.options.localDurable() - this.replicated);
  }

  /** Checks the stream continues the local journal, then follows it until stop(). */
  async start(): Promise<void> {
    await this.checkSameHistory();
    // The stream's engine options, for auditors and standbys reading only the stream.
    const declaration = readJournalFileDeclaration(this.options.journalPath);
    if (declaration !== undefined) await writeEngineStream(this.options.stream.client, this.options.stream.instanceId, declaration);
    this.options.onReplicated?.(this.replicated);
    this.running = true;
    this.loop = this.follow().catch((error: Error) => {
      this.failure = error;
      this.running = false;
      this.options.onFatal?.(`replication to EventStoreDB stopped: ${error.message}`);
    });
  }

  /** Replicates everything durable up to now (the exchange has stopped writing), then stops. */
  async stop(): Promise<void> {
    this.draining = true;
    this.wake?.();
    await this.loop;
    this.running = false;
    await this.options.stream.close();
    if (this.failure !== undefined) throw this.failure;
  }

  private async checkSameHistory(): Promise<void> {
    const streamTail = await this.options.stream.tail();
    if (streamTail === undefined) return;
    let local: JournalRecord | undefined;
    for await (const record of readJournalFile(this.options.journalPath, streamTail.lastSequence)) {
      local = record;
      break;
    }
    if (local === undefined || local.lastSequence < streamTail.lastSequence) {
      throw journalError('JOURNAL_FENCED', `the EventStoreDB stream reaches sequence ${streamTail.lastSequence}, beyond the local journal ${this.options.journalPath}: restore the local journal from the stream, or use another instance id`);
    }
    if (local.firstSequence !== streamTail.firstSequence || !equalBytes(local.hash, streamTail.hash)) {
      throw journalError('JOURNAL_FENCED', `the EventStoreDB stream holds another history at sequence ${streamTail.firstSequence} than ${this.options.journalPath}`, { sequence: streamTail.firstSequence });
    }
    this.replicated = streamTail.lastSequence;
  }

  private async follow(): Promise<void> {
    const { stream } = this.options;
    while (this.running) {
      const durable = this.options.localDurable();
      const appended = durable > this.replicated ? await this.pass(stream, durable) : 0;
      if (appended > 0) continue;
      if (this.draining) return; // caught up with everything durable
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, this.options.pollMs ?? REPLICATION_POLL_MS);
      });
    }
  }

  /** Appends the durable records after the replicated ones (at most a pass's worth); returns how many. */
  private async pass(stream: EventStoreJournal, durable: number): Promise<number> {
    let chunk: JournalRecord[] = [];
    const appends: Array<Promise<void>> = [];
    let read = 0;
    for await (const record of readJournalFile(this.options.journalPath, this.replicated + 1)) {
      if (record.lastSequence > durable || read === REPLICATION_RECORDS_PER_PASS) break; // not published yet / next pass
      if (record.firstSequence <= this.replicated) continue;
      read++;
      chunk.push(record);
      if (chunk.length === REPLICATION_CHUNK_RECORDS) {
        appends.push(stream.append(chunk));
        chunk = [];
      }
    }
    if (chunk.length > 0) appends.push(stream.append(chunk));
    await Promise.all(appends);
    this.replicated = stream.durableSequence();
    if (read > 0) this.options.onReplicated?.(this.replicated);
    return read;
  }
}
