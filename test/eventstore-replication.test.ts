/**
 * Replication of the embedded journal into EventStoreDB (journal/eventstore-replicator.ts),
 * against the in-memory fake server: every record arrives with the local hashes, a restart
 * continues without duplicates, a stream holding another history or more than the local
 * journal is refused, a second writer fences the replicator; and a running exchange with
 * a stream configured replicates everything it journaled.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteJournal, readJournalFile, readJournalFileDeclaration } from '../journal/sqlite-journal';
import { EventStoreJournal, journalStreamName, unpackBatch } from '../journal/eventstore-journal';
import { EventStoreReplicator } from '../journal/eventstore-replicator';
import { isJournalError } from '../journal/journal';
import type { JournalRecord } from '../journal/journal-record';
import { makeRecords } from './journal-contract';
import { FakeEventStore } from './helpers/fake-eventstore';
import { startTestExchange } from './helpers/test-exchange';
import { OrderType, Side, TimeInForce } from '../core/codes';
import { Events } from '../core/schema';
import { readEngineStream } from '../journal/eventstore-engine-stream';

const INSTANCE = 'replica-test';

function streamRecords(fake: FakeEventStore, instance = INSTANCE): JournalRecord[] {
  return (fake.streams.get(journalStreamName(instance)) ?? []).flatMap((event, revision) => unpackBatch(event.data, BigInt(revision)));
}

async function localRecords(path: string): Promise<JournalRecord[]> {
  const records: JournalRecord[] = [];
  for await (const record of readJournalFile(path)) records.push(record);
  return records;
}

function sameRecords(stream: JournalRecord[], local: JournalRecord[]): void {
  assert.equal(stream.length, local.length);
  for (let i = 0; i < local.length; i++) {
    assert.equal(stream[i]!.firstSequence, local[i]!.firstSequence);
    assert.deepEqual(Buffer.from(stream[i]!.hash), Buffer.from(local[i]!.hash), `record ${local[i]!.firstSequence}: same hash`);
    assert.deepEqual(Buffer.from(stream[i]!.events.buffer), Buffer.from(local[i]!.events.buffer));
  }
}

async function localJournal(dir: string, name: string, records: number): Promise<{ path: string; durable: number }> {
  const path = join(dir, `${name}.db`);
  const journal = SqliteJournal.open({ path, durability: 'none' });
  journal.appendSync(makeRecords(1, records));
  const durable = journal.durableSequence();
  await journal.close();
  return { path, durable };
}

async function replicate(fake: FakeEventStore, path: string, durable: number, onFatal?: (message: string) => void): Promise<EventStoreReplicator> {
  const stream = await EventStoreJournal.open({ instanceId: INSTANCE, client: fake });
  const replicator = new EventStoreReplicator({ journalPath: path, stream, localDurable: () => durable, pollMs: 5, onFatal });
  await replicator.start();
  return replicator;
}

describe('EventStoreDB replication', () => {
  it('copies every durable record with the local hashes; a restart continues after the stream\'s newest record', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replication-'));
    try {
      const fake = new FakeEventStore();
      const first = await localJournal(dir, 'a', 3000);
      let replicator = await replicate(fake, first.path, 1000); // the journal thread had published less so far
      await replicator.stop();
      const boundary = Math.max(...(await localRecords(first.path)).map((r) => r.lastSequence).filter((last) => last <= 1000));
      assert.equal(replicator.replicatedSequence(), boundary, 'exactly the records that were durable');
      replicator = await replicate(fake, first.path, first.durable);
      assert.equal(replicator.lagEvents(), first.durable - replicator.replicatedSequence());
      await replicator.stop();
      assert.equal(replicator.replicatedSequence(), first.durable);
      sameRecords(streamRecords(fake), await localRecords(first.path));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a stream with another history or more records than the local journal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replication-'));
    try {
      const fake = new FakeEventStore();
      const long = await localJournal(dir, 'long', 50);
      await (await replicate(fake, long.path, long.durable)).stop();
      const short = await localJournal(dir, 'short', 20);
      await assert.rejects(replicate(fake, short.path, short.durable), (error: unknown) => isJournalError(error, 'JOURNAL_FENCED') && /beyond the local journal/.test((error as Error).message));

      const other = new FakeEventStore();
      const forked = join(dir, 'forked.db');
      const journal = SqliteJournal.open({ path: forked, durability: 'none' });
      const records = makeRecords(1, 50);
      records[10]!.events[5] += 1; // same shape, different content from record 11 on
      journal.appendSync(records);
      await journal.close();
      await (await replicate(other, forked, long.durable)).stop();
      await assert.rejects(replicate(other, long.path, long.durable), /another history/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a second writer on the stream fences the replicator, which reports and stops', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replication-'));
    try {
      const fake = new FakeEventStore();
      const local = await localJournal(dir, 'a', 100);
      let durable = 40;
      const fatal: string[] = [];
      const stream = await EventStoreJournal.open({ instanceId: INSTANCE, client: fake });
      const replicator = new EventStoreReplicator({ journalPath: local.path, stream, localDurable: () => durable, pollMs: 5, onFatal: (m) => fatal.push(m) });
      await replicator.start();
      const boundary = Math.max(...(await localRecords(local.path)).map((r) => r.lastSequence).filter((last) => last <= durable));
      while (replicator.replicatedSequence() < boundary) await new Promise((resolve) => setTimeout(resolve, 5)); // caught up, idle
      const intruder = await EventStoreJournal.open({ instanceId: INSTANCE, client: fake });
      await intruder.append(makeRecords(replicator.replicatedSequence() + 1, 1));
      durable = local.durable;
      while (fatal.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.match(fatal[0]!, /JOURNAL_FENCED/);
      await assert.rejects(replicator.stop(), (error: unknown) => isJournalError(error, 'JOURNAL_FENCED'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a running exchange with a stream configured replicates everything it journaled, and says so in its metrics', async () => {
    const fake = new FakeEventStore();
    const exchange = await startTestExchange({ eventStoreInstance: INSTANCE, httpPort: 0 }, undefined, { eventStoreClient: fake });
    const journalPath = join(exchange.config.dataDirectory, 'journal.db');
    try {
      const client = exchange.client(4);
      await client.connect();
      for (let i = 1; i <= 20; i++) {
        client.send('NewOrder', { account: 4, instrument: 1, clientOrderId: i, side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, price: 9_000 + i, quantity: 1 });
      }
      for (let i = 1; i <= 20; i++) await client.next((m) => m.type === 'OrderAccepted' && m.clientOrderId === i);
      await client.close();
      const replicator = exchange.supervisor.replicator!;
      while (replicator.lagEvents() > 0) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.ok(replicator.replicatedSequence() > 20);
      // The engine options travel beside the records (journal-<instance>-engine) for auditors and standbys.
      assert.deepEqual(await readEngineStream(fake, INSTANCE), readJournalFileDeclaration(journalPath));
      assert.equal((await readEngineStream(fake, INSTANCE))!.semantics, 2);
    } finally {
      const records = exchange.config.dataDirectory;
      await exchange.supervisor.stop('test done');
      sameRecords(streamRecords(fake), await localRecords(journalPath));
      rmSync(records, { recursive: true, force: true });
    }
  });

  it('with eventStoreAcks an order is acknowledged only once the stream holds it; the stream being down holds acks back', async () => {
    const fake = new FakeEventStore();
    fake.delayMs = 30;
    const exchange = await startTestExchange(
      { eventStoreInstance: INSTANCE, eventStoreUrl: 'esdb://stand-in:2113', eventStoreAcks: true },
      undefined,
      { eventStoreClient: fake },
    );
    try {
      const client = exchange.client(4);
      await client.connect();
      const streamHolds = (orderId: number) => streamRecords(fake).some((record) => {
        for (let offset = 0; offset < record.events.length; offset += 16) {
          if (record.events[offset] === Events.OrderAccepted.code && record.events[offset + Events.OrderAccepted.at.orderId] === orderId) return true;
        }
        return false;
      });
      for (let i = 1; i <= 5; i++) {
        client.send('NewOrder', { account: 4, instrument: 1, clientOrderId: i, side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, price: 9_000 + i, quantity: 1 });
        const accepted = await client.next((m) => m.type === 'OrderAccepted' && m.clientOrderId === i);
        assert.ok(streamHolds(Number(accepted.orderId)), `order ${accepted.orderId} was in the stream before its acknowledgement`);
      }
      // The stream refuses appends for a while (transient errors, retried): the next ack waits.
      fake.failures = Array.from({ length: 3 }, () => ({ type: 'unavailable' }));
      client.send('NewOrder', { account: 4, instrument: 1, clientOrderId: 6, side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, price: 9_006, quantity: 1 });
      const accepted = await client.next((m) => m.type === 'OrderAccepted' && m.clientOrderId === 6);
      assert.ok(streamHolds(Number(accepted.orderId)), 'acknowledged only after the retried append landed');
      assert.ok(exchange.supervisor.core.control.localDurableSequence >= exchange.supervisor.core.control.durableSequence);
      await client.close();
    } finally {
      await exchange.stop();
    }
  });
});
