/**
 * The one journal contract: every backend runs this suite unchanged.
 * A harness gives fresh storage per test, can reopen it, and (if its storage allows) tamper.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRecord, JournalRecord, WORDS_PER_COMMAND, WORDS_PER_EVENT } from '../journal/journal-record';
import { isJournalError, Journal, JournalErrorCode } from '../journal/journal';
import { GENESIS_HASH } from '../journal/hash-chain';

export interface JournalHarness {
  /** Opens (or reopens) the harness's one storage. */
  open(): Promise<Journal>;
  /** Flips one event byte of the stored record starting at firstSequence; absent if storage is immutable. */
  tamper?: (firstSequence: number) => Promise<void>;
  cleanup(): Promise<void>;
}

/** Records starting at firstSequence; record i holds 1 + (i % 3) events; contents derive from sequences. */
export function makeRecords(firstSequence: number, count: number): JournalRecord[] {
  const records: JournalRecord[] = [];
  let sequence = firstSequence;
  for (let index = 0; index < count; index++) {
    const events = 1 + (index % 3);
    const command = new Float64Array(WORDS_PER_COMMAND).map((_, word) => sequence * 100 + word);
    const payload = new Float64Array(events * WORDS_PER_EVENT).map((_, word) => sequence * 1000 + word + 0.5);
    records.push(createRecord(sequence, 1_700_000_000_000_000 + sequence, command, payload));
    sequence += events;
  }
  return records;
}

/** Returns a copy of an encoded record with one byte of its events payload flipped (still decodable). */
export function flipPayloadByte(body: Uint8Array): Uint8Array {
  const copy = new Uint8Array(body);
  // The least significant byte of the last event word, stored raw (v1 always; v2 for a word that is no
  // integer, as every makeRecords event word is): the record stays decodable, only its hash breaks.
  copy[copy.length - 2 * 34 - 8] ^= 0x01;
  return copy;
}

export function assertSameRecord(actual: JournalRecord, expected: JournalRecord): void {
  assert.equal(actual.firstSequence, expected.firstSequence);
  assert.equal(actual.lastSequence, expected.lastSequence);
  assert.equal(actual.timestampMicros, expected.timestampMicros);
  assert.deepEqual(Buffer.from(actual.command.buffer, actual.command.byteOffset, actual.command.byteLength),
    Buffer.from(expected.command.buffer, expected.command.byteOffset, expected.command.byteLength));
  assert.deepEqual(Buffer.from(actual.events.buffer, actual.events.byteOffset, actual.events.byteLength),
    Buffer.from(expected.events.buffer, expected.events.byteOffset, expected.events.byteLength));
  assert.deepEqual(Buffer.from(actual.previousHash), Buffer.from(expected.previousHash));
  assert.deepEqual(Buffer.from(actual.hash), Buffer.from(expected.hash));
}

export async function collect(records: AsyncIterable<JournalRecord>): Promise<JournalRecord[]> {
  const all: JournalRecord[] = [];
  for await (const record of records) all.push(record);
  return all;
}

export function rejectsWith(code: JournalErrorCode, sequence?: number): (error: unknown) => boolean {
  return (error) => {
    assert.ok(isJournalError(error, code), `expected ${code}, got ${String(error)}`);
    if (sequence !== undefined) assert.equal(error.sequence, sequence);
    return true;
  };
}

export function runJournalContract(name: string, makeHarness: () => Promise<JournalHarness>, options: { skip?: string } = {}): void {
  /** Runs body with a fresh harness and an open journal, always cleaning up. */
  const withJournal = (body: (journal: Journal, harness: JournalHarness) => Promise<void>) => async () => {
    const harness = await makeHarness();
    const journal = await harness.open();
    try {
      await body(journal, harness);
    } finally {
      await journal.close().catch(() => undefined);
      await harness.cleanup();
    }
  };

  // Skip each test (not only the suite) so the runner's summary counts them as skipped.
  const test = (title: string, body: () => Promise<void>) => it(title, { skip: options.skip }, body);

  describe(`journal contract: ${name}`, () => {
    test('starts empty', withJournal(async (journal) => {
      assert.equal(journal.durableSequence(), 0);
      assert.equal(await journal.tail(), undefined);
      assert.deepEqual(await collect(journal.readFrom(1)), []);
      const result = await journal.verify();
      assert.ok(result.ok);
      assert.equal(result.count, 0);
      assert.equal(result.lastSequence, 0);
      assert.deepEqual(Buffer.from(result.headHash), Buffer.from(GENESIS_HASH));
    }));

    test('appends, chains and reads back every record in order', withJournal(async (journal) => {
      const records = makeRecords(1, 7);
      await Promise.all([journal.append(records.slice(0, 3)), journal.append(records.slice(3))]);
      const last = records[records.length - 1]!;
      assert.equal(journal.durableSequence(), last.lastSequence);
      assert.deepEqual(Buffer.from(records[0]!.previousHash), Buffer.from(GENESIS_HASH));
      for (let index = 1; index < records.length; index++) {
        assert.deepEqual(Buffer.from(records[index]!.previousHash), Buffer.from(records[index - 1]!.hash));
      }
      const read = await collect(journal.readFrom(1));
      assert.equal(read.length, records.length);
      read.forEach((record, index) => assertSameRecord(record, records[index]!));
    }));

    test('readFrom starts at the record containing the sequence', withJournal(async (journal) => {
      const records = makeRecords(1, 6); // events per record 1,2,3,1,2,3: record 2 covers 4..6
      await journal.append(records);
      const fromMiddle = await collect(journal.readFrom(5));
      assert.equal(fromMiddle[0]!.firstSequence, 4);
      assert.equal(fromMiddle.length, 4);
      assert.deepEqual(await collect(journal.readFrom(journal.durableSequence() + 1)), []);
      assert.equal((await collect(journal.readFrom(0))).length, 6);
    }));

    test('tail and verify report the newest record and head hash', withJournal(async (journal) => {
      const records = makeRecords(1, 5);
      await journal.append(records);
      const last = records[records.length - 1]!;
      assertSameRecord((await journal.tail())!, last);
      const result = await journal.verify();
      assert.ok(result.ok);
      assert.equal(result.count, 5);
      assert.equal(result.lastSequence, last.lastSequence);
      assert.deepEqual(Buffer.from(result.headHash), Buffer.from(last.hash));
    }));

    test('rejects a sequence gap, an overlap and a wrong start, and stays usable', withJournal(async (journal) => {
      await assert.rejects(journal.append(makeRecords(2, 1)), rejectsWith('JOURNAL_SEQUENCE_GAP', 1));
      const records = makeRecords(1, 3);
      await journal.append(records);
      const next = journal.durableSequence() + 1;
      await assert.rejects(journal.append(makeRecords(next + 1, 1)), rejectsWith('JOURNAL_SEQUENCE_GAP', next));
      await assert.rejects(journal.append(makeRecords(next - 1, 1)), rejectsWith('JOURNAL_SEQUENCE_GAP', next));
      const gapInside = [...makeRecords(next, 1), ...makeRecords(next + 5, 1)];
      await assert.rejects(journal.append(gapInside), rejectsWith('JOURNAL_SEQUENCE_GAP'));
      await journal.append(makeRecords(next, 2));
      assert.ok((await journal.verify()).ok);
    }));

    test('rejects malformed records', withJournal(async (journal) => {
      const [record] = makeRecords(1, 1);
      record!.command = new Float64Array(3);
      await assert.rejects(journal.append([record!]), rejectsWith('JOURNAL_BAD_RECORD'));
      const [wrongCount] = makeRecords(1, 1);
      wrongCount!.lastSequence = 3; // claims 3 events, carries 1
      await assert.rejects(journal.append([wrongCount!]), rejectsWith('JOURNAL_BAD_RECORD'));
      assert.equal(journal.durableSequence(), 0);
    }));

    test('resolves many concurrent appends in order', withJournal(async (journal) => {
      const records = makeRecords(1, 60);
      const resolved: number[] = [];
      await Promise.all(records.map((record) => journal.append([record]).then(() => resolved.push(record.lastSequence))));
      assert.deepEqual(resolved, records.map((record) => record.lastSequence));
      assert.equal((await journal.verify()).ok, true);
    }));

    test('refuses use after close; reopening keeps the data and continues the chain', async () => {
      const harness = await makeHarness();
      try {
        const first = await harness.open();
        const records = makeRecords(1, 4);
        await first.append(records);
        await first.close();
        await assert.rejects(first.append(makeRecords(first.durableSequence() + 1, 1)), rejectsWith('JOURNAL_CLOSED'));
        const second = await harness.open();
        try {
          const last = records[records.length - 1]!;
          assert.equal(second.durableSequence(), last.lastSequence);
          assertSameRecord((await second.tail())!, last);
          const more = makeRecords(last.lastSequence + 1, 2);
          await second.append(more);
          assert.deepEqual(Buffer.from(more[0]!.previousHash), Buffer.from(last.hash));
          const result = await second.verify();
          assert.ok(result.ok);
          assert.equal(result.count, 6);
        } finally {
          await second.close();
        }
      } finally {
        await harness.cleanup();
      }
    });

    test('detects a tampered record and names its sequence', withJournal(async (journal, harness) => {
      if (harness.tamper === undefined) return; // immutable storage (a live EventStoreDB): nothing to tamper
      const records = makeRecords(1, 6);
      await journal.append(records);
      const victim = records[3]!;
      await harness.tamper(victim.firstSequence);
      const result = await journal.verify();
      assert.equal(result.ok, false);
      assert.ok(!result.ok && result.firstBadSequence === victim.firstSequence && result.reason === 'HASH_MISMATCH', JSON.stringify(result));
    }));
  });
}
