/**
 * The EventStoreDB backend: the shared contract against an in-memory fake of the client (always)
 * and against a real server (when EXCHANGE_ESDB_URL is set), plus unit tests of ids, batching,
 * fencing and retries.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ErrorType } from '@eventstore/db-client';
import {
  batchEventId, ESDB_APPEND_HEADROOM_BYTES, ESDB_CONNECTION_ENV, ESDB_ERROR_TYPES,
  EventStoreJournal, journalStreamName, packBatches, SealedRecord, unpackBatch,
} from '../journal/eventstore-journal';
import { encodeRecord } from '../journal/record-codec';
import { chainRecords } from '../journal/hash-chain';
import { collect, makeRecords, rejectsWith, runJournalContract } from './journal-contract';
import { FakeEventStore } from './helpers/fake-eventstore';

runJournalContract('eventstore (in-memory fake client)', async () => {
  const fake = new FakeEventStore();
  return {
    open: () => EventStoreJournal.open({ instanceId: 'contract', client: fake }),
    tamper: async (firstSequence) => fake.tamper(journalStreamName('contract'), firstSequence),
    cleanup: async () => undefined,
  };
});

const liveUrl = process.env[ESDB_CONNECTION_ENV];
runJournalContract('eventstore (live server)', async () => {
  const instanceId = `contract-${randomUUID()}`; // a fresh stream per test
  return {
    open: () => EventStoreJournal.open({ instanceId, connectionString: liveUrl }),
    cleanup: async () => undefined,
  };
}, { skip: liveUrl ? undefined : `${ESDB_CONNECTION_ENV} not set: no EventStoreDB server configured` });

function sealed(count: number): SealedRecord[] {
  const records = makeRecords(1, count);
  chainRecords(records);
  return records.map((record) => ({ firstSequence: record.firstSequence, lastSequence: record.lastSequence, body: encodeRecord(record) }));
}

describe('eventstore journal without a server', () => {
  it('derives deterministic v4-shaped event ids from instance, first sequence and content', () => {
    const head = new Uint8Array(32).fill(7);
    const id = batchEventId('exchange-a', 42, head);
    assert.equal(id, batchEventId('exchange-a', 42, new Uint8Array(32).fill(7)));
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(id, batchEventId('exchange-a', 43, head));
    assert.notEqual(id, batchEventId('exchange-b', 42, head));
    assert.notEqual(id, batchEventId('exchange-a', 42, new Uint8Array(32)), 'a forked batch must not look like a retry');
  });

  it('splits batches under the max append size, in order, and unpacks them back', () => {
    const records = sealed(300);
    const limit = 8 * 1024;
    const batches = packBatches(records, limit);
    assert.ok(batches.length > 1);
    let next = 1;
    let count = 0;
    for (const batch of batches) {
      assert.ok(batch.payload.length <= limit, `${batch.payload.length} > ${limit}`);
      assert.equal(batch.firstSequence, next);
      const unpacked = unpackBatch(batch.payload, 0n);
      assert.equal(unpacked.length, batch.recordCount);
      count += unpacked.length;
      next = batch.lastSequence + 1;
    }
    assert.equal(count, 300);
    assert.throws(() => packBatches(records, 200), rejectsWith('JOURNAL_BAD_RECORD', 1));
  });

  it('keeps the client error type names in step with @eventstore/db-client', () => {
    assert.equal(ESDB_ERROR_TYPES.wrongExpectedVersion, ErrorType.WRONG_EXPECTED_VERSION);
    assert.equal(ESDB_ERROR_TYPES.streamNotFound, ErrorType.STREAM_NOT_FOUND);
    assert.equal(ESDB_ERROR_TYPES.maxAppendSizeExceeded, ErrorType.MAXIMUM_APPEND_SIZE_EXCEEDED);
    assert.deepEqual([...ESDB_ERROR_TYPES.transient],
      [ErrorType.UNAVAILABLE, ErrorType.DEADLINE_EXCEEDED, ErrorType.TIMEOUT, ErrorType.NOT_LEADER]);
  });

  it('one append becomes several events when it exceeds the append size', async () => {
    const fake = new FakeEventStore();
    const maxAppendBytes = ESDB_APPEND_HEADROOM_BYTES + 600 * 1024; // must still hold the largest record
    const journal = await EventStoreJournal.open({ instanceId: 'split', client: fake, maxAppendBytes });
    const records = makeRecords(1, 3000);
    await journal.append(records);
    const events = fake.streams.get(journalStreamName('split'))!;
    assert.ok(events.length > 1);
    assert.ok(events.every((event) => event.data.length <= maxAppendBytes));
    assert.equal((await collect(journal.readFrom(records[2500]!.firstSequence))).length, 500);
    assert.ok((await journal.verify()).ok);
    await journal.close();
  });

  it('fences a second writer with JOURNAL_FENCED instead of forking history', async () => {
    const fake = new FakeEventStore();
    const first = await EventStoreJournal.open({ instanceId: 'fence', client: fake });
    const second = await EventStoreJournal.open({ instanceId: 'fence', client: fake });
    await first.append(makeRecords(1, 2));
    const forked = makeRecords(1, 2);
    forked[1]!.events[0] = -1; // same sequences, different history
    await assert.rejects(second.append(forked), rejectsWith('JOURNAL_FENCED', 1));
    await assert.rejects(second.append(makeRecords(4, 1)), rejectsWith('JOURNAL_FENCED'));
    assert.equal(fake.streams.get(journalStreamName('fence'))!.length, 1);
    await first.close();
    await second.close();
  });

  it('retries a transient failure with the same event id (idempotent)', async () => {
    const fake = new FakeEventStore();
    fake.failures = [{ type: 'unavailable' }];
    const journal = await EventStoreJournal.open({ instanceId: 'retry', client: fake });
    await journal.append(makeRecords(1, 3));
    assert.equal(fake.attempts.length, 2);
    assert.equal(fake.attempts[0], fake.attempts[1]);
    assert.equal(fake.streams.get(journalStreamName('retry'))!.length, 1);
    await journal.close();
  });

  it('maps a server max-append-size rejection to JOURNAL_WRITE_FAILED', async () => {
    const fake = new FakeEventStore();
    fake.maxAppendBytes = 100;
    const journal = await EventStoreJournal.open({ instanceId: 'too-big', client: fake });
    await assert.rejects(journal.append(makeRecords(1, 1)), rejectsWith('JOURNAL_WRITE_FAILED', 1));
    await journal.close();
  });

  it('keeps at most maxAppendsInFlight appends in flight and acknowledges in order', async () => {
    const fake = new FakeEventStore();
    fake.delayMs = 5;
    const maxAppendBytes = ESDB_APPEND_HEADROOM_BYTES + 600 * 1024;
    const journal = await EventStoreJournal.open({ instanceId: 'inflight', client: fake, maxAppendBytes, maxAppendsInFlight: 2 });
    await journal.append(makeRecords(1, 8000)); // several batches
    assert.equal(fake.maxInFlightSeen, 2);
    assert.ok((await journal.verify()).ok);
    await journal.close();
  });

  it('requires a connection string when no client is injected', async () => {
    const saved = process.env[ESDB_CONNECTION_ENV];
    delete process.env[ESDB_CONNECTION_ENV];
    try {
      await assert.rejects(EventStoreJournal.open({ instanceId: 'x' }), rejectsWith('JOURNAL_BAD_OPTION'));
    } finally {
      if (saved !== undefined) process.env[ESDB_CONNECTION_ENV] = saved;
    }
  });
});
