/**
 * The matcher's output: a preallocated batch of fixed 16-word event records.
 *
 * The engine writes each event in place (no objects) and stamps the header with
 * the next global sequence number and the causing command's timestamp and origin.
 * When the batch is full, or when the caller flushes, the records are handed to
 * the sink, which must consume (copy, publish, journal) them before returning; the
 * batch is then zeroed and reused. Zeroing keeps unused words at 0 so the output is
 * byte-identical from run to run.
 *
 * With `echoCommands`, each command is copied into the stream just before its
 * events (word 0 = COMMAND_ECHO_FLAG + command code), so one consumer, the
 * journal, can cut the stream into (command, events) records.
 */
import * as schema from './schema';

/** Module constants, not import bindings: folded into optimized code (see the note in order-pool.ts). */
const { COMMAND_WORDS, EVENT_WORDS, EventHeader } = schema;

export const COMMAND_ECHO_FLAG = 1024;

export interface EventSink {
  /** Consume `count` records of EVENT_WORDS words from `words` before returning. */
  onEvents(words: Float64Array, count: number): void;
}

export class EventBuffer {
  readonly words: Float64Array;
  count = 0;
  /** Sequence number of the last event written. */
  sequence = 0;
  timestamp = 0;
  origin = 0;

  constructor(
    readonly capacity: number,
    public sink: EventSink,
  ) {
    if (COMMAND_WORDS !== EVENT_WORDS) throw new Error('EventBuffer assumes commands and events share one record size');
    this.words = new Float64Array(capacity * EVENT_WORDS);
  }

  /** Starts an event record of type code; returns its word offset for the fields. */
  begin(code: number): number {
    if (this.count === this.capacity) this.flush();
    const offset = this.count * EVENT_WORDS;
    const words = this.words;
    words[offset + EventHeader.type] = code;
    words[offset + EventHeader.sequence] = ++this.sequence;
    words[offset + EventHeader.timestamp] = this.timestamp;
    words[offset + EventHeader.origin] = this.origin;
    this.count++;
    return offset;
  }

  /** Copies a command record into the stream, flagged as an echo (no sequence consumed). */
  echo(command: Float64Array, commandOffset: number): void {
    if (this.count === this.capacity) this.flush();
    const offset = this.count * EVENT_WORDS;
    this.words.set(command.subarray(commandOffset, commandOffset + COMMAND_WORDS), offset);
    this.words[offset] = COMMAND_ECHO_FLAG + command[commandOffset];
    this.count++;
  }

  flush(): void {
    const count = this.count;
    if (count === 0) return;
    this.sink.onEvents(this.words, count);
    this.words.fill(0, 0, count * EVENT_WORDS);
    this.count = 0;
  }
}

/** A sink that drops everything (benchmarks of the matcher alone). */
export const DISCARD_SINK: EventSink = { onEvents() {} };
