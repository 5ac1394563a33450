/**
 * Chain verification of stored record bodies, as they come out of the sqlite file, without
 * decoding them into objects: the same rules, order of checks, reasons and sequence numbers
 * as the journal's ChainVerifier and SqliteJournal's row decoding:
 *
 *   BAD_FORMAT              the body does not decode, breaks the record shape rules, or
 *                           disagrees with its row's columns            (the row's first_seq)
 *   SEQUENCE_GAP            the record does not start where the last one ended (expected seq)
 *   PREVIOUS_HASH_MISMATCH  its previousHash is not the preceding record's hash
 *   HASH_MISMATCH           SHA-256(previousHash || body without its hash field) differs
 *                           from the stored hash (journal/hash-chain.ts recordHash; a test
 *                           holds StoredRecordHasher equal to it)
 *
 * Hashing the stored bytes directly (instead of re-encoding a decoded record) is both
 * cheaper and at least as strict: for the canonical encoding the two are the same bytes.
 */
import { ChainAnchor, ChainFaultReason, GENESIS_ANCHOR, VerifyResult } from '../journal/hash-chain';
import { HASH_BYTES } from '../journal/journal-record';
import { HASH_FIELD_BYTES } from '../journal/record-codec';
import { ChainLinkHasher, verifyEncodedRecords } from '../journal/chain-hasher';
import { parseRecordBody, RecordBody } from './replay-page';

/**
 * recordHash of journal/hash-chain.ts — SHA-256(previousHash || stored body without its hash
 * field) — in reused memory (journal/chain-hasher.ts) instead of a fresh buffer per record.
 * The digest returned is valid until the next call.
 */
export class StoredRecordHasher {
  /** Also checks runs of records in one call (BodyChainVerifier.settle). */
  readonly link = new ChainLinkHasher();

  hash(previousHash: Uint8Array, stored: Uint8Array): Uint8Array {
    this.link.setHead(previousHash);
    return this.link.digest(stored, 0, stored.length - HASH_FIELD_BYTES);
  }
}

export interface StoredRow {
  firstSequence: number;
  lastSequence: number;
  timestampMicros: number;
  body: Uint8Array;
}

function equal32(a: Uint8Array, aAt: number, b: Uint8Array, bAt: number): boolean {
  for (let i = 0; i < HASH_BYTES; i++) if (a[aAt + i] !== b[bAt + i]) return false;
  return true;
}

/**
 * 'first-record' anchors the chain on the first record checked (its own firstSequence and
 * stored previousHash), for a stretch whose link to what precedes it is checked by the
 * caller (the parallel reader: each worker verifies its ranges, the replaying thread the
 * joints between them). The first record's own hash is still verified.
 */
export type BodyChainAnchor = ChainAnchor | 'first-record';

/** Records whose hashes one settle() checks together (bounds the deferred arrays). */
export const DEFERRED_RECORDS_MAX = 4096;

/**
 * Two ways to feed it, with the same verdicts:
 *  - check(row): each record's hash is checked at once (rows in separate buffers);
 *  - checkIn(row, bytes, start, end) with the body at bytes[start..end): the structural checks
 *    run at once, the hashes of a run of records in one native call (journal/chain-hasher.ts)
 *    at settle(), when the arena changes, or every DEFERRED_RECORDS_MAX records. A record's
 *    previousHash is compared with the preceding record's STORED hash; if that stored hash is
 *    wrong, settle() reports the earlier record first, so the first fault is still the one a
 *    record-by-record check names. Until settle() the records returned are provisional: after
 *    it, `verified` says how many of them (since construction) passed.
 */
export class BodyChainVerifier {
  private expectedSequence = 0;
  private readonly headHash = new Uint8Array(HASH_BYTES);
  private anchored: boolean;
  private count = 0;
  private fault: VerifyResult | undefined;
  private readonly hasher = new StoredRecordHasher();
  /** Deferred mode: the hash of the last record whose hash was computed (what settle() chains from). */
  private readonly settledHead = new Uint8Array(HASH_BYTES);
  private deferredBytes: Uint8Array | undefined;
  private readonly deferredBounds = new Uint32Array(2 * DEFERRED_RECORDS_MAX);
  private readonly deferredFirst = new Float64Array(DEFERRED_RECORDS_MAX);
  private deferred = 0;
  /** previousHash of the first record verified (the stretch's link to the record before it). */
  readonly firstPreviousHash = new Uint8Array(HASH_BYTES);

  /**
   * `lazyWords`: a v2 body's packed words are not counted here but decoded by the caller right
   * after (PageBuilder.add), who reports a failure through rejectLast.
   */
  constructor(anchor: BodyChainAnchor = GENESIS_ANCHOR, private readonly lazyWords = false) {
    this.anchored = anchor !== 'first-record';
    if (anchor !== 'first-record') {
      this.expectedSequence = anchor.firstSequence;
      this.headHash.set(anchor.previousHash);
    }
  }

  get failed(): boolean {
    return this.fault !== undefined;
  }

  /** Records accepted so far (after settle(): verified, hashes included). */
  get verified(): number {
    return this.count;
  }

  /** The parsed record if it continues the chain; undefined once the chain is broken. */
  check(row: StoredRow): RecordBody | undefined {
    if (this.deferred > 0 && !this.settle()) return undefined;
    const record = this.checkStructure(row);
    if (record === undefined) return undefined;
    const computed = this.hasher.hash(this.headHash, row.body);
    if (!equal32(computed, 0, record.bytes, record.hashOffset)) return this.fail(record.firstSequence, 'HASH_MISMATCH', 'stored hash differs from the recomputed one');
    this.headHash.set(computed);
    this.expectedSequence = record.lastSequence + 1;
    this.count++;
    return record;
  }

  /** check() with the hash deferred to settle(); row.body must be bytes.subarray(start, end). */
  checkIn(row: StoredRow, bytes: Uint8Array, start: number, end: number): RecordBody | undefined {
    if (this.fault !== undefined) return undefined;
    if (this.deferred > 0 && (bytes !== this.deferredBytes || this.deferred === DEFERRED_RECORDS_MAX) && !this.settle()) return undefined;
    if (this.deferred === 0) this.settledHead.set(this.headHash);
    const record = this.checkStructure(row);
    if (record === undefined) return undefined;
    this.deferredBytes = bytes;
    this.deferredBounds[2 * this.deferred] = start;
    this.deferredBounds[2 * this.deferred + 1] = end;
    this.deferredFirst[this.deferred] = record.firstSequence;
    this.deferred++;
    // Provisionally the stored hash: the next record's previousHash must equal it.
    for (let i = 0; i < HASH_BYTES; i++) this.headHash[i] = record.bytes[record.hashOffset + i]!;
    this.expectedSequence = record.lastSequence + 1;
    this.count++;
    return record;
  }

  /**
   * Takes back the record checkIn just accepted, whose words did not decode (lazyWords): BAD_FORMAT
   * at it, unless a deferred earlier record's hash fails first.
   */
  rejectLast(sequence: number, detail: string): void {
    if (this.deferred > 0) this.deferred--;
    this.count--;
    this.failAfterSettle(sequence, 'BAD_FORMAT', detail);
  }

  /** Checks the deferred hashes; false (and the fault recorded) if one differs. */
  settle(): boolean {
    const pending = this.deferred;
    if (pending === 0) return this.fault === undefined;
    this.deferred = 0;
    const passed = verifyEncodedRecords(this.deferredBytes!, this.deferredBounds, pending, this.settledHead, this.hasher.link);
    this.deferredBytes = undefined;
    if (passed === pending) return true;
    this.count -= pending - passed;
    this.headHash.set(this.settledHead);
    this.fault = undefined; // an earlier record's hash outranks a later structural fault
    this.fail(this.deferredFirst[passed]!, 'HASH_MISMATCH', 'stored hash differs from the recomputed one');
    return false;
  }

  /** Parse, columns, anchoring, sequence and previousHash checks of one row. */
  private checkStructure(row: StoredRow): RecordBody | undefined {
    if (this.fault !== undefined) return undefined;
    let record: RecordBody;
    try {
      record = parseRecordBody(row.body, !this.lazyWords);
    } catch (error) {
      return this.failAfterSettle(row.firstSequence, 'BAD_FORMAT', (error as Error).message);
    }
    if (record.firstSequence !== row.firstSequence || record.lastSequence !== row.lastSequence || record.timestampMicros !== row.timestampMicros) {
      return this.failAfterSettle(row.firstSequence, 'BAD_FORMAT', `body of row ${row.firstSequence} disagrees with its columns`);
    }
    if (!this.anchored) {
      this.anchored = true;
      this.expectedSequence = record.firstSequence;
      this.headHash.set(record.bytes.subarray(record.previousHashOffset, record.previousHashOffset + HASH_BYTES)); // a copy: Buffer.slice would be a view
      this.settledHead.set(this.headHash);
    }
    if (this.count === 0) this.firstPreviousHash.set(record.bytes.subarray(record.previousHashOffset, record.previousHashOffset + HASH_BYTES));
    if (record.firstSequence !== this.expectedSequence) {
      return this.failAfterSettle(this.expectedSequence, 'SEQUENCE_GAP', `expected ${this.expectedSequence}, found a record at ${record.firstSequence}`);
    }
    if (!equal32(record.bytes, record.previousHashOffset, this.headHash, 0)) {
      return this.failAfterSettle(record.firstSequence, 'PREVIOUS_HASH_MISMATCH', 'previousHash differs from the preceding record hash');
    }
    return record;
  }

  /** A fault found now is reported only if no deferred (earlier) record's hash fails first. */
  private failAfterSettle(sequence: number, reason: ChainFaultReason, detail: string): undefined {
    if (this.settle()) this.fail(sequence, reason, detail);
    return undefined;
  }

  fail(sequence: number | undefined, reason: ChainFaultReason, detail: string): undefined {
    this.fault ??= { ok: false, firstBadSequence: sequence ?? this.expectedSequence, reason, detail };
    return undefined;
  }

  result(): VerifyResult {
    this.settle();
    return this.fault ?? { ok: true, headHash: new Uint8Array(this.headHash), count: this.count, lastSequence: this.expectedSequence - 1 };
  }
}
