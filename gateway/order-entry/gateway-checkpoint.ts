/**
 * A gateway's start-up scan state, saved every gatewayCheckpointEveryEvents events while it
 * runs and when it stops: every served key's message count,
 * sparse index and last client sequence, and the query read model, as of journal event E.
 * The next start restores it and scans only events E+1.. instead of the whole journal (the
 * scan grows with the journal: ~1M events/s, so a busy month would cost minutes).
 *
 * A checkpoint is valid forever for the history it describes (the journal is append-only),
 * so a crash after it costs only the longer tail scan. It is used only when it provably
 * describes this journal and this gateway: same format version, the same served keys with
 * the same accounts (the routing's input), E at or below the recovered sequence, and the
 * journal record ending at E carrying the hash the checkpoint recorded. Anything else is
 * reported and the gateway scans from event 1, which is always correct.
 */
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { splitStoredRow } from '../../journal/row-records';
import Database from 'better-sqlite3';
import { HASH_BYTES } from '../../journal/journal-record';
import type { AccountViews, SaveBuffers, SavedAccountViews } from './account-view';
import type { KeyRouting } from './key-routing';

/**
 * 2: a JSON line, then the large parts (orders, client order ids, index entries) as raw Float64Array bytes.
 * 3: the orders' client order ids as one client-entry flag per order instead of (key, order id) pairs
 * (the read model's rows are dense: a running gateway captures them with memory copies).
 * Another version is not read: the gateway scans the journal from the start instead.
 */
export const GATEWAY_CHECKPOINT_VERSION = 3;

interface SavedStream {
  keyId: number;
  account: number;
  nextServerSequence: number;
  lastClientSequence: number;
  index: { count: number; held: Float64Array };
}

interface GatewayCheckpoint {
  version: number;
  /** The last journal event the state includes. */
  eventSequence: number;
  /** Hash (hex) of the journal record ending at eventSequence. */
  recordHash: string;
  streams: SavedStream[];
  views: SavedAccountViews;
}

/**
 * The file: one line of JSON, then the raw bytes of every Float64Array it names. In the JSON a
 * Float64Array is { f64: [start, words] } (start: its byte offset after the newline), so writing
 * costs no encoding of the large parts (written with writev, off this thread) and reading copies
 * each once.
 */
function encodeCheckpoint(checkpoint: GatewayCheckpoint): Buffer[] {
  const parts: Buffer[] = [];
  let at = 0;
  const header = JSON.stringify(checkpoint, (_key, value: unknown) => {
    if (!(value instanceof Float64Array)) return value;
    const start = at;
    parts.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    at += value.byteLength;
    return { f64: [start, value.length] };
  });
  return [Buffer.from(`${header}\n`, 'utf8'), ...parts];
}

function decodeCheckpoint(file: Buffer): GatewayCheckpoint {
  const newline = file.indexOf(0x0a);
  if (newline < 0) throw new Error('no header line');
  const base = newline + 1;
  return JSON.parse(file.toString('utf8', 0, newline), (_key, value: unknown) => {
    const f64 = (value as { f64?: unknown } | null)?.f64;
    if (!Array.isArray(f64)) return value;
    const [start, words] = f64 as [number, number];
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(words) || start < 0 || words < 0 || base + start + words * 8 > file.length) {
      throw new Error('a Float64Array outside the file');
    }
    const out = new Float64Array(words);
    new Uint8Array(out.buffer).set(file.subarray(base + start, base + start + words * 8));
    return out;
  }) as GatewayCheckpoint;
}

export function checkpointPath(journalPath: string, gatewayId: number): string {
  return path.join(path.dirname(journalPath), `gateway-${gatewayId}.checkpoint.json`);
}

/**
 * One read-only connection per journal, kept open: opening one per checkpoint cost a running
 * gateway ~10 ms on its event loop (a visible stall at 50K orders/s). It holds no read
 * transaction between lookups, so it never pins the writer's log.
 */
const lookups = new Map<string, Database.Statement>();

/** Hash (hex) of the record ending exactly at `sequence`, or undefined when no record ends there. */
async function recordHashAt(journalPath: string, sequence: number): Promise<string | undefined> {
  let lookup = lookups.get(journalPath);
  if (lookup === undefined) {
    const db = new Database(journalPath, { readonly: true, fileMustExist: true });
    lookup = db.prepare('SELECT first_seq, last_seq, ts, body FROM journal WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1');
    lookups.set(journalPath, lookup);
  }
  const row = lookup.get(sequence) as { first_seq: number; last_seq: number; ts: number; body: Buffer } | undefined;
  if (row === undefined || row.last_seq < sequence) return undefined;
  // The row's record ending there (a packed row holds several: journal/row-records.ts).
  for (const stored of splitStoredRow(row.first_seq, row.last_seq, row.ts, row.body)) {
    if (stored.lastSequence !== sequence) continue;
    if (stored.body.length < HASH_BYTES) return undefined;
    // Every record layout ends with its hash (journal/record-codec.ts).
    return stored.body.toString('hex', stored.body.length - HASH_BYTES);
  }
  return undefined;
}

/** Closes the lookup connections (a stopping gateway). */
export function closeCheckpointLookups(): void {
  for (const statement of lookups.values()) statement.database.close();
  lookups.clear();
}

/** The state as of event `eventSequence`, copied now (the gateway goes on changing the originals). */
/** `buffers`: the running gateway's reused save buffers (the capture is valid until the next one with them). */
export function captureCheckpoint(eventSequence: number, routing: KeyRouting, views: AccountViews, buffers?: SaveBuffers): Omit<GatewayCheckpoint, 'recordHash'> {
  return {
    version: GATEWAY_CHECKPOINT_VERSION,
    eventSequence,
    streams: routing.streams.map((s) => ({
      keyId: s.keyId, account: s.account, nextServerSequence: s.nextServerSequence, lastClientSequence: s.lastClientSequence, index: s.index.save(),
    })),
    views: views.save(buffers),
  };
}

/**
 * Writes a captured state once the journal's record ending at its event is found (atomic: a
 * temporary file renamed over the old one). False when no record ends there (nothing saved).
 */
export async function writeCheckpoint(journalPath: string, gatewayId: number, captured: Omit<GatewayCheckpoint, 'recordHash'>): Promise<boolean> {
  if (captured.eventSequence === 0) return false;
  const recordHash = await recordHashAt(journalPath, captured.eventSequence);
  if (recordHash === undefined) return false; // not a record boundary the journal holds: nothing safe to save
  const checkpoint: GatewayCheckpoint = { ...captured, recordHash };
  const file = checkpointPath(journalPath, gatewayId);
  const handle = await open(`${file}.tmp`, 'w');
  try {
    await handle.writev(encodeCheckpoint(checkpoint)); // off this thread, no copy of the large parts
  } finally {
    await handle.close();
  }
  renameSync(`${file}.tmp`, file);
  return true;
}

/** Saves the state as of event `eventSequence` (a graceful stop: nothing changes it meanwhile). */
export async function saveCheckpoint(journalPath: string, gatewayId: number, eventSequence: number, routing: KeyRouting, views: AccountViews): Promise<boolean> {
  return writeCheckpoint(journalPath, gatewayId, captureCheckpoint(eventSequence, routing, views));
}

/**
 * Restores the newest checkpoint into fresh `routing` and `views` when it is valid for this
 * journal, key table and recovered sequence: returns the event it includes (scan from the
 * next one), or 0 with the reason it was not used.
 */
export async function restoreCheckpoint(
  journalPath: string,
  gatewayId: number,
  recoveredSequence: number,
  routing: KeyRouting,
  views: AccountViews,
): Promise<{ eventSequence: number; reason?: string }> {
  const file = checkpointPath(journalPath, gatewayId);
  if (!existsSync(file)) return { eventSequence: 0, reason: 'no checkpoint' };
  let checkpoint: GatewayCheckpoint;
  try {
    checkpoint = decodeCheckpoint(readFileSync(file));
  } catch (error) {
    return { eventSequence: 0, reason: `unreadable checkpoint: ${(error as Error).message}` };
  }
  if (checkpoint.version !== GATEWAY_CHECKPOINT_VERSION) return { eventSequence: 0, reason: `checkpoint format ${checkpoint.version}` };
  if (!(checkpoint.eventSequence >= 1 && checkpoint.eventSequence <= recoveredSequence)) {
    return { eventSequence: 0, reason: `checkpoint at ${checkpoint.eventSequence} is beyond the recovered sequence ${recoveredSequence}` };
  }
  const keys = (streams: ReadonlyArray<{ keyId: number; account: number }>) => streams.map((s) => `${s.keyId}:${s.account}`).sort().join(',');
  if (keys(checkpoint.streams) !== keys(routing.streams)) return { eventSequence: 0, reason: 'the served keys or their accounts changed' };
  if ((await recordHashAt(journalPath, checkpoint.eventSequence)) !== checkpoint.recordHash) {
    return { eventSequence: 0, reason: `the journal's record at ${checkpoint.eventSequence} is not the one the checkpoint saw` };
  }
  for (const saved of checkpoint.streams) {
    const stream = routing.stream(saved.keyId)!;
    stream.nextServerSequence = saved.nextServerSequence;
    stream.lastClientSequence = saved.lastClientSequence;
    stream.index.restore(saved.index);
  }
  views.restore(checkpoint.views);
  return { eventSequence: checkpoint.eventSequence };
}
