/**
 * One reader thread of the sqlite replay feed (started by sqlite-replay-feed.ts). Reads the
 * journal file through its own read-only connection, range by range: this reader owns the
 * sequence ranges index, index + readers, index + 2·readers, ... of RANGE_EVENTS each. Within
 * a range it verifies the hash chain record by record (BodyChainVerifier anchored on the
 * range's first record; the replaying thread checks the joints between ranges), packs the
 * verified records into a replay page and transfers it. It runs at most `readAhead` ranges
 * ahead of the replaying thread (credit-based: one credit per range taken).
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { BodyChainVerifier } from './body-chain-verifier';
import { pageBuffers, pageFromBodies, RecordBody } from './replay-page';
import type { RangeMessage, ReaderWorkerData } from './sqlite-replay-feed';

const data = workerData as ReaderWorkerData;
const port = parentPort!;
const db = new Database(data.path, { readonly: true, fileMustExist: true });
const rangeRows = db.prepare('SELECT first_seq, last_seq, ts, body FROM journal WHERE first_seq >= ? AND first_seq < ? ORDER BY first_seq').raw();
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
  const verifier = new BodyChainVerifier('first-record');
  const bodies: RecordBody[] = [];
  let message: RangeMessage;
  try {
    const rows = rangeRows.all(start, end) as Array<[number, number, number, Buffer]>;
    for (const [firstSequence, lastSequence, timestampMicros, body] of rows) {
      const record = verifier.check({ firstSequence, lastSequence, timestampMicros, body });
      if (record === undefined) break;
      bodies.push(record);
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
  }
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
} else {
  scheduled = true;
  setImmediate(pump);
}
