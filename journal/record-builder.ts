/**
 * Cuts the matcher's output stream (each command echoed ahead of its events, see
 * core/event-buffer.ts) into journal records: one record per command, holding the
 * command and exactly the events it caused.
 *
 * A command that causes more than MAX_EVENTS_PER_RECORD events (a sweep through a
 * very deep book, a mass cancel) continues in further records whose command is
 * all zeros (type 0, "continuation of the command before"); readers that re-execute
 * history skip continuation records' commands and concatenate their events.
 *
 * Two ways to own the records:
 *   - default: every record take() returns is fresh and the caller may keep it;
 *   - `reuse: true` (the journal thread, which hands each batch to the journal and lets go
 *     of it): records come from a pool whose buffers are reused, valid until the next
 *     consume(). A record is then no allocation but a small view object, where fresh
 *     records cost two off-heap buffers each (measured: GC was ~11% of the journal
 *     thread under load, bench:e2e profile).
 */
import { COMMAND_ECHO_FLAG } from '../core/event-buffer';
import { EVENT_WORDS } from '../core/schema';
import { createRecord, HASH_BYTES, JournalRecord, MAX_EVENTS_PER_RECORD, RECORD_FORMAT_VERSION, WORDS_PER_COMMAND } from './journal-record';

export const CONTINUATION_COMMAND_TYPE = 0;

/** A pooled record, the buffer its events view, and those views by event count (a view is an allocation too). */
interface PooledRecord {
  record: JournalRecord;
  eventStore: Float64Array;
  views: Float64Array[];
}

/** Event counts whose views a pooled record keeps (most commands cause 1-4 events). */
const CACHED_VIEWS = 8;

export class RecordBuilder {
  private command: Float64Array | null = null;
  private events: Float64Array;
  private eventCount = 0;
  private firstSequence = 0;
  private timestamp = 0;
  private readonly done: JournalRecord[] = [];
  private readonly reuse: boolean;
  private readonly pool: PooledRecord[] = [];
  private pooled = 0;
  /** The command being collected, copied out of the ring (its slot may be reused). */
  private readonly commandScratch = new Float64Array(WORDS_PER_COMMAND);

  constructor(options: { reuse?: boolean } = {}) {
    this.reuse = options.reuse === true;
    this.events = new Float64Array(MAX_EVENTS_PER_RECORD * EVENT_WORDS);
  }

  /** Consumes `count` output records (echoes and events) starting at word `start` of `words`. */
  consume(words: Float64Array, count: number, start = 0): void {
    if (this.reuse && this.done.length === 0) this.pooled = 0; // the last batch was taken and let go
    for (let i = 0; i < count; i++) {
      const offset = start + i * EVENT_WORDS;
      const type = words[offset];
      if (type >= COMMAND_ECHO_FLAG) {
        this.finishCurrent();
        const command = this.commandScratch;
        command.set(words.subarray(offset, offset + WORDS_PER_COMMAND));
        command[0] = type - COMMAND_ECHO_FLAG;
        this.command = command;
        this.timestamp = command[1];
        continue;
      }
      if (this.command === null) throw new Error('RecordBuilder: an event arrived before any command echo (is echoCommands on?)');
      if (this.eventCount === MAX_EVENTS_PER_RECORD) {
        const timestamp = this.timestamp;
        this.finishCurrent();
        this.commandScratch.fill(0); // continuation
        this.command = this.commandScratch;
        this.timestamp = timestamp;
      }
      if (this.eventCount === 0) this.firstSequence = words[offset + 1];
      this.events.set(words.subarray(offset, offset + EVENT_WORDS), this.eventCount * EVENT_WORDS);
      this.eventCount++;
    }
  }

  /** Completes the record in progress (call once the matcher has finished its command). */
  finishCurrent(): void {
    if (this.command === null) return;
    if (this.eventCount === 0) throw new Error(`RecordBuilder: command type ${this.command[0]} produced no event`);
    const words = this.eventCount * EVENT_WORDS;
    this.done.push(this.reuse ? this.pooledRecord(words) : createRecord(this.firstSequence, this.timestamp, this.command.slice(), this.events.slice(0, words)));
    this.command = null;
    this.eventCount = 0;
  }

  /** Records completed so far, handed over (the builder forgets them). */
  take(): JournalRecord[] {
    return this.done.splice(0, this.done.length);
  }

  private pooledRecord(words: number): JournalRecord {
    let entry = this.pool[this.pooled];
    if (entry === undefined) {
      entry = {
        record: createRecord(0, 0, new Float64Array(WORDS_PER_COMMAND), new Float64Array(0)),
        eventStore: new Float64Array(4 * EVENT_WORDS),
        views: [],
      };
      this.pool.push(entry);
    }
    this.pooled++;
    if (entry.eventStore.length < words) {
      entry.eventStore = new Float64Array(Math.max(words, entry.eventStore.length * 2));
      entry.views.length = 0;
    }
    entry.eventStore.set(this.events.subarray(0, words));
    const record = entry.record;
    record.version = RECORD_FORMAT_VERSION;
    record.firstSequence = this.firstSequence;
    record.lastSequence = this.firstSequence + words / EVENT_WORDS - 1;
    record.timestampMicros = this.timestamp;
    record.command.set(this.command!);
    const count = words / EVENT_WORDS;
    if (count <= CACHED_VIEWS) record.events = entry.views[count] ??= entry.eventStore.subarray(0, words);
    else record.events = entry.eventStore.subarray(0, words);
    if (record.previousHash.length !== HASH_BYTES) record.previousHash = new Uint8Array(HASH_BYTES);
    return record;
  }
}
