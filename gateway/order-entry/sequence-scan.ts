/**
 * Gateway start: count every served key's messages in the journal, so that live
 * numbering continues exactly where the last run (or the last crash) left off, and
 * find the highest client sequence each key's journaled commands carried (its
 * lastClientSequence: requests above it never reached the matcher).
 *
 * The scan routes events 1..toSequence of the journal file (toSequence: the sequence
 * the matcher recovered to; everything up to it is in the file and nothing after it
 * is) with the same KeyRouting the live pump uses, and stops there: the first event
 * the pump then reads from the outbound ring is toSequence + 1, which the pump
 * asserts. No event is counted twice and none is skipped.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { COMMAND_WORDS, CommandHeader, EVENT_WORDS, EventHeader } from '../../core/schema';
import { KeyRouting } from './key-routing';
import { JournalPages, SCAN_PAGE_RECORDS } from './journal-pages';
import { COMMAND_CLIENT_SEQUENCE_WORD, originKeyId } from './command-stamp';

/** Progress is reported at most this often (the event loop gets a turn after every page). */
export const SCAN_PROGRESS_INTERVAL_MS = 2000;

export interface ScanReport {
  /** First event scanned (1, or after a checkpoint's event). */
  fromSequence: number;
  events: number;
  records: number;
  /** Messages numbered, over all keys. */
  messages: number;
  millis: number;
}

/**
 * Numbers the keys' messages of journal events 1..toSequence, calling `each` for
 * every event (the gateway's read model). Throws when the journal does not hold
 * exactly those events.
 */
export async function scanJournal(
  journalPath: string,
  toSequence: number,
  routing: KeyRouting,
  each: (words: Float64Array, offset: number) => void,
  onProgress: (report: ScanReport) => void = () => {},
  /** Start here instead of at 1: the routing and the read model already hold every event before it (a checkpoint). */
  fromSequence = 1,
): Promise<ScanReport> {
  const started = performance.now();
  const report: ScanReport = { fromSequence, events: 0, records: 0, messages: 0, millis: 0 };
  if (toSequence < fromSequence) return report;
  let expected = fromSequence;
  let lastProgress = started;
  const recipients = routing.recipients;
  const pages = new JournalPages(journalPath, fromSequence, SCAN_PAGE_RECORDS);
  try {
    for (let page = pages.next(); page !== null && expected <= toSequence; page = pages.next()) {
      const words = page.events;
      for (let r = 0; r < page.count; r++) {
        const first = page.firstSequence[r];
        if (first > toSequence) break;
        if (first !== expected) throw new Error(`session sequences: journal record at ${first}, expected ${expected}`);
        const commandAt = r * COMMAND_WORDS;
        const sender = routing.stream(originKeyId(page.commands[commandAt + CommandHeader.origin])); // continuation records: origin 0
        const clientSequence = page.commands[commandAt + COMMAND_CLIENT_SEQUENCE_WORD];
        if (sender !== undefined && clientSequence > sender.lastClientSequence) sender.lastClientSequence = clientSequence;
        const end = page.eventStart[r + 1];
        for (let e = page.eventStart[r]; e < end; e++) {
          const offset = e * EVENT_WORDS;
          const eventSequence = words[offset + EventHeader.sequence];
          if (eventSequence !== expected) throw new Error(`session sequences: event ${eventSequence} in the record at ${first}, expected ${expected}`);
          if (eventSequence > toSequence) throw new Error(`session sequences: the record at ${first} runs past ${toSequence}`);
          each(words, offset);
          const n = routing.route(words, offset);
          for (let k = 0; k < n; k++) recipients[k].take(eventSequence);
          report.messages += n;
          expected++;
        }
        report.records++;
      }
      report.events = expected - fromSequence;
      const now = performance.now();
      if (now - lastProgress >= SCAN_PROGRESS_INTERVAL_MS) {
        lastProgress = now;
        report.millis = now - started;
        onProgress(report);
      }
      await yieldToEventLoop();
    }
  } finally {
    pages.close();
  }
  if (expected !== toSequence + 1) throw new Error(`session sequences: the journal ends at ${expected - 1}, the matcher recovered to ${toSequence}`);
  report.millis = performance.now() - started;
  return report;
}
