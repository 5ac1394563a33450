/**
 * Conversion between fixed records and plain objects, derived from the schema.
 * For tests, tools, the audit CLI and logs; the hot path never builds objects.
 */
import { COMMAND_ECHO_FLAG } from './event-buffer';
import {
  COMMAND_WORDS, CommandHeader, CommandName, Commands, EVENT_WORDS, EventHeader, commandByCode, eventByCode,
} from './schema';

export type CommandFields<N extends CommandName> = Partial<Record<keyof (typeof Commands)[N]['at'], number>>;

export interface CommandObject {
  type: string;
  timestamp: number;
  origin: number;
  [field: string]: number | string;
}

export interface EventObject {
  type: string;
  sequence: number;
  timestamp: number;
  origin: number;
  [field: string]: number | string;
}

/** Writes a command into `target` at `offset` (a fresh record by default). Missing fields are 0. */
export function encodeCommand<N extends CommandName>(
  name: N,
  fields: CommandFields<N>,
  timestamp = 0,
  origin = 0,
  target: Float64Array = new Float64Array(COMMAND_WORDS),
  offset = 0,
): Float64Array {
  const spec = Commands[name];
  target.fill(0, offset, offset + COMMAND_WORDS);
  target[offset + CommandHeader.type] = spec.code;
  target[offset + CommandHeader.timestamp] = timestamp;
  target[offset + CommandHeader.origin] = origin;
  const values = fields as Record<string, number | undefined>;
  for (const key of Object.keys(values)) {
    const field = spec.fields.find((f) => f.name === key);
    if (field === undefined) throw new Error(`${name} has no field "${key}"`);
    target[offset + field.word] = values[key] ?? 0;
  }
  return target;
}

export function decodeCommand(words: Float64Array, offset = 0): CommandObject {
  const code = words[offset + CommandHeader.type];
  const spec = commandByCode[code];
  const object: CommandObject = {
    type: spec?.name ?? `#${code}`,
    timestamp: words[offset + CommandHeader.timestamp],
    origin: words[offset + CommandHeader.origin],
  };
  if (spec !== undefined) for (const field of spec.fields) object[field.name] = words[offset + field.word];
  return object;
}

export function decodeEvent(words: Float64Array, offset = 0): EventObject {
  const code = words[offset + EventHeader.type];
  const spec = eventByCode[code];
  const object: EventObject = {
    type: spec?.name ?? `#${code}`,
    sequence: words[offset + EventHeader.sequence],
    timestamp: words[offset + EventHeader.timestamp],
    origin: words[offset + EventHeader.origin],
  };
  if (spec !== undefined) for (const field of spec.fields) object[field.name] = words[offset + field.word];
  return object;
}

export function isCommandEcho(words: Float64Array, offset: number): boolean {
  return words[offset] >= COMMAND_ECHO_FLAG;
}

/** A sink that keeps copies of every record (tests and tools). */
export class CollectingSink {
  readonly records: Float64Array[] = [];
  onEvents(words: Float64Array, count: number): void {
    for (let i = 0; i < count; i++) this.records.push(words.slice(i * EVENT_WORDS, (i + 1) * EVENT_WORDS));
  }
  /** Decoded events (command echoes skipped), and forget them. */
  take(): EventObject[] {
    const events = this.records.filter((r) => !isCommandEcho(r, 0)).map((r) => decodeEvent(r));
    this.records.length = 0;
    return events;
  }
}
