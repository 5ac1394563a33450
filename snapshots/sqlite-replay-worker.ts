/**
 * One reader thread of the sqlite replay feed (started by sqlite-replay-feed.ts). Reads the
 * journal file through its own read-only connection, range by range: this reader owns the
 * sequence ranges index, index + readers, index + 2·readers, ... of RANGE_EVENTS each. Within
 * a range it verifies the hash chain (BodyChainVerifier anchored on the range's first record,
 * hashes checked a run of records per native call; the replaying thread checks the joints between ranges), packs the
 * verified records into a replay page and transfers it. It runs at most `readAhead` ranges
 * ahead of the replaying thread (credit-based: one credit per range taken).
 *
 * Rows come straight from the file's B-tree leaf pages (journal/sqlite-pages.ts: ~0.26 µs per
 * row against ~1.65 µs through better-sqlite3) when the feed found the file authoritative (no
 * write-ahead log frames; recovery checkpoints first); a page the reader does not understand
 * sends that range, and the rest, through sqlite instead.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { BodyChainVerifier, StoredRow } from './body-chain-verifier';
import { isPageFormatError, journalRows, PageFile } from '../journal/sqlite-pages';
import { pageBuffers, pageFromBodies, RecordBody } from './replay-page';
import type { RangeMessage, ReaderWorkerData } from './sqlite-replay-feed';

const data = workerData as ReaderWorkerData;
const port = parentPort!;
const db = new Database(data.path, { readonly: true, fileMustExist: true });
const rangeRows = db.prepare('SELECT first_seq, last_seq, ts, body FROM journal WHERE first_seq >= ? AND first_seq < ? ORDER BY first_seq').raw();
const pages = data.layout === null ? undefined : new PageFile(data.path);
let usePages = pages !== undefined;
/** Bodies of the range being read, copied out of the reader's reused page buffer. */
let arena = Buffer.allocUnsafe(4 << 20);
let range = data.index;
let credit = data.readAhead;
let scheduled = false;
let finished = false;

function rangeStart(index: number): number {
  return data.firstSequence + index * data.rangeEvents;
}

/** Reads, verifies and posts one range. */
function oneRange(): void {
  const start = rangeStart(range);
  const end = Math.min(rangeStart(range + 1), data.toSequence + 1);
  let verifier = new BodyChainVerifier('first-record');
  const bodies: RecordBody[] = [];
  let message: RangeMessage;
  try {
    if (usePages) {
      try {
        readFromPages(start, end, verifier, bodies);
      } catch (error) {
        if (!isPageFormatError(error)) throw error;
        usePages = false; // sqlite stays the reference: this range again, and the rest, through it
        bodies.length = 0;
        verifier = new BodyChainVerifier('first-record');
      }
    }
    if (!usePages) {
      const rows = rangeRows.all(start, end) as Array<[number, number, number, Buffer]>;
      for (const [firstSequence, lastSequence, timestampMicros, body] of rows) {
        const record = verifier.check({ firstSequence, lastSequence, timestampMicros, body });
        if (record === undefined) break;
        bodies.push(record);
      }
    }
    const result = verifier.result();
    message = {
      range,
      page: bodies.length > 0 ? pageFromBodies(bodies) : null,
      firstPreviousHash: verifier.firstPreviousHash,
      lastHash: result.ok ? result.headHash : null,
      fault: result.ok ? null : result,
      error: null,
    };
  } catch (error) {
    message = { range, page: null, firstPreviousHash: verifier.firstPreviousHash, lastHash: null, fault: null, error: (error as Error).message };
  }
  port.postMessage(message, message.page === null ? [] : pageBuffers(message.page));
  range += data.readers;
  if (rangeStart(range) > data.toSequence || message.fault !== null || message.error !== null) {
    finished = true;
    db.close();
    pages?.close();
  }
}

/** First index whose bound is >= key (bounds ascend). */
function firstAtOrAbove(bounds: number[], key: number): number {
  let low = 0;
  let high = bounds.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (bounds[mid]! < key) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** The range's records from the leaf pages that may hold keys start..end-1, verified. */
function readFromPages(start: number, end: number, verifier: BodyChainVerifier, bodies: RecordBody[]): void {
  const { leaves, upperKeys } = data.layout!;
  const from = firstAtOrAbove(upperKeys, start);
  const to = Math.min(leaves.length, firstAtOrAbove(upperKeys, end - 1) + 1);
  let used = 0;
  const row: StoredRow = { firstSequence: 0, lastSequence: 0, timestampMicros: 0, body: arena };
  for (const stored of journalRows(pages!, leaves.slice(from, to))) {
    if (stored.firstSequence < start) continue;
    if (stored.firstSequence >= end) break;
    const length = stored.body.length;
    if (used + length > arena.length) { // grow: the bodies already parsed keep the old arena alive
      arena = Buffer.allocUnsafe(Math.max(arena.length * 2, length));
      used = 0;
    }
    stored.body.copy(arena, used);
    row.firstSequence = stored.firstSequence;
    row.lastSequence = stored.lastSequence;
    row.timestampMicros = stored.timestampMicros;
    row.body = arena.subarray(used, used + length);
    const record = verifier.checkIn(row, arena, used, used + length);
    used += length;
    if (record === undefined) break;
    bodies.push(record);
  }
  // The hashes were checked in batches (one native call each): keep only the records that passed.
  verifier.settle();
  bodies.length = verifier.verified;
}

function pump(): void {
  scheduled = false;
  while (!finished && credit > 0) {
    credit--;
    oneRange();
  }
}

port.on('message', (message: { credit: number }) => {
  credit += message.credit;
  if (!scheduled && !finished) {
    scheduled = true;
    setImmediate(pump);
  }
});
if (rangeStart(range) > data.toSequence) {
  finished = true;
  db.close();
  pages?.close();
} else {
  scheduled = true;
  setImmediate(pump);
}
