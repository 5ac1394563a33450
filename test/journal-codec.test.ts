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
import { COMMAND_WORDS, EVENT_WORDS } from '../core/schema';
import { HASH_BYTES, JournalRecord, WORDS_PER_COMMAND, WORDS_PER_EVENT } from '../journal/journal-record';
import {
  decodeRecord, encodeRecord, encodeRecordWithPackr, HASH_FIELD_BYTES, RecordWriter, RECORD_BYTES_MAX, wordBytes,
} from '../journal/record-codec';
import { chainRecords, GENESIS_HASH, recordHash, sealRecord, verifyChain } from '../journal/hash-chain';
import { SqliteJournal } from '../journal/sqlite-journal';
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
