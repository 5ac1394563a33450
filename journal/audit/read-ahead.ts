/**
 * Read-ahead for passes that must run in journal order on one thread (reexecute, replay,
 * reports): a worker thread reads the sqlite rows and parses the records into shared memory
 * while the main thread consumes them, so reading (~1-2 µs a row) overlaps the engine.
 *
 * Shared memory: SLOTS slots of SLOT_BYTES, each a batch of records laid out as float64
 * words: [recordCount, then per record: firstSequence, lastSequence, timestampMicros,
 * command (16 words), events (16 words each)]. A control Int32Array holds each slot's state
 * (EMPTY, FULL, LAST = full and nothing after it, FAILED) and a cancel flag. The worker fills
 * slots in turn and waits (Atomics.wait) for an EMPTY one; the main thread waits for a
 * FULL one, yields its records as views into the slot, and hands the slot back when it moves
 * on (views are valid until the next iteration step, as with every RecordView).
 */
import { isMainThread, MessageChannel, MessagePort, receiveMessageOnPort, Worker, workerData } from 'node:worker_threads';
import { join } from 'node:path';
import { BYTES_PER_WORD, WORDS_PER_COMMAND, WORDS_PER_EVENT } from '../journal-record';
import { decodeRecord } from '../record-codec';
import { journalFault } from './errors';
import { newRecordLayout, parseRecordLayout, readRecordWords } from '../record-layout';
import { RecordView, SqliteSource } from './source';
import { journalLayout, journalRecordRows, layoutStillValid, PageFile } from '../sqlite-pages';

const SLOTS = 4;
/** Holds the largest record (4096 events, 512 KiB) many times over. */
const SLOT_BYTES = 4 << 20;
const SLOT_WORDS = SLOT_BYTES / BYTES_PER_WORD;
const EMPTY = 0;
const FULL = 1;
const LAST = 2;
const FAILED = 3;
const CANCEL = SLOTS;
const WAIT_MS = 200;
const RECORD_HEADER_WORDS = 3;

interface ReadAheadData {
  readAhead: true;
  path: string;
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
  port: MessagePort;
}

/** Main thread: the records of a sqlite journal, parsed ahead by a worker thread. */
export function* readAhead(path: string): Generator<RecordView> {
  const control = new SharedArrayBuffer(4 * (SLOTS + 1));
  const data = new SharedArrayBuffer(SLOTS * SLOT_BYTES);
  const states = new Int32Array(control);
  const words = new Float64Array(data);
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(join(__dirname, 'read-ahead.js'), {
    workerData: { readAhead: true, path, control, data, port: port2 } satisfies ReadAheadData,
    transferList: [port2],
  });
  worker.unref();
  const view: RecordView = { firstSequence: 0, lastSequence: 0, timestampMicros: 0, command: words.subarray(0, 0), events: words.subarray(0, 0) };
  let slot = 0;
  try {
    for (;;) {
      while (Atomics.load(states, slot) === EMPTY) Atomics.wait(states, slot, EMPTY, WAIT_MS);
      const state = Atomics.load(states, slot);
      if (state === FAILED) {
        const message = receiveMessageOnPort(port1)?.message as { message: string; sequence?: number } | undefined;
        throw journalFault(message?.message ?? 'the read-ahead worker failed', message?.sequence);
      }
      const base = slot * SLOT_WORDS;
      const count = words[base]!;
      let w = base + 1;
      for (let i = 0; i < count; i++) {
        const first = words[w]!;
        const last = words[w + 1]!;
        view.firstSequence = first;
        view.lastSequence = last;
        view.timestampMicros = words[w + 2]!;
        w += RECORD_HEADER_WORDS;
        view.command = words.subarray(w, w + WORDS_PER_COMMAND);
        w += WORDS_PER_COMMAND;
        const eventWords = (last - first + 1) * WORDS_PER_EVENT;
        view.events = words.subarray(w, w + eventWords);
        w += eventWords;
        yield view;
      }
      Atomics.store(states, slot, EMPTY);
      Atomics.notify(states, slot);
      if (state === LAST) return;
      slot = (slot + 1) % SLOTS;
    }
  } finally {
    Atomics.store(states, CANCEL, 1);
    for (let i = 0; i < SLOTS; i++) Atomics.notify(states, i);
    port1.close();
    void worker.terminate();
  }
}

function* mapRows<T, U>(rows: Iterable<T>, map: (row: T) => U): Generator<U> {
  for (const row of rows) yield map(row);
}

/** Worker thread: fills the slots in turn. */
function fill(config: ReadAheadData): void {
  const states = new Int32Array(config.control);
  const words = new Float64Array(config.data);
  const layout = newRecordLayout();
  let source: SqliteSource | undefined;
  let slot = 0;
  let w = 1;
  let count = 0;
  const cancelled = () => Atomics.load(states, CANCEL) === 1;
  const waitEmpty = (): boolean => {
    while (Atomics.load(states, slot) !== EMPTY) {
      if (cancelled()) return false;
      Atomics.wait(states, slot, Atomics.load(states, slot), WAIT_MS);
    }
    return !cancelled();
  };
  const publish = (state: number) => {
    words[slot * SLOT_WORDS] = count;
    Atomics.store(states, slot, state);
    Atomics.notify(states, slot);
  };
  if (!waitEmpty()) return;
  try {
    // The file's pages directly when the file alone holds the journal, else through sqlite.
    const fileLayout = journalLayout(config.path);
    let pages: PageFile | undefined;
    let rows: Iterable<{ key: number; body: Buffer }>;
    if (fileLayout !== undefined) {
      pages = new PageFile(config.path);
      rows = mapRows(journalRecordRows(pages, fileLayout.leaves), (row) => ({ key: row.firstSequence, body: row.body }));
    } else {
      source = SqliteSource.open(config.path);
      rows = mapRows(source.recordRows(), (row) => ({ key: row.firstSequence, body: row.body }));
    }
    for (const { key, body } of rows) {
      let first: number;
      let last: number;
      let timestamp: number;
      let command: Float64Array | undefined;
      let events: Float64Array | undefined;
      if (parseRecordLayout(body, layout) === undefined) {
        first = layout.firstSequence;
        last = layout.lastSequence;
        timestamp = layout.timestampMicros;
      } else {
        let record;
        try {
          record = decodeRecord(body);
        } catch (error) {
          throw journalFault(`record at ${key} is unreadable: ${(error as Error).message} (run verify)`, key);
        }
        ({ firstSequence: first, lastSequence: last, timestampMicros: timestamp, command, events } = record);
      }
      const eventWords = (last - first + 1) * WORDS_PER_EVENT;
      const needed = RECORD_HEADER_WORDS + WORDS_PER_COMMAND + eventWords;
      if (w + needed > SLOT_WORDS) {
        publish(FULL);
        slot = (slot + 1) % SLOTS;
        w = 1;
        count = 0;
        if (!waitEmpty()) return;
      }
      const at = slot * SLOT_WORDS + w;
      words[at] = first;
      words[at + 1] = last;
      words[at + 2] = timestamp;
      const commandAt = at + RECORD_HEADER_WORDS;
      if (command === undefined) {
        if (!readRecordWords(body, layout, words, commandAt, words, commandAt + WORDS_PER_COMMAND)) {
          throw journalFault(`record at ${key} is unreadable: packed words are not canonical (run verify)`, key);
        }
      } else {
        words.set(command, commandAt);
        words.set(events!.subarray(0, eventWords), commandAt + WORDS_PER_COMMAND);
      }
      w += needed;
      count++;
    }
    pages?.close();
    if (fileLayout !== undefined && !layoutStillValid(config.path, fileLayout)) throw new Error('the journal file changed while it was read (a writer committed): run again');
    publish(LAST);
  } catch (error) {
    const sequence = (error as { sequence?: number }).sequence;
    config.port.postMessage({ message: (error as Error).message, sequence });
    publish(FAILED);
  } finally {
    void source?.close();
  }
}

if (!isMainThread && (workerData as ReadAheadData | undefined)?.readAhead === true) fill(workerData as ReadAheadData);
