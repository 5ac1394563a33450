/**
 * A standby on another machine: it follows the leader's EventStoreDB stream (the in-memory
 * fake server here), mirrors it hash for hash into its own embedded journal, takes over
 * when the leader's health stops answering, and the new leader continues the same stream;
 * a writer of the old leader is fenced by the stream's expected revision.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import pino from 'pino';
import { startTestExchange, TestExchange } from './helpers/test-exchange';
import { FakeEventStore } from './helpers/fake-eventstore';
import { cleanRunHash } from './helpers/child-exchange';
import { makeRecords } from './journal-contract';
import { Standby, assertRecoveredFrom } from '../core/runtime/standby';
import { EventStoreStandbySource } from '../core/runtime/standby-sources';
import { EventStoreJournal, journalStreamName, unpackBatch } from '../journal/eventstore-journal';
import { readJournalFile, readJournalFileDeclaration } from '../journal/sqlite-journal';
import { isJournalError } from '../journal/journal';
import type { JournalRecord } from '../journal/journal-record';
import { OrderType, Side, TimeInForce } from '../core/codes';
import { writeEngineStream } from '../journal/eventstore-engine-stream';
import { declareEngine } from '../journal/engine-declaration';
import { defaultConfig } from '../core/runtime/config';

const INSTANCE = 'standby-stream';

async function records(journalPath: string): Promise<JournalRecord[]> {
  const all: JournalRecord[] = [];
  for await (const record of readJournalFile(journalPath)) all.push(record);
  return all;
}

test('a standby follows the EventStoreDB stream from another machine, takes over on a complete local journal, and the stream continues', { timeout: 60_000 }, async () => {
  const fake = new FakeEventStore();
  const leaderDir = mkdtempSync(path.join(os.tmpdir(), 'leader-'));
  const standbyDir = mkdtempSync(path.join(os.tmpdir(), 'standby-'));
  const overrides = { eventStoreUrl: 'esdb://stand-in:2113', eventStoreInstance: INSTANCE };
  let healthy = true;
  const health = http.createServer((_, res) => res.writeHead(healthy ? 200 : 503).end());
  await new Promise<void>((resolve) => health.listen(0, '127.0.0.1', resolve));
  const healthUrl = `http://127.0.0.1:${(health.address() as { port: number }).port}/health`;
  let leader: TestExchange | undefined = await startTestExchange(overrides, leaderDir, { eventStoreClient: fake });
  let successor: TestExchange | undefined;
  try {
    const standbyConfig = { ...leader.config, dataDirectory: standbyDir };
    const standby = new Standby(standbyConfig, pino({ level: 'silent' }), healthUrl, await EventStoreStandbySource.open(standbyConfig, fake));
    const following = standby.follow();

    const client = leader.client(4);
    await client.connect();
    for (let i = 1; i <= 30; i++) {
      client.send('NewOrder', { account: 4, instrument: 1, clientOrderId: i, side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, price: 9_000 + i, quantity: 1 });
    }
    for (let i = 1; i <= 30; i++) await client.next((m) => m.type === 'OrderAccepted' && m.clientOrderId === i);
    await client.close();
    const replicator = leader.supervisor.replicator!;
    while (replicator.lagEvents() > 0 || standby.status().sequence < replicator.replicatedSequence()) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // A writer of the old leader, positioned at the stream's end before the takeover.
    const oldLeaderWriter = await EventStoreJournal.open({ instanceId: INSTANCE, client: fake });

    await leader.stop(); // the leader goes away (its replicator drained into the stream)
    leader = undefined;
    healthy = false;
    const reached = await following;
    const takeoverAt = standby.handOver();
    const leaderRecords = await records(path.join(leaderDir, 'journal.db'));
    assert.equal(reached, leaderRecords[leaderRecords.length - 1]!.lastSequence, 'the standby reached the leader\'s last record');
    const mirrored = await records(path.join(standbyDir, 'journal.db'));
    assert.deepEqual(mirrored.map((r) => Buffer.from(r.hash).toString('hex')), leaderRecords.map((r) => Buffer.from(r.hash).toString('hex')), 'the local journal is the leader\'s, hash for hash');
    assert.deepEqual(readJournalFileDeclaration(path.join(standbyDir, 'journal.db')), readJournalFileDeclaration(path.join(leaderDir, 'journal.db')), 'the mirror declares the leader\'s engine options');

    successor = await startTestExchange(overrides, standbyDir, { eventStoreClient: fake });
    assertRecoveredFrom(successor.supervisor.core, takeoverAt);
    assert.equal(successor.supervisor.core.startReport!.stateHash, await cleanRunHash(path.join(leaderDir, 'journal.db'), reached), 'the state of a clean run over the leader\'s journal');

    const next = successor.client(4);
    await next.connect();
    next.send('NewOrder', { account: 4, instrument: 1, clientOrderId: 31, side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, price: 9_031, quantity: 1 });
    await next.next((m) => m.type === 'OrderAccepted' && m.clientOrderId === 31);
    await next.close();
    const successorReplicator = successor.supervisor.replicator!;
    while (successorReplicator.lagEvents() > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    const stream = (fake.streams.get(journalStreamName(INSTANCE)) ?? []).flatMap((event, revision) => unpackBatch(event.data, BigInt(revision)));
    for (let i = 1; i < stream.length; i++) assert.equal(stream[i]!.firstSequence, stream[i - 1]!.lastSequence + 1, 'one contiguous stream');
    assert.ok(stream[stream.length - 1]!.lastSequence > reached, 'the new leader continues the same stream');

    await assert.rejects(oldLeaderWriter.append(makeRecords(reached + 1, 1)), (error: unknown) => isJournalError(error, 'JOURNAL_FENCED'), 'the old leader is fenced');
  } finally {
    health.close();
    await leader?.stop();
    await successor?.stop();
    rmSync(leaderDir, { recursive: true, force: true });
    rmSync(standbyDir, { recursive: true, force: true });
  }
});

test('a standby on a stream declares the stream\'s engine options (journal-<instance>-engine), not its own configuration', async () => {
  const fake = new FakeEventStore();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'standby-engine-'));
  try {
    const leaderOptions = declareEngine(true, { maxOrders: 12_345 }, 1); // an old leader: semantics 1, other limits
    await writeEngineStream(fake, INSTANCE, leaderOptions);
    const config = { ...defaultConfig(), dataDirectory: dir, eventStoreUrl: 'esdb://stand-in:2113', eventStoreInstance: INSTANCE };
    const source = await EventStoreStandbySource.open(config, fake);
    assert.equal(source.engineSemantics(), 1, 'the standby re-executes under the leader\'s semantics');
    assert.deepEqual(readJournalFileDeclaration(source.localJournalPath), leaderOptions, 'the mirror declares the stream\'s options');
    await source.prepareTakeover();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
