/**
 * What a 16-word record of the matcher's output stream is: an event, a command
 * echo (COMMAND_ECHO_FLAG + command code, written just before the command's
 * events) or a BATCH_END marker (after each inbound batch). Echoes and BATCH_END
 * are command boundaries for the market-data publisher: every event before one
 * belongs to a complete command.
 */
import { COMMAND_ECHO_FLAG } from '../../core/event-buffer';
import { BATCH_END_CODE } from '../../core/runtime/ring-sink';

export const RecordKind = { Empty: 0, Event: 1, CommandEcho: 2, BatchEnd: 3 } as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

export function recordKind(words: Float64Array, offset: number): RecordKind {
  const code = words[offset];
  if (code === 0) return RecordKind.Empty;
  if (code === BATCH_END_CODE) return RecordKind.BatchEnd;
  if (code >= COMMAND_ECHO_FLAG) return RecordKind.CommandEcho;
  return RecordKind.Event;
}

/** True for records that end the previous command (an echo of the next one, or BATCH_END). */
export function isCommandBoundary(words: Float64Array, offset: number): boolean {
  return words[offset] >= COMMAND_ECHO_FLAG;
}
