/**
 * `reexecute`: feeds the journaled commands through a fresh engine and checks that it emits
 * byte-identical events, command by command.
 *
 * A command's events are the events of its record plus those of the continuation records
 * that follow it (command type 0, written when one command causes more than
 * MAX_EVENTS_PER_RECORD events); continuation commands are not executed. The engine's output
 * is compared word by word (the bits of each float64) against the journal's events as the
 * engine emits them, so the first divergence is found without buffering the engine's output.
 *
 * The engine is configured as the producer was: the risk layer on or off (the journal has no
 * metadata for it: --risk, default on) and the engine limits (--limits, default DEFAULT_LIMITS;
 * limits only matter when a capacity was reached).
 *
 * The same Replayer drives `replay` (state at a point) and the account statement.
 */
import { Matcher } from '../../core/matcher';
import { EngineLimits } from '../../core/limits';
import { RiskEngine } from '../../core/risk-engine';
import { commandByCode, EVENT_WORDS, EventHeader, eventByCode } from '../../core/schema';
import { WORDS_PER_COMMAND, WORDS_PER_EVENT } from '../journal-record';
import { journalFault } from './errors';
import { Progress } from './progress';
import { AuditSource, RecordView } from './source';
import type { EngineSemantics } from '../../core/engine-semantics';

export interface EngineConfig {
  /** Whether the journal was produced with the accounts-and-risk layer (RiskEngine). */
  risk: boolean;
  limits?: Partial<EngineLimits>;
  /** The engine semantics the journal was written under (core/engine-semantics.ts); default the latest. */
  semantics?: EngineSemantics;
  /** Where these options came from, for the report ("journal", "command line", "defaults ..."). */
  origin?: string;
}

export interface Divergence {
  /** Sequence of the first event that differs (the journal's, or where the engine's extra event would go). */
  sequence: number;
  /** First sequence of the record whose command produced it. */
  recordFirstSequence: number;
  commandType: string;
  /** Index of the event among the command's events. */
  eventIndex: number;
  /** Event type in the journal ('-' when the journal has no event there). */
  eventType: string;
  /** Event type the engine emitted ('-' when it emitted none there). */
  engineEventType: string;
  field: string;
  journal: number | string;
  engine: number | string;
  detail: string;
}

/** One command with its events as journaled (events valid until the next group). */
export interface Group {
  firstSequence: number;
  lastSequence: number;
  timestampMicros: number;
  command: Float64Array;
  events: Float64Array;
  count: number;
  /** Records the group spans (1 + continuations). */
  records: number;
}

const HEADER_FIELDS = ['type', 'sequence', 'timestamp', 'origin'];

function fieldName(eventType: number, word: number): string {
  if (word < HEADER_FIELDS.length) return HEADER_FIELDS[word]!;
  const spec = eventByCode[eventType];
  return spec?.fields.find((field) => field.word === word)?.name ?? `word ${word}`;
}

const eventName = (code: number) => eventByCode[code]?.name ?? `#${code}`;
const commandName = (code: number) => (code === 0 ? 'Continuation' : commandByCode[code]?.name ?? `#${code}`);

export class Replayer {
  readonly matcher: Matcher;
  readonly risk: RiskEngine | null;
  divergence: Divergence | undefined;
  commands = 0;
  records = 0;
  events = 0;
  /** The group in progress (its command not yet executed). */
  private readonly group: Group;
  private open = false;
  private expected: Float64Array;
  private expectedBits: Uint32Array;
  private cursor = 0;
  private engineWords: Float64Array | undefined;
  private engineBits: Uint32Array | undefined;

  constructor(config: EngineConfig) {
    this.risk = config.risk ? new RiskEngine(undefined, { semantics: config.semantics }) : null;
    this.matcher = new Matcher({ limits: config.limits, risk: this.risk, sink: { onEvents: (words, count) => this.compare(words, count) } });
    this.expected = new Float64Array(1024 * WORDS_PER_EVENT);
    this.expectedBits = new Uint32Array(this.expected.buffer);
    this.group = { firstSequence: 0, lastSequence: 0, timestampMicros: 0, command: new Float64Array(WORDS_PER_COMMAND), events: this.expected, count: 0, records: 0 };
  }

  /** Whether a command is waiting to be executed (call `execute` before reading engine state). */
  get pending(): boolean {
    return this.open;
  }

  /** Next record, in journal order. A non-continuation record executes the previous group first. */
  push(view: RecordView): Divergence | undefined {
    const count = view.lastSequence - view.firstSequence + 1;
    if (view.command[0] === 0) {
      if (!this.open) throw journalFault(`record at ${view.firstSequence} continues a command but follows no command`, view.firstSequence);
      this.appendEvents(view.events, count);
      this.group.lastSequence = view.lastSequence;
      this.group.records++;
      return undefined;
    }
    const divergence = this.execute();
    if (divergence !== undefined) return divergence;
    this.begin(view, count);
    return undefined;
  }

  /** Starts a group without executing the previous one (the caller executed it). */
  begin(view: RecordView, count = view.lastSequence - view.firstSequence + 1): void {
    const group = this.group;
    group.firstSequence = view.firstSequence;
    group.lastSequence = view.lastSequence;
    group.timestampMicros = view.timestampMicros;
    group.command.set(view.command.subarray(0, WORDS_PER_COMMAND));
    group.count = 0;
    group.records = 1;
    this.appendEvents(view.events, count);
    this.open = true;
  }

  /** Executes the pending group's command and checks its events; the group stays readable. */
  execute(): Divergence | undefined {
    if (!this.open || this.divergence !== undefined) return this.divergence;
    this.open = false;
    const group = this.group;
    group.events = this.expected;
    this.cursor = 0;
    this.matcher.process(group.command, 0);
    this.matcher.flush();
    this.commands++;
    this.records += group.records;
    if (this.divergence === undefined && this.cursor < group.count) {
      const o = this.cursor * WORDS_PER_EVENT;
      const type = this.expected[o]!;
      this.diverge(this.expected[o + EventHeader.sequence]!, this.cursor, type, -1, 0, `the engine emitted ${this.cursor} events for this command, the journal holds ${group.count}`);
    }
    if (this.divergence === undefined) this.events += group.count;
    this.lastGroup = group;
    return this.divergence;
  }

  /** The group executed last (state queries use it to say where they stand). */
  lastGroup: Group | undefined;

  /** The group waiting to execute. */
  get next(): Group | undefined {
    return this.open ? this.group : undefined;
  }

  private appendEvents(events: Float64Array, count: number): void {
    const group = this.group;
    const needed = (group.count + count) * WORDS_PER_EVENT;
    if (this.expected.length < needed) {
      const grown = new Float64Array(Math.max(needed, this.expected.length * 2));
      grown.set(this.expected.subarray(0, group.count * WORDS_PER_EVENT));
      this.expected = grown;
      this.expectedBits = new Uint32Array(grown.buffer);
      group.events = grown;
    }
    this.expected.set(events.subarray(0, count * WORDS_PER_EVENT), group.count * WORDS_PER_EVENT);
    group.count += count;
  }

  /** The sink: compares the engine's events, as they come, with the journal's. */
  private compare(words: Float64Array, count: number): void {
    if (this.divergence !== undefined) return;
    if (words !== this.engineWords) {
      this.engineWords = words;
      this.engineBits = new Uint32Array(words.buffer, words.byteOffset, words.length * 2);
    }
    const engine = this.engineBits!;
    const journal = this.expectedBits;
    const expectedCount = this.group.count;
    for (let i = 0; i < count; i++) {
      const o = i * EVENT_WORDS;
      if (this.cursor >= expectedCount) {
        this.diverge(words[o + EventHeader.sequence]!, this.cursor, -1, words[o]!, 0, `the engine emitted more events for this command than the journal's ${expectedCount}`);
        return;
      }
      const e = this.cursor * WORDS_PER_EVENT;
      for (let b = 0; b < 2 * EVENT_WORDS; b++) {
        if (engine[2 * o + b] !== journal[2 * e + b]) {
          const word = b >> 1;
          this.divergeAt(words, o, e, word);
          return;
        }
      }
      this.cursor++;
    }
  }

  private divergeAt(words: Float64Array, o: number, e: number, word: number): void {
    const journalType = this.expected[e]!;
    const engineType = words[o]!;
    const detail = word === 0
      ? `the journal has ${eventName(journalType)}, the engine emitted ${eventName(engineType)}`
      : `${eventName(journalType)}.${fieldName(journalType, word)}: journal ${this.expected[e + word]}, engine ${words[o + word]}`;
    this.diverge(this.expected[e + EventHeader.sequence]!, this.cursor, journalType, engineType, word, detail, this.expected[e + word]!, words[o + word]!);
  }

  private diverge(sequence: number, index: number, journalType: number, engineType: number, word: number, detail: string, journalValue?: number, engineValue?: number): void {
    const group = this.group;
    const isType = word === 0;
    this.divergence = {
      sequence,
      recordFirstSequence: group.firstSequence,
      commandType: commandName(group.command[0]!),
      eventIndex: index,
      eventType: journalType < 0 ? '-' : eventName(journalType),
      engineEventType: engineType < 0 ? '-' : eventName(engineType),
      field: journalValue === undefined ? 'count' : fieldName(journalType, word),
      journal: journalValue === undefined ? (journalType < 0 ? 'no event' : eventName(journalType)) : isType ? eventName(journalValue) : journalValue,
      engine: engineValue === undefined ? (engineType < 0 ? 'no event' : eventName(engineType)) : isType ? eventName(engineValue) : engineValue,
      detail,
    };
  }
}

export interface ReexecuteReport {
  ok: boolean;
  source: string;
  risk: boolean;
  records: number;
  commands: number;
  events: number;
  lastSequence: number;
  divergence: Divergence | null;
  seconds: number;
  eventsPerSecond: number;
}

export interface RunOptions {
  progress?: Progress;
  /** Called before a group starts (the engine holds the state after every earlier group); false stops the run. */
  beforeGroup?: (view: RecordView, replayer: Replayer) => boolean;
  /** Called after each group executed without divergence. */
  afterGroup?: (group: Group, replayer: Replayer) => void;
}

const PROGRESS_EVERY_RECORDS = 8192;

/**
 * Runs the journal (or its prefix chosen by beforeGroup) through the Replayer. Stops at the
 * first divergence. Uses the source's synchronous iterator when it has one (sqlite).
 */
export async function runJournal(source: AuditSource, replayer: Replayer, options: RunOptions = {}): Promise<void> {
  const { progress, beforeGroup, afterGroup } = options;
  let sinceProgress = 0;
  let stopped = false;
  const step = (view: RecordView): boolean => {
    if (view.command[0] === 0) {
      replayer.push(view);
      return true;
    }
    if (replayer.pending) {
      const group = replayer.next!;
      if (replayer.execute() !== undefined) return false;
      afterGroup?.(group, replayer);
    }
    if (beforeGroup !== undefined && !beforeGroup(view, replayer)) {
      stopped = true;
      return false;
    }
    if (view.firstSequence === 1 || replayer.commands > 0 || replayer.lastGroup !== undefined) {
      replayer.begin(view);
    } else {
      throw journalFault(`the journal starts at sequence ${view.firstSequence}: re-execution needs every command from sequence 1`, view.firstSequence);
    }
    if (progress !== undefined && ++sinceProgress === PROGRESS_EVERY_RECORDS) {
      sinceProgress = 0;
      progress.update(view.firstSequence - 1);
    }
    return true;
  };
  const records = source.records();
  if (Symbol.iterator in records) {
    for (const view of records as Iterable<RecordView>) if (!step(view)) break;
  } else {
    for await (const view of records as AsyncIterable<RecordView>) if (!step(view)) break;
  }
  if (!stopped && replayer.divergence === undefined && replayer.pending) {
    const group = replayer.next!;
    if (replayer.execute() === undefined) afterGroup?.(group, replayer);
  }
}

export async function reexecuteJournal(source: AuditSource, config: EngineConfig, progress?: Progress): Promise<ReexecuteReport> {
  const started = performance.now();
  progress?.setTotal(await source.lastSequence());
  const replayer = new Replayer(config);
  await runJournal(source, replayer, { progress });
  const seconds = (performance.now() - started) / 1000;
  progress?.finish(replayer.events);
  return {
    ok: replayer.divergence === undefined,
    source: source.description,
    risk: config.risk,
    records: replayer.records,
    commands: replayer.commands,
    events: replayer.events,
    lastSequence: replayer.lastGroup?.lastSequence ?? 0,
    divergence: replayer.divergence ?? null,
    seconds,
    eventsPerSecond: replayer.events / Math.max(seconds, 1e-9),
  };
}
