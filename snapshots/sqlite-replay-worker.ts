/**
 * The sqlite replay reader's thread body (started by sqlite-replay-feed.ts): reads the
 * journal file through its own read-only connection, verifies the hash chain record by
 * record (BodyChainVerifier), packs verified records into replay pages and transfers them
 * to the replaying thread, at most `readAhead` pages ahead of it (credit-based: the main
 * thread grants one credit per page it takes).
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { BodyChainVerifier } from './body-chain-verifier';
import { PAGE_EVENTS_MAX, pageBuffers, pageFromBodies, RecordBody } from './replay-page';
import type { ReaderMessage, ReaderWorkerData } from './sqlite-replay-feed';

const data = workerData as ReaderWorkerData;
const port = parentPort!;
const db = new Database(data.path, { readonly: true, fileMustExist: true });
const page = db.prepare('SELECT first_seq, last_seq, ts, body FROM journal WHERE first_seq >= ? AND first_seq <= ? ORDER BY first_seq LIMIT ?').raw();
const verifier = new BodyChainVerifier({ firstSequence: data.firstSequence, previousHash: data.previousHash });
let cursor = data.firstSequence;
let credit = data.readAhead;
let scheduled = false;
let finished = false;

function post(message: ReaderMessage, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

function finish(message: ReaderMessage): void {
  finished = true;
  post(message);
  db.close();
}

/** Reads, verifies and posts one page; false once finished. */
function onePage(): boolean {
  const rows = page.all(cursor, data.toSequence, data.pageRecords) as Array<[number, number, number, Buffer]>;
  const bodies: RecordBody[] = [];
  let events = 0;
  let consumed = 0;
  for (const [firstSequence, lastSequence, timestampMicros, body] of rows) {
    if (events >= PAGE_EVENTS_MAX) break;
    const record = verifier.check({ firstSequence, lastSequence, timestampMicros, body });
    if (record === undefined) break;
    bodies.push(record);
    events += lastSequence - firstSequence + 1;
    consumed++;
  }
  if (bodies.length > 0) {
    const replayPage = pageFromBodies(bodies);
    post({ type: 'page', page: replayPage }, pageBuffers(replayPage));
    cursor = bodies[bodies.length - 1]!.lastSequence + 1;
  }
  const result = verifier.result();
  if (!result.ok) {
    finish({ type: 'fault', result });
    return false;
  }
  if (consumed === rows.length && rows.length < data.pageRecords) {
    finish({ type: 'end', result });
    return false;
  }
  return true;
}

function pump(): void {
  scheduled = false;
  try {
    while (!finished && credit > 0) {
      credit--;
      if (!onePage()) return;
    }
  } catch (error) {
    finish({ type: 'error', message: (error as Error).message, sequence: cursor });
  }
}

port.on('message', (message: { credit: number }) => {
  credit += message.credit;
  if (!scheduled && !finished) {
    scheduled = true;
    setImmediate(pump);
  }
});
scheduled = true;
setImmediate(pump);
