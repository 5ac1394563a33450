/**
 * EventStoreDB journal: how the journal outgrows one machine (a 3-node cluster acknowledges an
 * append once a majority has it on disk; durability is the server's, not a client option).
 *
 * One stream per exchange instance, `journal-<instanceId>`. Each append batch is ONE binary
 * event whose payload is msgpack [ESDB_BATCH_FORMAT_VERSION, firstSequence, lastSequence,
 * [record bodies]] (bodies = record-codec bytes, hashes included). Batches are split to stay
 * under the server's max append size.
 *
 * Event id = a v4-shaped UUID from sha256(instanceId, firstSequence, batch head hash): a retried
 * batch carries the same id, so the server treats it as already written instead of writing it
 * twice. The head hash (which chains all content before it) is in the id because the server's
 * idempotency check compares ids only: with the first sequence alone, a second writer's
 * DIFFERENT batch at the same position would be "accepted" without being written.
 * expectedRevision is always exact: a second writer on the same stream gets a wrong expected
 * version and this journal fails with JOURNAL_FENCED instead of forking history.
 * Up to maxAppendsInFlight batches are in flight; durableSequence only advances over the
 * contiguous acknowledged prefix.
 */
import { createHash } from 'node:crypto';
import { Packr, Unpackr } from 'msgpackr';
import { HASH_BYTES, JournalRecord } from './journal-record';
import { decodeRecord, RecordWriter, RECORD_BYTES_MAX } from './record-codec';
import { ChainVerifier, GENESIS_HASH, sealRecord, VerifyResult, verifyChainAsync } from './hash-chain';
import {
  checkAppendable, checkReadPosition, DurabilityWaiters, isJournalError, Journal, JournalError, journalError, NOTHING_DURABLE,
} from './journal';

/** The server's default MaxAppendSize. Configure to match the server. */
export const ESDB_MAX_APPEND_BYTES = 1 << 20;
/** Kept free below maxAppendBytes for the event's id, type and framing. */
export const ESDB_APPEND_HEADROOM_BYTES = 4096;
/** Batch envelope upper bound: array header, version, two float64 sequences, bodies array header. */
export const ESDB_BATCH_ENVELOPE_BYTES = 64;
/** Largest msgpack bin header in front of each record body. */
const BIN_HEADER_BYTES_MAX = 5;
/** Appends sent but not yet acknowledged: overlaps round trips without unbounded reordering risk. */
export const ESDB_MAX_APPENDS_IN_FLIGHT = 4;
/** Attempts per batch for transient errors and reordered arrivals, then the journal fails. */
export const ESDB_MAX_APPEND_ATTEMPTS = 4;
export const ESDB_RETRY_DELAY_MS = 50;
/** Records appended but not yet acknowledged; beyond it append() fails with JOURNAL_BACKPRESSURE. */
export const ESDB_MAX_OUTSTANDING_RECORDS = 1 << 16;
/** Batches fetched per read call. */
export const ESDB_READ_PAGE_BATCHES = 64;
export const ESDB_BATCH_FORMAT_VERSION = 1;
export const ESDB_EVENT_TYPE = 'JournalBatch';
export const ESDB_CONNECTION_ENV = 'EXCHANGE_ESDB_URL';

/** ErrorType values of @eventstore/db-client, literal so this module loads without grpc (a test pairs them). */
export const ESDB_ERROR_TYPES = {
  wrongExpectedVersion: 'wrong-expected-version',
  streamNotFound: 'stream-not-found',
  maxAppendSizeExceeded: 'maximum-append-size-exceeded',
  transient: ['unavailable', 'deadline-exceeded', 'timeout', 'not-leader'],
} as const;

type ExpectedRevision = bigint | 'no_stream';

export interface EventStoreEvent {
  id: string;
  contentType: 'application/octet-stream';
  type: string;
  data: Uint8Array;
  metadata: undefined;
}

/** The slice of @eventstore/db-client's client this backend uses; tests inject a fake. */
export interface EventStoreClientLike {
  appendToStream(stream: string, events: EventStoreEvent[], options: { expectedRevision: ExpectedRevision }): Promise<unknown>;
  readStream(
    stream: string,
    options: { fromRevision: bigint | 'start' | 'end'; direction: 'forwards' | 'backwards'; maxCount: number },
  ): AsyncIterable<{ event?: { revision: bigint; data: unknown } }>;
  dispose(): Promise<void>;
}

export interface EventStoreJournalOptions {
  instanceId: string;
  /** Default: process.env.EXCHANGE_ESDB_URL. Ignored when `client` is given. */
  connectionString?: string;
  client?: EventStoreClientLike;
  maxAppendBytes?: number;
  maxAppendsInFlight?: number;
  maxOutstandingRecords?: number;
}

export interface SealedRecord {
  firstSequence: number;
  lastSequence: number;
  body: Uint8Array;
}

export interface JournalBatch {
  firstSequence: number;
  lastSequence: number;
  /** Hash of the batch's last record: it commits to everything the batch and the chain before it hold. */
  headHash: Uint8Array;
  recordCount: number;
  payload: Uint8Array;
}

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false });

export function journalStreamName(instanceId: string): string {
  return `journal-${instanceId}`;
}

/** Deterministic v4-shaped UUID for the batch starting at firstSequence whose last record hash is headHash. */
export function batchEventId(instanceId: string, firstSequence: number, headHash: Uint8Array): string {
  return uuidFromDigest(createHash('sha256').update(`${instanceId}:${firstSequence}:`).update(headHash).digest());
}

/** A v4-shaped UUID from the first 16 bytes of a digest (deterministic event ids: a retry cannot duplicate). */
export function uuidFromDigest(digest: Buffer): string {
  digest[6] = (digest[6]! & 0x0f) | 0x40; // version 4
  digest[8] = (digest[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const hex = digest.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Splits sealed records, in order, into batches whose payload stays within maxPayloadBytes. */
export function packBatches(records: readonly SealedRecord[], maxPayloadBytes: number): JournalBatch[] {
  const batches: JournalBatch[] = [];
  let start = 0;
  let bytes = ESDB_BATCH_ENVELOPE_BYTES;
  for (let index = 0; index < records.length; index++) {
    const size = records[index]!.body.length + BIN_HEADER_BYTES_MAX;
    if (ESDB_BATCH_ENVELOPE_BYTES + size > maxPayloadBytes) {
      throw journalError('JOURNAL_BAD_RECORD', `record of ${size} bytes exceeds the append limit ${maxPayloadBytes}`, {
        sequence: records[index]!.firstSequence,
      });
    }
    if (index > start && bytes + size > maxPayloadBytes) {
      batches.push(packBatch(records.slice(start, index)));
      start = index;
      bytes = ESDB_BATCH_ENVELOPE_BYTES;
    }
    bytes += size;
  }
  if (start < records.length) batches.push(packBatch(records.slice(start)));
  return batches;
}

function packBatch(records: readonly SealedRecord[]): JournalBatch {
  const firstSequence = records[0]!.firstSequence;
  const last = records[records.length - 1]!;
  const payload = packr.pack([ESDB_BATCH_FORMAT_VERSION, firstSequence, last.lastSequence, records.map((record) => record.body)]);
  const headHash = last.body.subarray(last.body.length - HASH_BYTES); // every layout ends with the hash bytes
  return { firstSequence, lastSequence: last.lastSequence, headHash, recordCount: records.length, payload };
}

/** Decodes one batch event. Throws JOURNAL_CORRUPT naming the sequence where it fails. */
export function unpackBatch(payload: unknown, revision: bigint): JournalRecord[] {
  let fields: unknown;
  try {
    fields = payload instanceof Uint8Array ? unpackr.unpack(payload) : undefined;
  } catch {
    fields = undefined;
  }
  if (!Array.isArray(fields) || fields[0] !== ESDB_BATCH_FORMAT_VERSION || !Array.isArray(fields[3]) || typeof fields[1] !== 'number') {
    throw journalError('JOURNAL_CORRUPT', `event ${revision} is not a journal batch`);
  }
  const records: JournalRecord[] = [];
  let expected: number = fields[1];
  for (const body of fields[3] as unknown[]) {
    let record: JournalRecord;
    try {
      record = decodeRecord(body as Uint8Array);
    } catch (error) {
      throw journalError('JOURNAL_CORRUPT', (error as Error).message, { sequence: expected, cause: error });
    }
    if (record.firstSequence !== expected) {
      throw journalError('JOURNAL_CORRUPT', `event ${revision} holds ${record.firstSequence} where ${expected} belongs`, { sequence: expected });
    }
    records.push(record);
    expected = record.lastSequence + 1;
  }
  if (records.length === 0 || expected - 1 !== fields[2]) {
    throw journalError('JOURNAL_CORRUPT', `event ${revision} disagrees with its sequence range`, { sequence: fields[1] });
  }
  return records;
}

function errorType(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as { type?: string }).type : undefined;
}

/** A wrong expected version where the stream is BEHIND ours can only be our own reordered arrival. */
function streamIsBehind(error: unknown, expected: ExpectedRevision): boolean {
  const actual = (error as { actualVersion?: unknown }).actualVersion;
  if (expected === 'no_stream') return false;
  return actual === 'no_stream' || (typeof actual === 'bigint' && actual < expected);
}

function connect(connectionString: string | undefined): EventStoreClientLike {
  if (connectionString === undefined || connectionString === '') {
    throw journalError('JOURNAL_BAD_OPTION', `no connection string: pass connectionString or set ${ESDB_CONNECTION_ENV}`);
  }
  // Loaded here, not at the top: the client pulls in grpc, which sqlite-only processes should not load.
  const { EventStoreDBClient } = require('@eventstore/db-client') as typeof import('@eventstore/db-client');
  const client: EventStoreClientLike = EventStoreDBClient.connectionString(connectionString);
  return client;
}

interface InFlightBatch extends JournalBatch {
  expectedRevision: ExpectedRevision;
  state: 'queued' | 'sending' | 'retry' | 'done';
  attempts: number;
}

export class EventStoreJournal implements Journal {
  readonly stream: string;
  readonly instanceId: string;
  /** Also used for the sibling engine stream (eventstore-engine-stream.ts). */
  readonly client: EventStoreClientLike;
  private readonly ownsClient: boolean;
  private readonly maxPayloadBytes: number;
  private readonly maxInFlight: number;
  private readonly maxOutstanding: number;
  private readonly writer = new RecordWriter(RECORD_BYTES_MAX + HASH_BYTES);
  private readonly waiters = new DurabilityWaiters();
  private pending: JournalRecord[] = [];
  private unacknowledged: InFlightBatch[] = [];
  private outstandingRecords = 0;
  private inFlight = 0;
  private headHash = new Uint8Array(GENESIS_HASH);
  private nextSequence = NOTHING_DURABLE + 1;
  private durable = NOTHING_DURABLE;
  /** Revision of the newest acknowledged batch; -1 while the stream does not exist. */
  private acknowledgedRevision = -1n;
  /** Revision the next packed batch will take. */
  private nextRevision = 0n;
  private flushScheduled = false;
  private closed = false;
  private failure: JournalError | undefined;

  static async open(options: EventStoreJournalOptions): Promise<EventStoreJournal> {
    if (typeof options.instanceId !== 'string' || !/^[A-Za-z0-9_.-]{1,128}$/.test(options.instanceId)) {
      throw journalError('JOURNAL_BAD_OPTION', 'instanceId must be 1-128 characters of [A-Za-z0-9_.-]');
    }
    const client = options.client ?? connect(options.connectionString ?? process.env[ESDB_CONNECTION_ENV]);
    const journal = new EventStoreJournal(options, client, options.client === undefined);
    try {
      await journal.loadTail();
    } catch (error) {
      if (journal.ownsClient) await client.dispose();
      throw error;
    }
    return journal;
  }

  private constructor(options: EventStoreJournalOptions, client: EventStoreClientLike, ownsClient: boolean) {
    const positive = (value: number | undefined, fallback: number, name: string): number => {
      const chosen = value ?? fallback;
      if (!Number.isSafeInteger(chosen) || chosen < 1) throw journalError('JOURNAL_BAD_OPTION', `${name} must be a positive integer`);
      return chosen;
    };
    this.instanceId = options.instanceId;
    this.stream = journalStreamName(options.instanceId);
    this.client = client;
    this.ownsClient = ownsClient;
    const maxAppendBytes = positive(options.maxAppendBytes, ESDB_MAX_APPEND_BYTES, 'maxAppendBytes');
    this.maxPayloadBytes = maxAppendBytes - ESDB_APPEND_HEADROOM_BYTES;
    if (this.maxPayloadBytes < RECORD_BYTES_MAX + ESDB_BATCH_ENVELOPE_BYTES + BIN_HEADER_BYTES_MAX) {
      throw journalError('JOURNAL_BAD_OPTION', `maxAppendBytes ${maxAppendBytes} cannot hold the largest record`);
    }
    this.maxInFlight = positive(options.maxAppendsInFlight, ESDB_MAX_APPENDS_IN_FLIGHT, 'maxAppendsInFlight');
    this.maxOutstanding = positive(options.maxOutstandingRecords, ESDB_MAX_OUTSTANDING_RECORDS, 'maxOutstandingRecords');
  }

  append(records: JournalRecord[]): Promise<void> {
    try {
      this.checkWritable();
      const next = checkAppendable(records, this.nextSequence);
      if (this.outstandingRecords + records.length > this.maxOutstanding) {
        throw journalError('JOURNAL_BACKPRESSURE', `${this.outstandingRecords} records await acknowledgement (limit ${this.maxOutstanding})`);
      }
      for (const record of records) this.pending.push(record);
      this.outstandingRecords += records.length;
      this.nextSequence = next;
    } catch (error) {
      return Promise.reject(error);
    }
    const promise = this.waiters.wait(this.nextSequence - 1);
    this.waiters.resolveThrough(this.durable);
    this.scheduleFlush();
    return promise;
  }

  durableSequence(): number {
    return this.durable;
  }

  async *readFrom(sequence: number): AsyncGenerator<JournalRecord> {
    checkReadPosition(sequence);
    this.checkOpen();
    let revision = await this.revisionContaining(sequence);
    for (;;) {
      let read = 0;
      for await (const resolved of this.read(revision, 'forwards', ESDB_READ_PAGE_BATCHES)) {
        read++;
        revision = resolved.revision + 1n;
        for (const record of unpackBatch(resolved.data, resolved.revision)) if (record.lastSequence >= sequence) yield record;
      }
      if (read < ESDB_READ_PAGE_BATCHES) return;
      this.checkOpen();
    }
  }

  async tail(): Promise<JournalRecord | undefined> {
    this.checkOpen();
    for await (const resolved of this.read('end', 'backwards', 1)) {
      const records = unpackBatch(resolved.data, resolved.revision);
      return records[records.length - 1];
    }
    return undefined;
  }

  verify(): Promise<VerifyResult> {
    return verifyChainAsync(this.readFrom(0));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.failure === undefined && this.nextSequence - 1 > this.durable) await this.waiters.wait(this.nextSequence - 1);
    } finally {
      this.closed = true;
      if (this.ownsClient) await this.client.dispose();
    }
  }

  private checkOpen(): void {
    if (this.closed) throw journalError('JOURNAL_CLOSED', 'the journal is closed');
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.failure !== undefined) throw this.failure;
  }

  /** Reads the newest batch: sets the head hash, sequences and revision; checks the batch's chain. */
  private async loadTail(): Promise<void> {
    for await (const resolved of this.read('end', 'backwards', 1)) {
      const records = unpackBatch(resolved.data, resolved.revision);
      const first = records[0]!;
      const verifier = new ChainVerifier({ firstSequence: first.firstSequence, previousHash: first.previousHash });
      for (const record of records) verifier.check(record);
      const result = verifier.result();
      if (!result.ok) {
        throw journalError('JOURNAL_CORRUPT', `newest batch: ${result.reason} at ${result.firstBadSequence}`, { sequence: result.firstBadSequence });
      }
      this.headHash = new Uint8Array(result.headHash);
      this.durable = result.lastSequence;
      this.nextSequence = result.lastSequence + 1;
      this.acknowledgedRevision = resolved.revision;
      this.nextRevision = resolved.revision + 1n;
    }
  }

  /** Events of the stream as (revision, data); an absent stream reads as empty. */
  private async *read(
    from: bigint | 'end',
    direction: 'forwards' | 'backwards',
    maxCount: number,
  ): AsyncGenerator<{ revision: bigint; data: unknown }> {
    try {
      for await (const resolved of this.client.readStream(this.stream, { fromRevision: from, direction, maxCount })) {
        if (resolved.event !== undefined) yield resolved.event;
      }
    } catch (error) {
      if (errorType(error) === ESDB_ERROR_TYPES.streamNotFound) return;
      throw error;
    }
  }

  /** Binary search over revisions for the batch holding `sequence` (batches are in sequence order). */
  private async revisionContaining(sequence: number): Promise<bigint> {
    let low = 0n;
    let high = this.acknowledgedRevision;
    while (low < high) {
      const middle = (low + high + 1n) / 2n;
      let first = Number.POSITIVE_INFINITY;
      for await (const resolved of this.read(middle, 'forwards', 1)) first = unpackBatch(resolved.data, resolved.revision)[0]!.firstSequence;
      if (first <= sequence) low = middle;
      else high = middle - 1n;
    }
    return low;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.pending.length === 0) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.failure === undefined) this.flush();
    });
  }

  /** Seals everything queued since the last flush into batches with consecutive expected revisions. */
  private flush(): void {
    const sealed: SealedRecord[] = [];
    for (const record of this.pending) {
      this.writer.reset();
      const start = sealRecord(this.writer, record, this.headHash);
      this.headHash.set(record.hash);
      sealed.push({ firstSequence: record.firstSequence, lastSequence: record.lastSequence, body: Buffer.from(this.writer.bytes.subarray(start, this.writer.position)) });
    }
    this.pending = [];
    let batches: JournalBatch[];
    try {
      batches = packBatches(sealed, this.maxPayloadBytes);
    } catch (error) {
      this.fail(error as JournalError);
      return;
    }
    for (const batch of batches) {
      const expectedRevision: ExpectedRevision = this.nextRevision === 0n ? 'no_stream' : this.nextRevision - 1n;
      this.nextRevision++;
      this.unacknowledged.push({ ...batch, expectedRevision, state: 'queued', attempts: 0 });
    }
    this.pump();
  }

  /** Sends queued batches up to the in-flight limit; a batch to retry waits until it is the oldest. */
  private pump(): void {
    for (const batch of this.unacknowledged) {
      if (this.inFlight >= this.maxInFlight || this.failure !== undefined) return;
      if (batch.state === 'queued' || (batch.state === 'retry' && batch === this.unacknowledged[0])) this.send(batch);
    }
  }

  private send(batch: InFlightBatch): void {
    batch.state = 'sending';
    batch.attempts++;
    this.inFlight++;
    const event: EventStoreEvent = {
      id: batchEventId(this.instanceId, batch.firstSequence, batch.headHash),
      contentType: 'application/octet-stream',
      type: ESDB_EVENT_TYPE,
      data: batch.payload,
      metadata: undefined,
    };
    this.client.appendToStream(this.stream, [event], { expectedRevision: batch.expectedRevision }).then(
      () => this.acknowledged(batch),
      (error: unknown) => this.rejected(batch, error),
    );
  }

  private acknowledged(batch: InFlightBatch): void {
    this.inFlight--;
    batch.state = 'done';
    while (this.unacknowledged[0]?.state === 'done') {
      const done = this.unacknowledged.shift()!;
      this.durable = done.lastSequence;
      this.outstandingRecords -= done.recordCount;
      this.acknowledgedRevision = done.expectedRevision === 'no_stream' ? 0n : done.expectedRevision + 1n;
    }
    this.waiters.resolveThrough(this.durable);
    this.pump();
  }

  private rejected(batch: InFlightBatch, error: unknown): void {
    this.inFlight--;
    if (this.failure !== undefined) return;
    const type = errorType(error);
    const canRetry = batch.attempts < ESDB_MAX_APPEND_ATTEMPTS;
    if (type === ESDB_ERROR_TYPES.wrongExpectedVersion) {
      if (canRetry && streamIsBehind(error, batch.expectedRevision)) {
        batch.state = 'retry'; // our own earlier batch has not landed yet: resend once it has
        this.pump();
        return;
      }
      this.fail(journalError('JOURNAL_FENCED', `another writer appended to ${this.stream}`, { sequence: batch.firstSequence, cause: error }));
      return;
    }
    if (canRetry && (ESDB_ERROR_TYPES.transient as readonly (string | undefined)[]).includes(type)) {
      batch.state = 'retry'; // same id and expected revision: idempotent if the first attempt landed
      setTimeout(() => this.pump(), ESDB_RETRY_DELAY_MS * batch.attempts);
      return;
    }
    const detail = type === ESDB_ERROR_TYPES.maxAppendSizeExceeded ? 'the server max append size is below maxAppendBytes' : String(error);
    this.fail(journalError('JOURNAL_WRITE_FAILED', detail, { sequence: batch.firstSequence, cause: error }));
  }

  private fail(error: JournalError): void {
    this.failure = isJournalError(error) ? error : journalError('JOURNAL_WRITE_FAILED', String(error), { cause: error });
    this.pending = [];
    this.unacknowledged = [];
    this.waiters.rejectAll(this.failure);
  }
}
