/**
 * Rebuilds the engine from the journal by re-executing every journaled command and
 * checking that the regenerated events are byte-identical to the journaled ones: a
 * journal the engine cannot reproduce stops the start with the sequence where they
 * diverge (never trade on a state that differs from history).
 */
import { EVENT_WORDS } from '../schema';
import type { Matcher } from '../matcher';
import type { JournalRecord } from '../../journal/journal-record';

export interface ReplayProgress {
  records: number;
  events: number;
  lastSequence: number;
}

/** Re-executes `records` on `matcher` (echo off, sink replaced for the duration). */
export async function replayRecords(
  matcher: Matcher,
  records: AsyncIterable<JournalRecord>,
  onProgress: (progress: ReplayProgress) => void = () => {},
): Promise<ReplayProgress> {
  const previousSink = matcher.out.sink;
  const previousEcho = matcher.echoCommands;
  const regenerated = new Float64Array(1 << 16);
  let produced = 0;
  matcher.echoCommands = false;
  matcher.out.sink = {
    onEvents(words, count) {
      const needed = (produced + count) * EVENT_WORDS;
      if (needed > regenerated.length) throw new Error(`replay: one command produced more than ${regenerated.length / EVENT_WORDS} events`);
      regenerated.set(words.subarray(0, count * EVENT_WORDS), produced * EVENT_WORDS);
      produced += count;
    },
  };
  const progress: ReplayProgress = { records: 0, events: 0, lastSequence: matcher.out.sequence };
  let pending: JournalRecord[] = []; // a command and its continuation records
  const check = () => {
    if (pending.length === 0) return;
    produced = 0;
    matcher.process(pending[0].command, 0);
    matcher.flush();
    let at = 0;
    for (const record of pending) {
      const words = record.events.length;
      for (let i = 0; i < words; i++) {
        if (regenerated[at + i] !== record.events[i]) {
          const sequence = record.firstSequence + Math.floor(i / EVENT_WORDS);
          throw new Error(`replay diverges from the journal at sequence ${sequence} (word ${i % EVENT_WORDS}: journal ${record.events[i]}, engine ${regenerated[at + i]})`);
        }
      }
      at += words;
    }
    if (at !== produced * EVENT_WORDS) throw new Error(`replay: the engine produced ${produced} events where the journal has ${at / EVENT_WORDS} (after sequence ${pending.at(-1)!.lastSequence})`);
    progress.records += pending.length;
    progress.events += produced;
    progress.lastSequence = pending.at(-1)!.lastSequence;
    pending = [];
  };
  try {
    for await (const record of records) {
      if (record.command[0] !== 0) check();
      else if (pending.length === 0) throw new Error(`replay: continuation record at ${record.firstSequence} without its command`);
      pending.push(record);
      if (progress.records % 100_000 === 0) onProgress(progress);
    }
    check();
  } finally {
    matcher.out.sink = previousSink;
    matcher.echoCommands = previousEcho;
  }
  onProgress(progress);
  return progress;
}
