/**
 * Journal archive: a closed sequence range exported to one compressed file, verifiable on its
 * own with the same chain verifier as a live journal.
 *
 *   "EXJA" | header length (u32 LE) | header | compressed content
 *   header  = msgpack [ARCHIVE_FORMAT_VERSION, compression, firstSequence, lastSequence,
 *             recordCount, previousHash, headHash, contentSha256, contentBytes]
 *   content = msgpack array of encoded records (record-codec bytes, hashes included)
 *
 * previousHash anchors the first record to the chain before it; headHash is the last record's
 * hash, so an archive can be checked against the live journal or the next archive.
 * contentSha256 covers the uncompressed content; contentBytes bounds decompression.
 */
import { createHash } from 'node:crypto';
import { open, readFile, rename } from 'node:fs/promises';
import { brotliCompressSync, brotliDecompressSync, constants as zlib, gunzipSync, gzipSync } from 'node:zlib';
import { Packr, Unpackr } from 'msgpackr';
import { FIRST_SEQUENCE, HASH_BYTES, JournalRecord } from './journal-record';
import { decodeRecord, encodeRecord } from './record-codec';
import { ChainAnchor, ChainVerifier, VerifyResult, verifyChain } from './hash-chain';
import { isJournalError, Journal, journalError } from './journal';
import { decodeDeclaration, EngineDeclaration, encodeDeclaration } from './engine-declaration';

export const ARCHIVE_MAGIC = Buffer.from('EXJA', 'latin1');
export const ARCHIVE_FORMAT_VERSION = 1;
/** Archives are built and read in memory: bounded per file (split larger ranges). */
export const ARCHIVE_MAX_CONTENT_BYTES = 256 << 20;
export const ARCHIVE_MAX_HEADER_BYTES = 4096;
/** Brotli quality 5: float64 payloads gain a few percent at 11 for ~50× the CPU. */
export const ARCHIVE_BROTLI_QUALITY = 5;
const PREFIX_BYTES = ARCHIVE_MAGIC.length + 4;

export type ArchiveCompression = 'brotli' | 'gzip';

export interface ArchiveHeader {
  formatVersion: number;
  compression: ArchiveCompression;
  firstSequence: number;
  lastSequence: number;
  recordCount: number;
  previousHash: Uint8Array;
  headHash: Uint8Array;
  contentSha256: Uint8Array;
  contentBytes: number;
  /** The engine options of the journal it came from (risk, limits, semantics), when known; absent in older archives. */
  engine?: EngineDeclaration;
}

/** What exporting reads: any journal, or a read-only view of one (`exchange-audit export`). */
export type ArchiveSourceJournal = Pick<Journal, 'readFrom' | 'durableSequence'>;

export interface ExportArchiveOptions {
  /** Inclusive range; the archive holds every record touching it (whole records). */
  fromSequence: number;
  toSequence: number;
  path: string;
  compression?: ArchiveCompression;
  /** Recorded in the header so that re-executing the archive needs no flags. */
  engine?: EngineDeclaration;
}

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false });

const sha256 = (bytes: Uint8Array): Uint8Array => createHash('sha256').update(bytes).digest();

/** Writes the records covering [fromSequence, toSequence] (durable, chain-checked) to `path` atomically. */
export async function exportArchive(journal: ArchiveSourceJournal, options: ExportArchiveOptions): Promise<ArchiveHeader> {
  const { fromSequence, toSequence } = options;
  if (!Number.isSafeInteger(fromSequence) || fromSequence < FIRST_SEQUENCE || !Number.isSafeInteger(toSequence) || toSequence < fromSequence) {
    throw journalError('JOURNAL_BAD_OPTION', `bad archive range [${fromSequence}, ${toSequence}]`);
  }
  if (toSequence > journal.durableSequence()) {
    throw journalError('JOURNAL_BAD_OPTION', `range ends at ${toSequence}, past the durable sequence ${journal.durableSequence()}`);
  }
  const bodies: Uint8Array[] = [];
  let verifier: ChainVerifier | undefined;
  let first: JournalRecord | undefined;
  let last: JournalRecord | undefined;
  let contentBytes = 0;
  for await (const record of journal.readFrom(fromSequence)) {
    first ??= record;
    verifier ??= new ChainVerifier({ firstSequence: record.firstSequence, previousHash: record.previousHash });
    if (!verifier.check(record)) break;
    const body = encodeRecord(record);
    contentBytes += body.length;
    if (contentBytes > ARCHIVE_MAX_CONTENT_BYTES) throw journalError('JOURNAL_BAD_OPTION', `range exceeds ${ARCHIVE_MAX_CONTENT_BYTES} bytes: split it`);
    bodies.push(body);
    last = record;
    if (record.lastSequence >= toSequence) break;
  }
  const checked = verifier?.result();
  if (checked !== undefined && !checked.ok) {
    throw journalError('JOURNAL_CORRUPT', `cannot archive a broken chain: ${checked.reason}`, { sequence: checked.firstBadSequence });
  }
  if (first === undefined || last === undefined || last.lastSequence < toSequence) {
    throw journalError('JOURNAL_BAD_OPTION', `journal does not hold [${fromSequence}, ${toSequence}]`);
  }
  const content = packr.pack(bodies);
  const compression = options.compression ?? 'brotli';
  const header: ArchiveHeader = {
    formatVersion: ARCHIVE_FORMAT_VERSION, compression, firstSequence: first.firstSequence, lastSequence: last.lastSequence,
    recordCount: bodies.length, previousHash: first.previousHash, headHash: last.hash, contentSha256: sha256(content),
    contentBytes: content.length, ...(options.engine === undefined ? {} : { engine: options.engine }),
  };
  await writeAtomically(options.path, [...prefixAndHeader(header), compress(content, compression)]);
  return header;
}

function prefixAndHeader(header: ArchiveHeader): Uint8Array[] {
  const fields: unknown[] = [
    header.formatVersion, header.compression, header.firstSequence, header.lastSequence, header.recordCount,
    header.previousHash, header.headHash, header.contentSha256, header.contentBytes,
  ];
  if (header.engine !== undefined) fields.push(encodeDeclaration(header.engine)); // a 10th field: readers of 9 stay valid
  const encoded = packr.pack(fields);
  const prefix = Buffer.alloc(PREFIX_BYTES);
  ARCHIVE_MAGIC.copy(prefix, 0);
  prefix.writeUInt32LE(encoded.length, ARCHIVE_MAGIC.length);
  return [prefix, encoded];
}

function compress(content: Uint8Array, compression: ArchiveCompression): Uint8Array {
  if (compression === 'gzip') return gzipSync(content);
  return brotliCompressSync(content, { params: { [zlib.BROTLI_PARAM_QUALITY]: ARCHIVE_BROTLI_QUALITY, [zlib.BROTLI_PARAM_SIZE_HINT]: content.length } });
}

/** tmp file, fsync, rename: a crash leaves either no archive or a whole one. */
async function writeAtomically(path: string, parts: Uint8Array[]): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}`;
  const file = await open(temporary, 'w');
  try {
    for (const part of parts) await file.write(part);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
}

function parseHeader(file: Buffer): { header: ArchiveHeader; bodyStart: number } {
  if (file.length < PREFIX_BYTES || !file.subarray(0, ARCHIVE_MAGIC.length).equals(ARCHIVE_MAGIC)) {
    throw journalError('JOURNAL_CORRUPT', 'not a journal archive (bad magic)');
  }
  const headerBytes = file.readUInt32LE(ARCHIVE_MAGIC.length);
  if (headerBytes > ARCHIVE_MAX_HEADER_BYTES || PREFIX_BYTES + headerBytes > file.length) throw journalError('JOURNAL_CORRUPT', 'bad archive header length');
  let fields: unknown;
  try {
    fields = unpackr.unpack(file.subarray(PREFIX_BYTES, PREFIX_BYTES + headerBytes));
  } catch (error) {
    throw journalError('JOURNAL_CORRUPT', `undecodable archive header: ${(error as Error).message}`);
  }
  const f = fields as unknown[];
  const isHash = (value: unknown) => value instanceof Uint8Array && value.length === HASH_BYTES;
  if (!Array.isArray(f) || f[0] !== ARCHIVE_FORMAT_VERSION || (f[1] !== 'brotli' && f[1] !== 'gzip') || ![2, 3, 4, 8].every((i) => Number.isSafeInteger(f[i]))
    || !isHash(f[5]) || !isHash(f[6]) || !isHash(f[7]) || (f[8] as number) > ARCHIVE_MAX_CONTENT_BYTES
    || (f.length !== 9 && !(f.length === 10 && typeof f[9] === 'string'))) {
    throw journalError('JOURNAL_CORRUPT', 'malformed archive header');
  }
  let engine: EngineDeclaration | undefined;
  try {
    engine = f.length === 10 ? decodeDeclaration(f[9] as string) : undefined;
  } catch (error) {
    throw journalError('JOURNAL_CORRUPT', `archive header: ${(error as Error).message}`);
  }
  const header: ArchiveHeader = {
    formatVersion: f[0] as number, compression: f[1] as ArchiveCompression, firstSequence: f[2] as number, lastSequence: f[3] as number,
    recordCount: f[4] as number, previousHash: new Uint8Array(f[5] as Uint8Array), headHash: new Uint8Array(f[6] as Uint8Array),
    contentSha256: new Uint8Array(f[7] as Uint8Array), contentBytes: f[8] as number, ...(engine === undefined ? {} : { engine }),
  };
  return { header, bodyStart: PREFIX_BYTES + headerBytes };
}

export async function readArchiveHeader(path: string): Promise<ArchiveHeader> {
  return parseHeader(await readFile(path)).header;
}

interface LoadedArchive {
  header: ArchiveHeader;
  records: JournalRecord[];
  /** Whether the uncompressed content matches header.contentSha256. */
  contentIntact: boolean;
}

/** Reads, decompresses (bounded by contentBytes) and decodes an archive. Throws JOURNAL_CORRUPT. */
async function loadArchive(path: string): Promise<LoadedArchive> {
  const file = await readFile(path);
  const { header, bodyStart } = parseHeader(file);
  let content: Buffer;
  try {
    const compressed = file.subarray(bodyStart);
    const limit = { maxOutputLength: Math.max(1, header.contentBytes) };
    content = header.compression === 'gzip' ? gunzipSync(compressed, limit) : brotliDecompressSync(compressed, limit);
  } catch (error) {
    throw journalError('JOURNAL_CORRUPT', `archive content does not decompress: ${(error as Error).message}`, { sequence: header.firstSequence });
  }
  const contentIntact = Buffer.from(sha256(content)).equals(header.contentSha256);
  return { header, records: decodeContent(content, header), contentIntact };
}

/**
 * Yields the archive's records. The content hash is checked before the first record; on a
 * mismatch the chain locates the first damaged record and JOURNAL_CORRUPT names its sequence.
 */
export async function* readArchive(path: string): AsyncGenerator<JournalRecord> {
  const { header, records, contentIntact } = await loadArchive(path);
  if (!contentIntact) {
    const located = verifyChain(records, anchorOf(header));
    const sequence = located.ok ? header.firstSequence : located.firstBadSequence;
    throw journalError('JOURNAL_CORRUPT', 'archive content hash mismatch', { sequence });
  }
  yield* records;
}

/** Chain from the header's anchor, content hash, and agreement of the header with the records. */
export async function verifyArchive(path: string): Promise<VerifyResult> {
  let loaded: LoadedArchive;
  try {
    loaded = await loadArchive(path);
  } catch (error) {
    if (!isJournalError(error, 'JOURNAL_CORRUPT')) throw error;
    return { ok: false, firstBadSequence: error.sequence ?? 0, reason: 'BAD_FORMAT', detail: error.message };
  }
  const { header, records, contentIntact } = loaded;
  const result = verifyChain(records, anchorOf(header));
  if (!result.ok) return result;
  if (!contentIntact) return { ok: false, firstBadSequence: header.firstSequence, reason: 'BAD_FORMAT', detail: 'content hash differs from the header' };
  if (result.count !== header.recordCount || result.lastSequence !== header.lastSequence) {
    return { ok: false, firstBadSequence: result.lastSequence + 1, reason: 'SEQUENCE_GAP', detail: 'archive holds fewer records than its header says' };
  }
  if (!Buffer.from(result.headHash).equals(header.headHash)) {
    return { ok: false, firstBadSequence: header.lastSequence, reason: 'HASH_MISMATCH', detail: 'head hash differs from the header' };
  }
  return result;
}

function anchorOf(header: ArchiveHeader): ChainAnchor {
  return { firstSequence: header.firstSequence, previousHash: header.previousHash };
}

/** Decodes every record, tracking the expected sequence so an undecodable body is named. */
function decodeContent(content: Buffer, header: ArchiveHeader): JournalRecord[] {
  let bodies: unknown;
  try {
    bodies = unpackr.unpack(content);
  } catch (error) {
    throw journalError('JOURNAL_CORRUPT', `undecodable archive content: ${(error as Error).message}`, { sequence: header.firstSequence });
  }
  if (!Array.isArray(bodies)) throw journalError('JOURNAL_CORRUPT', 'archive content is not a list of records', { sequence: header.firstSequence });
  const records: JournalRecord[] = [];
  let expected = header.firstSequence;
  for (const body of bodies) {
    try {
      records.push(decodeRecord(body as Uint8Array));
    } catch (error) {
      throw journalError('JOURNAL_CORRUPT', (error as Error).message, { sequence: expected });
    }
    expected = records[records.length - 1]!.lastSequence + 1;
  }
  return records;
}
