/**
 * A replay older than a key's in-memory history, read back from the journal file.
 *
 * The key's sequence index gives the event sequence of its message
 * c × SEQUENCE_INDEX_STRIDE + 1 at or before the first one asked for; from that event
 * on, the journal is read (a read-only connection: WAL lets it read while the journal
 * thread writes) and filtered with the routing rule, counting the key's messages,
 * until the last one asked for. Each is encoded from the journal's event words with
 * its original sequence: the same bytes the key received live.
 *
 * The reader gives the event loop a turn every JOURNAL_REPLAY_RECORDS_PER_TURN records
 * and waits while the socket holds more than JOURNAL_REPLAY_HIGH_WATER_BYTES, so a
 * long replay never stalls the gateway's other sessions or buffers without bound.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { EVENT_WORDS, EventHeader } from '../../core/schema';
import { FrameEncoder } from '../protocol/encoder';
import { ServerTemplates } from '../protocol/wire-schema';
import { KeyRouting, RoutedKey, SEQUENCE_INDEX_STRIDE, SequenceIndex } from './key-routing';
import { JournalPages } from './journal-pages';

/** Journal replays running at once in one gateway; more are answered REPLAY_BUSY. */
export const JOURNAL_REPLAYS_MAX = 4;
/** retryAfterMs of a REPLAY_BUSY. */
export const JOURNAL_REPLAY_RETRY_MS = 100;
/** Journal records read (one page) between two turns of the event loop: bounds how long a replay holds the gateway's thread. */
export const JOURNAL_REPLAY_RECORDS_PER_TURN = 256;
/** A replay waits while the socket's unsent bytes exceed this. */
export const JOURNAL_REPLAY_HIGH_WATER_BYTES = 1 << 20;
/** How long one wait for the socket to drain lasts before looking again. */
export const JOURNAL_REPLAY_DRAIN_POLL_MS = 5;

export interface JournalReplayTarget {
  /** Sends one frame (the bytes are reused after the call: copy them). */
  sendFrame(frame: Uint8Array): void;
  /** Unsent bytes of the socket. */
  bufferedBytes(): number;
  /** False once the connection closed: the replay stops. */
  open(): boolean;
}

export type JournalReplayResult = 'done' | 'closed' | 'unavailable';

/** Whether `from` is reachable through the key's index (else REPLAY_UNAVAILABLE). */
export function journalReachable(index: SequenceIndex, from: number): boolean {
  return index.entryFor(from) >= 0;
}

/**
 * Sends the key's messages from..to (1 <= from <= to, to already numbered) read from
 * the journal. 'unavailable' when the index no longer reaches `from`; throws when the
 * journal disagrees with the index (a bug, never bad input).
 */
export async function replayFromJournal(
  journalPath: string, key: RoutedKey, index: SequenceIndex, from: number, to: number, encoder: FrameEncoder, target: JournalReplayTarget,
): Promise<JournalReplayResult> {
  const entry = index.entryFor(from);
  if (entry < 0) return 'unavailable';
  const startEvent = index.eventSequence(entry);
  let sequence = entry * SEQUENCE_INDEX_STRIDE; // the key's message before the entry's
  encoder.reset();
  const pages = new JournalPages(journalPath, startEvent, JOURNAL_REPLAY_RECORDS_PER_TURN);
  try {
    for (let page = pages.next(); page !== null; page = pages.next()) {
      const words = page.events;
      const events = page.eventStart[page.count];
      for (let e = 0; e < events; e++) {
        const offset = e * EVENT_WORDS;
        const eventSequence = words[offset + EventHeader.sequence];
        if (eventSequence < startEvent || !KeyRouting.routes(words, offset, key)) continue;
        sequence++;
        if (sequence === entry * SEQUENCE_INDEX_STRIDE + 1 && eventSequence !== startEvent) {
          throw new Error(`journal replay: key ${key.keyId} message ${sequence} is event ${eventSequence}, the index says ${startEvent}`);
        }
        if (sequence < from) continue;
        const template = ServerTemplates.byCoreCode[words[offset + EventHeader.type]]!;
        if (!encoder.fits(template)) flush(encoder, target);
        encoder.append(template, words, offset, sequence);
        if (sequence === to) {
          flush(encoder, target);
          return 'done';
        }
      }
      flush(encoder, target);
      if (!(await drained(target))) return 'closed';
    }
  } finally {
    pages.close();
  }
  throw new Error(`journal replay: key ${key.keyId}: the journal ended at message ${sequence}, before ${to}`);
}

function flush(encoder: FrameEncoder, target: JournalReplayTarget): void {
  if (encoder.length === 0) return;
  if (target.open()) target.sendFrame(encoder.view());
  encoder.reset();
}

/** A turn of the event loop, then waits for the socket to drain; false once the connection closed. */
async function drained(target: JournalReplayTarget): Promise<boolean> {
  await yieldToEventLoop();
  while (target.open() && target.bufferedBytes() > JOURNAL_REPLAY_HIGH_WATER_BYTES) {
    await new Promise((resolve) => setTimeout(resolve, JOURNAL_REPLAY_DRAIN_POLL_MS));
  }
  return target.open();
}
