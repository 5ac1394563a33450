/**
 * Codec properties (fast-check), version dispatch, hash-chain tamper detection, archives.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync } from 'node:zlib';
import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import { COMMAND_WORDS, Commands, EVENT_WORDS, Events } from '../core/schema';
import { createRecord, HASH_BYTES, JournalRecord, WORDS_PER_COMMAND, WORDS_PER_EVENT } from '../journal/journal-record';
import {
  decodeRecord, encodeRecord, encodedRecordBytesMax, encodeRecordWithPackr, HASH_FIELD_BYTES, RecordWriter, RECORD_BYTES_MAX, wordBytes,
} from '../journal/record-codec';
import { newRecordLayout, parseRecordLayout, readRecordWords } from '../journal/record-layout';
import { packedWordCount, unpackCommand } from '../journal/word-pack';
import { chainRecords, GENESIS_HASH, recordHash, sealRecord, verifyChain } from '../journal/hash-chain';
import { SqliteJournal } from '../journal/sqlite-journal';
import { RecordChecker } from '../journal/audit/record-check';
import { exportArchive, readArchive, readArchiveHeader, verifyArchive } from '../journal/archive';
import { assertSameRecord, collect, makeRecords, rejectsWith } from './journal-contract';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Any record of format v1: arbitrary bytes in every float64 word (NaN payloads included). */
const recordArbitrary = fc
  .record({
    firstSequence: fc.integer({ min: 1, max: 2 ** 31 }).chain((low) => fc.constantFrom(low, MAX_SAFE - 64 - low % 1000)),
    events: fc.integer({ min: 1, max: 6 }),
    timestampMicros: fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }), fc.constant(MAX_SAFE), fc.constant(1_700_000_000_000_000)),
    commandBytes: fc.uint8Array({ minLength: WORDS_PER_COMMAND * 8, maxLength: WORDS_PER_COMMAND * 8 }),
    eventByte: fc.integer({ min: 0, max: 255 }),
    previousHash: fc.uint8Array({ minLength: HASH_BYTES, maxLength: HASH_BYTES }),
    hash: fc.uint8Array({ minLength: HASH_BYTES, maxLength: HASH_BYTES }),
  })
  .map((spec): JournalRecord => {
    const command = new Float64Array(WORDS_PER_COMMAND);
    wordBytes(command).set(spec.commandBytes);
    const events = new Float64Array(spec.events * WORDS_PER_EVENT);
    wordBytes(events).fill(spec.eventByte);
    return {
      version: 1, firstSequence: spec.firstSequence, lastSequence: spec.firstSequence + spec.events - 1,
      timestampMicros: spec.timestampMicros, command, events, previousHash: spec.previousHash, hash: spec.hash,
    };
  });

describe('record codec', () => {
  it('keeps the word counts of core/schema', () => {
    assert.equal(WORDS_PER_COMMAND, COMMAND_WORDS);
    assert.equal(WORDS_PER_EVENT, EVENT_WORDS);
  });

  it('round-trips every record byte for byte', () => {
    fc.assert(fc.property(recordArbitrary, (record) => assertSameRecord(decodeRecord(encodeRecord(record)), record)));
  });

  it('writes exactly the bytes msgpackr Packr writes, and re-encodes decoded bytes identically', () => {
    fc.assert(fc.property(recordArbitrary, (record) => {
      const encoded = encodeRecord(record);
      assert.deepEqual(Buffer.from(encoded), Buffer.from(encodeRecordWithPackr(record)));
      assert.deepEqual(Buffer.from(encodeRecord(decodeRecord(encoded))), Buffer.from(encoded));
    }));
  });

  it('rejects any truncation as JOURNAL_CORRUPT', () => {
    fc.assert(fc.property(recordArbitrary, fc.nat(), (record, cut) => {
      const encoded = encodeRecord(record);
      assert.throws(() => decodeRecord(encoded.subarray(0, cut % encoded.length)), rejectsWith('JOURNAL_CORRUPT'));
    }));
  });

  it('dispatches on version: a hand-built version 0 record decodes and verifies', () => {
    const [v1] = makeRecords(1, 1);
    // v0 (prototype) layout: [0, firstSequence, eventCount, timestampMicros, previousHash, command, events, hash]
    const v0 = new Packr({ useRecords: false }).pack([0, 1, 1, 5, new Uint8Array(GENESIS_HASH), wordBytes(v1!.command), wordBytes(v1!.events), new Uint8Array(32)]);
    const decoded = decodeRecord(v0);
    assert.equal(decoded.version, 0);
    assert.equal(decoded.lastSequence, 1);
    assert.equal(decoded.timestampMicros, 5);
    assert.deepEqual(decoded.command, v1!.command);
    const [next] = makeRecords(2, 1);
    chainRecords([decoded, next!]); // an old record followed by a current one
    assert.deepEqual(Buffer.from(encodeRecord(decoded)).subarray(0, 4), Buffer.from(v0).subarray(0, 4));
    const result = verifyChain([decodeRecord(encodeRecord(decoded)), next!]);
    assert.ok(result.ok && result.count === 2, JSON.stringify(result));
    const unknown = new Packr({ useRecords: false }).pack([7, 1, 1, 5, 0, 0, 0, 0]);
    assert.throws(() => decodeRecord(unknown), /unknown record format version 7/);
  });

  it('bounds the largest record', () => {
    assert.ok(RECORD_BYTES_MAX < 1 << 20, 'one record must fit one EventStoreDB append');
    assert.throws(() => new RecordWriter(64), rejectsWith('JOURNAL_BAD_OPTION'));
  });
});

/** A word as the matcher writes them (safe integers, mostly small), or anything else a Float64Array holds. */
const wordArbitrary = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 300 }) },
  { weight: 2, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 32 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, MAX_SAFE, -MAX_SAFE, 2 ** 52, 2 ** 52 - 1, -(2 ** 52), 239, 240, 255, 256, NaN, Infinity, -Infinity) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.maxSafeInteger() },
);

/** Any record of format v2 (this build's): event headers mostly as the matcher writes them, any word anywhere. */
const packedRecordArbitrary = fc
  .record({
    firstSequence: fc.oneof(fc.integer({ min: 1, max: 2 ** 31 }), fc.constant(MAX_SAFE - 64)),
    timestampMicros: fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }), fc.constant(MAX_SAFE), fc.constant(1_700_000_000_000_000)),
    command: fc.array(wordArbitrary, { minLength: WORDS_PER_COMMAND, maxLength: WORDS_PER_COMMAND }),
    events: fc.array(fc.tuple(fc.boolean(), fc.array(wordArbitrary, { minLength: WORDS_PER_EVENT, maxLength: WORDS_PER_EVENT })), { minLength: 1, maxLength: 40 }),
    previousHash: fc.uint8Array({ minLength: HASH_BYTES, maxLength: HASH_BYTES }),
    hash: fc.uint8Array({ minLength: HASH_BYTES, maxLength: HASH_BYTES }),
  })
  .map((spec): JournalRecord => {
    const command = Float64Array.from(spec.command);
    if (spec.command[0]! % 3 === 0) command[1] = spec.timestampMicros; // as the matcher writes it
    const events = new Float64Array(spec.events.length * WORDS_PER_EVENT);
    spec.events.forEach(([asMatcher, words], i) => {
      events.set(words, i * WORDS_PER_EVENT);
      if (asMatcher) {
        events[i * WORDS_PER_EVENT + 1] = spec.firstSequence + i;
        events[i * WORDS_PER_EVENT + 2] = spec.timestampMicros;
        events[i * WORDS_PER_EVENT + 3] = command[2]!;
      }
    });
    return {
      version: 2, firstSequence: spec.firstSequence, lastSequence: spec.firstSequence + spec.events.length - 1,
      timestampMicros: spec.timestampMicros, command, events, previousHash: spec.previousHash, hash: spec.hash,
    };
  });

function sameWords(actual: Float64Array, expected: Float64Array, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) assert.ok(Object.is(actual[i], expected[i]), `${what} word ${i}: ${actual[i]} vs ${expected[i]}`);
}

describe('record codec v2 (packed words)', () => {
  it('round-trips every word (-0, NaN, infinities, doubles, the whole safe range), as msgpackr would write it, canonically', () => {
    fc.assert(fc.property(packedRecordArbitrary, (record) => {
      const encoded = encodeRecord(record);
      const decoded = decodeRecord(encoded);
      assert.equal(decoded.version, 2);
      assert.deepEqual([decoded.firstSequence, decoded.lastSequence, decoded.timestampMicros], [record.firstSequence, record.lastSequence, record.timestampMicros]);
      sameWords(decoded.command, record.command, 'command');
      sameWords(decoded.events, record.events, 'events');
      assert.deepEqual(Buffer.from(encoded), Buffer.from(encodeRecordWithPackr(record)));
      assert.deepEqual(Buffer.from(encodeRecord(decoded)), Buffer.from(encoded));
      assert.ok(encoded.length <= encodedRecordBytesMax(record.lastSequence - record.firstSequence + 1));
      // The fast parser finds the same fields and words.
      const layout = newRecordLayout();
      assert.equal(parseRecordLayout(encoded, layout), undefined);
      const command = new Float64Array(WORDS_PER_COMMAND);
      const events = new Float64Array(record.events.length);
      assert.ok(readRecordWords(encoded, layout, command, 0, events, 0));
      sameWords(command, record.command, 'parsed command');
      sameWords(events, record.events, 'parsed events');
    }), { numRuns: 300 });
  });

  it('keeps a fraction that subtracting the base would round away (found by the property above)', () => {
    const [record] = makeRecords(1, 1);
    record!.events.fill(0);
    record!.events[1] = -5e-324; // - base 1 rounds to exactly -1
    record!.events[4] = 2 ** 53 - 0.5 - 2 ** 52; // not an integer, near integers
    sameWords(decodeRecord(encodeRecord(record!)).events, record!.events, 'events');
  });

  it('rejects any truncation as JOURNAL_CORRUPT', () => {
    fc.assert(fc.property(packedRecordArbitrary, fc.nat(), (record, cut) => {
      const encoded = encodeRecord(record);
      assert.throws(() => decodeRecord(encoded.subarray(0, cut % encoded.length)), rejectsWith('JOURNAL_CORRUPT'));
    }));
  });

  it('stores the matcher\'s words in a fraction of v1\'s bytes: headers it can predict cost one byte', () => {
    const [record] = makeRecords(1, 1);
    record!.command.fill(0).set([2, 1_700_000_000_000_000, 7, 42, 1, 3]);
    record!.timestampMicros = 1_700_000_000_000_000;
    record!.events.fill(0).set([2, 1, 1_700_000_000_000_000, 7, 123_456, 42, 1, 3, 1, 1, 1, 10_050, 100]);
    const packed = encodeRecord(record!);
    const raw = encodeRecord({ ...record!, version: 1 });
    assert.ok(packed.length < raw.length / 2.5, `${packed.length} packed vs ${raw.length} raw bytes`);
    // array, version, first, last, timestamp (float64), command bin: 16 one-byte words, events bin: 14 one-byte
    // words, order id 123456 in 1+3 bytes, price 10050 in 1+2.
    assert.equal(packed.length - 2 * HASH_FIELD_BYTES, 1 + 1 + 1 + 1 + 9 + 2 + 16 + 2 + 14 + 4 + 3);
  });

  it('refuses non-canonical packed words: a longer form than needed, a raw word with an integer form, an unknown tag', () => {
    const out = new Float64Array(WORDS_PER_COMMAND);
    const canonical = new Uint8Array(WORDS_PER_COMMAND).fill(5);
    assert.equal(unpackCommand(canonical, 0, canonical.length, out, 0, 0), WORDS_PER_COMMAND);
    const longer = Uint8Array.from([0xf0, 5, ...new Array(WORDS_PER_COMMAND - 1).fill(5)]); // 5 in two bytes
    assert.equal(unpackCommand(longer, 0, longer.length, out, 0, 0), -1);
    const zeroTop = Uint8Array.from([0xf1, 0xf0, 0, ...new Array(WORDS_PER_COMMAND - 1).fill(5)]); // 240 with a zero top byte
    assert.equal(unpackCommand(zeroTop, 0, zeroTop.length, out, 0, 0), -1);
    const rawInteger = Uint8Array.from([0xff, 0, 0, 0, 0, 0, 0, 0x14, 0x40, ...new Array(WORDS_PER_COMMAND - 1).fill(5)]); // 5.0 raw
    assert.equal(unpackCommand(rawInteger, 0, rawInteger.length, out, 0, 0), -1);
    const rawFraction = Uint8Array.from([0xff, 0, 0, 0, 0, 0, 0, 0x16, 0x40, ...new Array(WORDS_PER_COMMAND - 1).fill(5)]); // 5.5 raw
    assert.equal(unpackCommand(rawFraction, 0, rawFraction.length, out, 0, 0), rawFraction.length);
    assert.equal(out[0], 5.5);
    const unknown = Uint8Array.from([0xf8, ...new Array(WORDS_PER_COMMAND - 1).fill(5)]);
    assert.equal(unpackCommand(unknown, 0, unknown.length, out, 0, 0), -1);
    assert.equal(packedWordCount(unknown, 0, unknown.length), -1);
    assert.equal(unpackCommand(canonical, 0, canonical.length - 1, out, 0, 0), -1, 'one word short');
  });

  it('reads and re-verifies v1 records next to v2 ones: a journal written before packed words stays valid as it grows', () => {
    const [old1, old2, new1, new2] = makeRecords(1, 4);
    old1!.version = 1;
    old2!.version = 1;
    const records = [old1!, old2!, new1!, new2!];
    chainRecords(records);
    const decoded = records.map((record) => decodeRecord(encodeRecord(record)));
    assert.deepEqual(decoded.map((record) => record.version), [1, 1, 2, 2]);
    const result = verifyChain(decoded);
    assert.ok(result.ok && result.count === 4, JSON.stringify(result));
  });
});

describe('auditor fast path on packed words', () => {
  it('refuses non-canonical packed words under a valid hash as BAD_FORMAT at that record, as the decoder does', () => {
    // Records with a valid content (the auditor also checks codes, sequences and timestamps).
    const records = Array.from({ length: 6 }, (_, i) => {
      const timestamp = 1_700_000_000_000_000 + i;
      const command = new Float64Array(WORDS_PER_COMMAND);
      command.set([Commands.NewOrder.code, timestamp, 3]);
      const events = new Float64Array(WORDS_PER_EVENT);
      events.set([Events.OrderAccepted.code, 1 + i, timestamp, 3, 1000 + i]);
      return createRecord(1 + i, timestamp, command, events);
    });
    records[3]!.events[5] = 122; // zigzag 244: the two-byte form F0 F4
    const bodies = records.map((r) => Buffer.from(encodeRecord(r)));
    const target = bodies[3]!;
    const at = target.findIndex((byte, i) => byte === 0xf0 && target[i + 1] === 0xf4);
    assert.ok(at > 0);
    target[at + 1] = 0x05; // 5 in two bytes: one would do
    let head: Uint8Array = new Uint8Array(HASH_BYTES);
    for (const body of bodies) { // reseal: every hash valid
      body.set(head, body.length - HASH_FIELD_BYTES - HASH_BYTES);
      head = recordHash(head, body);
      body.set(head, body.length - HASH_BYTES);
    }
    assert.throws(() => decodeRecord(bodies[3]!), rejectsWith('JOURNAL_CORRUPT'));
    const checker = new RecordChecker({ firstSequence: 1, previousHash: GENESIS_HASH });
    for (const body of bodies) if (!checker.checkBody(body)) break;
    assert.deepEqual([checker.fault?.reason, checker.fault?.sequence, checker.records], ['BAD_FORMAT', records[3]!.firstSequence, 3]);
  });
});

describe('hash chain', () => {
  const chained = (count: number): JournalRecord[] => {
    const records = makeRecords(1, count);
    chainRecords(records);
    return records;
  };

  it('the in-place hot path and the cold path compute the same hashes', () => {
    const cold = chained(10);
    const hot = makeRecords(1, 10);
    const writer = new RecordWriter(RECORD_BYTES_MAX + HASH_BYTES);
    let head: Uint8Array = new Uint8Array(GENESIS_HASH);
    for (const record of hot) {
      const start = sealRecord(writer, record, head);
      assert.deepEqual(Buffer.from(writer.bytes.subarray(start, writer.position)), Buffer.from(encodeRecord(record)));
      assert.deepEqual(Buffer.from(recordHash(head, encodeRecord(record))), Buffer.from(record.hash));
      head = new Uint8Array(record.hash);
    }
    hot.forEach((record, index) => assertSameRecord(record, cold[index]!));
    assert.equal(HASH_FIELD_BYTES, 34);
  });

  it('verifies an intact chain and reports its head', () => {
    const records = chained(10);
    const result = verifyChain(records);
    assert.ok(result.ok);
    assert.equal(result.count, 10);
    assert.deepEqual(Buffer.from(result.headHash), Buffer.from(records[9]!.hash));
  });

  it('a flipped byte is HASH_MISMATCH at that record', () => {
    const records = chained(10);
    records[4]!.events[0]! += 1;
    assert.deepEqual(pick(verifyChain(records)), { firstBadSequence: records[4]!.firstSequence, reason: 'HASH_MISMATCH' });
  });

  it('a deleted record is SEQUENCE_GAP at its first sequence', () => {
    const records = chained(10);
    const [deleted] = records.splice(4, 1);
    assert.deepEqual(pick(verifyChain(records)), { firstBadSequence: deleted!.firstSequence, reason: 'SEQUENCE_GAP' });
  });

  it('two reordered records are SEQUENCE_GAP at the first displaced one', () => {
    const records = chained(10);
    const expected = records[4]!.firstSequence;
    [records[4], records[5]] = [records[5]!, records[4]!];
    assert.deepEqual(pick(verifyChain(records)), { firstBadSequence: expected, reason: 'SEQUENCE_GAP' });
  });

  it('a rewritten previous hash is PREVIOUS_HASH_MISMATCH', () => {
    const records = chained(10);
    records[6]!.previousHash[0]! ^= 1;
    assert.deepEqual(pick(verifyChain(records)), { firstBadSequence: records[6]!.firstSequence, reason: 'PREVIOUS_HASH_MISMATCH' });
  });

  it('a malformed record is BAD_FORMAT', () => {
    const records = chained(10);
    records[2]!.command = new Float64Array(2);
    assert.deepEqual(pick(verifyChain(records)), { firstBadSequence: records[2]!.firstSequence, reason: 'BAD_FORMAT' });
  });
});

function pick(result: ReturnType<typeof verifyChain>): unknown {
  return result.ok ? result : { firstBadSequence: result.firstBadSequence, reason: result.reason };
}

describe('archive', () => {
  async function journalWith(dir: string, count: number): Promise<{ journal: SqliteJournal; records: JournalRecord[] }> {
    const journal = SqliteJournal.open({ path: join(dir, 'journal.db') });
    const records = makeRecords(1, count);
    await journal.append(records);
    return { journal, records };
  }

  it('round-trips a range (brotli and gzip) and verifies like a journal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-archive-'));
    try {
      const { journal, records } = await journalWith(dir, 20);
      for (const compression of ['brotli', 'gzip'] as const) {
        const path = join(dir, `range.${compression}.exja`);
        const header = await exportArchive(journal, { fromSequence: 5, toSequence: 30, path, compression });
        const inRange = records.filter((record) => record.lastSequence >= 5 && record.firstSequence <= 30);
        assert.equal(header.firstSequence, inRange[0]!.firstSequence);
        assert.equal(header.lastSequence, inRange[inRange.length - 1]!.lastSequence);
        assert.equal(header.recordCount, inRange.length);
        assert.deepEqual(Buffer.from((await readArchiveHeader(path)).headHash), Buffer.from(inRange[inRange.length - 1]!.hash));
        const read = await collect(readArchive(path));
        read.forEach((record, index) => assertSameRecord(record, inRange[index]!));
        const result = await verifyArchive(path);
        assert.ok(result.ok && result.count === inRange.length, JSON.stringify(result));
      }
      await assert.rejects(exportArchive(journal, { fromSequence: 1, toSequence: 10_000, path: join(dir, 'x') }), rejectsWith('JOURNAL_BAD_OPTION'));
      await journal.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('detects corruption and names the damaged record', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-archive-'));
    try {
      const { journal, records } = await journalWith(dir, 12);
      const path = join(dir, 'all.exja');
      await exportArchive(journal, { fromSequence: 1, toSequence: journal.durableSequence(), path });
      await journal.close();
      const file = readFileSync(path);
      const headerEnd = 8 + file.readUInt32LE(4);
      // Damage one record inside the content, keep the file well-formed: the chain names it.
      const bodies = new Unpackr({ useRecords: false }).unpack(brotliDecompressSync(file.subarray(headerEnd))) as Uint8Array[];
      const victim = records[7]!;
      const damaged = decodeRecord(bodies[7]!);
      damaged.events[0]! += 1;
      bodies[7] = encodeRecord(damaged);
      writeFileSync(path, Buffer.concat([file.subarray(0, headerEnd), brotliCompressSync(new Packr({ useRecords: false }).pack(bodies))]));
      assert.deepEqual(pick(await verifyArchive(path)), { firstBadSequence: victim.firstSequence, reason: 'HASH_MISMATCH' });
      await assert.rejects(collect(readArchive(path)), rejectsWith('JOURNAL_CORRUPT', victim.firstSequence));
      // Garbage in the compressed bytes: the content cannot even be read.
      const garbled = Buffer.from(file);
      garbled[garbled.length - 20] ^= 0xff;
      writeFileSync(path, garbled);
      const garbledResult = await verifyArchive(path);
      assert.equal(garbledResult.ok, false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
