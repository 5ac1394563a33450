/**
 * Hash chain: record.hash = SHA-256(previousHash || encoded record without its hash field),
 * previousHash of the first record = 32 zero bytes. Any altered, torn, missing or reordered
 * record breaks the chain at a named sequence number.
 */
import { FIRST_SEQUENCE, HASH_BYTES, JournalRecord, recordShapeFault } from './journal-record';
import { encodeRecord, HASH_FIELD_BYTES, RecordWriter } from './record-codec';
import { isJournalError } from './journal';
import { sha256 } from './chain-hasher';

/** previousHash of the first record. Never mutated: copy before storing. */
export const GENESIS_HASH: Readonly<Uint8Array> = new Uint8Array(HASH_BYTES);

export type ChainFaultReason = 'HASH_MISMATCH' | 'SEQUENCE_GAP' | 'BAD_FORMAT' | 'PREVIOUS_HASH_MISMATCH';

export type VerifyResult =
  | { ok: true; headHash: Uint8Array; count: number; lastSequence: number }
  | { ok: false; firstBadSequence: number; reason: ChainFaultReason; detail: string };

/** Where a verified stretch starts: sequence 1 after genesis, or mid-chain for archives. */
export interface ChainAnchor {
  firstSequence: number;
  previousHash: Uint8Array;
}
export const GENESIS_ANCHOR: Readonly<ChainAnchor> = { firstSequence: FIRST_SEQUENCE, previousHash: GENESIS_HASH };


/** Hash of an encoded record (any version) given the previous hash. Cold path: allocates. */
export function recordHash(previousHash: Uint8Array, encoded: Uint8Array): Uint8Array {
  const hashed = new Uint8Array(HASH_BYTES + encoded.length - HASH_FIELD_BYTES);
  hashed.set(previousHash, 0);
  hashed.set(encoded.subarray(0, encoded.length - HASH_FIELD_BYTES), HASH_BYTES);
  return sha256(hashed);
}

/**
 * Hot path: writes previousHash then the v1 record into the writer, hashes the contiguous
 * bytes previousHash || record-without-hash-field in place, and fills the hash into both the
 * encoded bytes and the record. Returns the record's start; its end is writer.position.
 */
export function sealRecord(writer: RecordWriter, record: JournalRecord, previousHash: Uint8Array): number {
  record.previousHash.set(previousHash);
  const hashedStart = writer.position;
  writer.writeRaw(previousHash);
  const start = writer.writeRecord(record);
  const hashEnd = writer.position;
  const digest = sha256(writer.bytes.subarray(hashedStart, hashEnd - HASH_FIELD_BYTES));
  writer.bytes.set(digest, hashEnd - HASH_BYTES);
  record.hash.set(digest);
  return start;
}

/** Fills previousHash/hash of records in order (any version); returns the new head hash. */
export function chainRecords(records: Iterable<JournalRecord>, previousHash: Uint8Array = GENESIS_HASH): Uint8Array {
  let head = new Uint8Array(previousHash);
  for (const record of records) {
    record.previousHash.set(head);
    record.hash.set(recordHash(head, encodeRecord(record)));
    head = new Uint8Array(record.hash);
  }
  return head;
}

function equalBytes(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  for (let index = 0; index < left.length; index++) if (left[index] !== right[index]) return false;
  return true;
}

/** Checks records one by one; the first fault is final. */
export class ChainVerifier {
  private expectedSequence: number;
  private headHash: Uint8Array;
  private count = 0;
  private fault: VerifyResult | undefined;

  constructor(anchor: ChainAnchor = GENESIS_ANCHOR) {
    this.expectedSequence = anchor.firstSequence;
    this.headHash = new Uint8Array(anchor.previousHash);
  }

  get failed(): boolean {
    return this.fault !== undefined;
  }

  /** Returns false once the chain is broken (stop feeding it). */
  check(record: JournalRecord): boolean {
    if (this.fault !== undefined) return false;
    const shapeFault = recordShapeFault(record);
    if (shapeFault !== undefined) return this.fail(this.expectedSequence, 'BAD_FORMAT', shapeFault);
    if (record.firstSequence !== this.expectedSequence) {
      return this.fail(this.expectedSequence, 'SEQUENCE_GAP', `expected ${this.expectedSequence}, found a record at ${record.firstSequence}`);
    }
    if (!equalBytes(record.previousHash, this.headHash)) {
      return this.fail(record.firstSequence, 'PREVIOUS_HASH_MISMATCH', 'previousHash differs from the preceding record hash');
    }
    let computed: Uint8Array;
    try {
      computed = recordHash(this.headHash, encodeRecord(record));
    } catch (error) {
      return this.fail(record.firstSequence, 'BAD_FORMAT', (error as Error).message);
    }
    if (!equalBytes(computed, record.hash)) return this.fail(record.firstSequence, 'HASH_MISMATCH', 'stored hash differs from the recomputed one');
    this.headHash = new Uint8Array(record.hash);
    this.expectedSequence = record.lastSequence + 1;
    this.count++;
    return true;
  }

  /** Records an undecodable record; `sequence` defaults to the next expected one. */
  fail(sequence: number | undefined, reason: ChainFaultReason, detail: string): false {
    this.fault ??= { ok: false, firstBadSequence: sequence ?? this.expectedSequence, reason, detail };
    return false;
  }

  result(): VerifyResult {
    return this.fault ?? { ok: true, headHash: new Uint8Array(this.headHash), count: this.count, lastSequence: this.expectedSequence - 1 };
  }
}

/** Verifies records in order. A JOURNAL_CORRUPT thrown by the source becomes BAD_FORMAT at its sequence. */
export function verifyChain(records: Iterable<JournalRecord>, anchor?: ChainAnchor): VerifyResult {
  const verifier = new ChainVerifier(anchor);
  try {
    for (const record of records) if (!verifier.check(record)) break;
  } catch (error) {
    if (!isJournalError(error, 'JOURNAL_CORRUPT')) throw error;
    verifier.fail(error.sequence, 'BAD_FORMAT', error.message);
  }
  return verifier.result();
}

export async function verifyChainAsync(
  records: AsyncIterable<JournalRecord> | Iterable<JournalRecord>,
  anchor?: ChainAnchor,
): Promise<VerifyResult> {
  const verifier = new ChainVerifier(anchor);
  try {
    for await (const record of records) if (!verifier.check(record)) break;
  } catch (error) {
    if (!isJournalError(error, 'JOURNAL_CORRUPT')) throw error;
    verifier.fail(error.sequence, 'BAD_FORMAT', error.message);
  }
  return verifier.result();
}
