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
 * Where the records go: by default the builder collects fresh JournalRecord objects the caller
 * takes (take()) and may keep. With a `sink` (the journal thread: an EncodedRecords batch), each
 * completed record is handed over as words, valid only during the call, and nothing is
 * allocated per record.
 */
import { COMMAND_ECHO_FLAG } from '../core/event-buffer';
import { EVENT_WORDS } from '../core/schema';
import { createRecord, JournalRecord, MAX_EVENTS_PER_RECORD, WORDS_PER_COMMAND } from './journal-record';

export const CONTINUATION_COMMAND_TYPE = 0;

/** Receives each completed record; the arrays are the builder's scratch, reused after the call. */
export interface RecordSink {
  record(firstSequence: number, timestampMicros: number, command: Float64Array, events: Float64Array, eventWords: number): void;
}

export class RecordBuilder {
  private command: Float64Array | null = null;
  private events: Float64Array;
  private eventCount = 0;
  private firstSequence = 0;
  private timestamp = 0;
  private readonly done: JournalRecord[] = [];
  private readonly sink: RecordSink | undefined;
  /** The command being collected, copied out of the ring (its slot may be reused). */
  private readonly commandScratch = new Float64Array(WORDS_PER_COMMAND);

  constructor(options: { sink?: RecordSink } = {}) {
    this.sink = options.sink;
    this.events = new Float64Array(MAX_EVENTS_PER_RECORD * EVENT_WORDS);
  }

  /** Consumes `count` output records (echoes and events) starting at word `start` of `words`. */
  consume(words: Float64Array, count: number, start = 0): void {
    for (let i = 0; i < count; i++) {
      const offset = start + i * EVENT_WORDS;
      const type = words[offset];
      if (type >= COMMAND_ECHO_FLAG) {
        this.finishCurrent();
        const command = this.commandScratch;
        for (let w = 0; w < WORDS_PER_COMMAND; w++) command[w] = words[offset + w]!; // no subarray view: no allocation
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
      const events = this.events;
      const base = this.eventCount * EVENT_WORDS;
      for (let w = 0; w < EVENT_WORDS; w++) events[base + w] = words[offset + w]!;
      this.eventCount++;
    }
  }

  /** Completes the record in progress (call once the matcher has finished its command). */
  finishCurrent(): void {
    if (this.command === null) return;
    if (this.eventCount === 0) throw new Error(`RecordBuilder: command type ${this.command[0]} produced no event`);
    const words = this.eventCount * EVENT_WORDS;
    if (this.sink !== undefined) this.sink.record(this.firstSequence, this.timestamp, this.command, this.events, words);
    else this.done.push(createRecord(this.firstSequence, this.timestamp, this.command.slice(), this.events.slice(0, words)));
    this.command = null;
    this.eventCount = 0;
  }

  /** Records completed so far, handed over (the builder forgets them). */
  take(): JournalRecord[] {
    return this.done.splice(0, this.done.length);
  }
}
