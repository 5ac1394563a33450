/**
 * Cuts the matcher's output stream (each command echoed ahead of its events, see
 * core/event-buffer.ts) into journal records: one record per command, holding the
 * command and exactly the events it caused.
 *
 * A command that causes more than MAX_EVENTS_PER_RECORD events (a sweep through a
 * very deep book, a mass cancel) continues in further records whose command is
 * all zeros (type 0, "continuation of the command before"); readers that re-execute
 * history skip continuation records' commands and concatenate their events.
 */
import { COMMAND_ECHO_FLAG } from '../core/event-buffer';
import { EVENT_WORDS } from '../core/schema';
import { createRecord, JournalRecord, MAX_EVENTS_PER_RECORD, WORDS_PER_COMMAND } from './journal-record';

export const CONTINUATION_COMMAND_TYPE = 0;

export class RecordBuilder {
  private command: Float64Array | null = null;
  private events: Float64Array;
  private eventCount = 0;
  private firstSequence = 0;
  private timestamp = 0;
  private readonly done: JournalRecord[] = [];

  constructor() {
    this.events = new Float64Array(MAX_EVENTS_PER_RECORD * EVENT_WORDS);
  }

  /** Consumes `count` output records (echoes and events) starting at word `start` of `words`. */
  consume(words: Float64Array, count: number, start = 0): void {
    for (let i = 0; i < count; i++) {
      const offset = start + i * EVENT_WORDS;
      const type = words[offset];
      if (type >= COMMAND_ECHO_FLAG) {
        this.finishCurrent();
        const command = words.slice(offset, offset + WORDS_PER_COMMAND);
        command[0] = type - COMMAND_ECHO_FLAG;
        this.command = command;
        this.timestamp = command[1];
        continue;
      }
      if (this.command === null) throw new Error('RecordBuilder: an event arrived before any command echo (is echoCommands on?)');
      if (this.eventCount === MAX_EVENTS_PER_RECORD) {
        const timestamp = this.timestamp;
        this.finishCurrent();
        this.command = new Float64Array(WORDS_PER_COMMAND); // continuation
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
    const events = this.events.slice(0, this.eventCount * EVENT_WORDS);
    this.done.push(createRecord(this.firstSequence, this.timestamp, this.command, events));
    this.command = null;
    this.eventCount = 0;
  }

  /** Records completed so far, handed over (the builder forgets them). */
  take(): JournalRecord[] {
    return this.done.splice(0, this.done.length);
  }
}
