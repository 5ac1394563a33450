/**
 * The running pipeline, with real threads: three producer threads -> inbound ring ->
 * matcher thread -> outbound ring -> journal thread (embedded sqlite, fsync). The
 * journal must hold every submitted command exactly once, in per-producer order, and
 * exactly the events a single-threaded reference run of the journaled command order
 * produces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import os from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { ExchangeCore } from '../core/runtime/exchange';
import { journalFileSemantics, readJournalFileDeclaration, SqliteJournal } from '../journal/sqlite-journal';
import { writeTradingDay } from './helpers/trading-day';
import Database from 'better-sqlite3';
import { declareEngine } from '../journal/engine-declaration';
import { Matcher } from '../core/matcher';
import { CollectingSink, encodeCommand } from '../core/record-objects';
import { packSymbol } from '../core/schema';
import { restoreImage, stateHash } from '../core/state-image';
import pino from 'pino';
import { OrderType, Side, TimeInForce } from '../core/codes';
import { SnapshotScheduler } from '../core/runtime/snapshot-scheduler';
import { SnapshotStore } from '../snapshots/snapshot-store';

const PRODUCERS = 3;
const PER_PRODUCER = 4000;
const limits = { maxAccounts: 64, maxOrders: 1 << 16, maxInstruments: 4 };

test('producers -> matcher -> journal: every command once, per-producer order, events equal a single-thread run', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pipeline-'));
  try {
    const fatal: string[] = [];
    const core = new ExchangeCore({ dataDirectory: dir, risk: false, limits, inboundCapacity: 1024, outboundCapacity: 8192, onFatal: (w, m) => fatal.push(`${w}: ${m}`) });
    await core.start();
    for (const instrument of [1, 2]) {
      const [symbolHead, symbolTail] = packSymbol(`P${instrument}`);
      core.submit(encodeCommand('AddInstrument', { instrument, symbolHead, symbolTail, tickSize: 1, lotSize: 1, bandBasisPoints: 2000, maxOrderQuantity: 1000, maxOrderNotional: 1e9, referencePrice: 1000 }, 1));
    }
    const producers = Array.from({ length: PRODUCERS }, (_, producer) => new Worker(path.join(__dirname, 'pipeline-producer.js'), {
      workerData: { inbound: core.inbound.buffer, producer: producer + 1, count: PER_PRODUCER },
    }));
    const submitted = await Promise.all(producers.map((w) => new Promise<number>((resolve, reject) => {
      w.once('message', (m: { submitted: number }) => resolve(m.submitted));
      w.once('error', reject);
    })));
    const stopped = await core.stop();
    assert.deepEqual(fatal, []);
    assert.equal(stopped.durableSequence, stopped.sequence, 'everything the matcher emitted is durable');

    const journal = SqliteJournal.open({ path: core.journalPath });
    const reference = new CollectingSink();
    const matcher = new Matcher({ limits, sink: reference });
    const lastIndex = new Map<number, number>();
    const journaled: Float64Array[] = [];
    let commands = 0;
    for await (const record of journal.readFrom(1)) {
      commands++;
      const origin = record.command[2];
      const producer = Math.floor(origin / 2 ** 32);
      if (producer > 0) {
        const index = origin % 2 ** 32;
        assert.ok(index > (lastIndex.get(producer) ?? -1), `producer ${producer} order kept`);
        lastIndex.set(producer, index);
      }
      matcher.process(record.command, 0);
      matcher.flush();
      journaled.push(record.events);
    }
    await journal.close();
    assert.equal(commands, 2 + submitted.reduce((a, b) => a + b, 0), 'every command journaled exactly once');
    for (let p = 1; p <= PRODUCERS; p++) assert.equal(lastIndex.get(p), submitted[p - 1] - 1);
    const expected = Buffer.concat(reference.records.map((r) => Buffer.from(r.buffer)));
    const actual = Buffer.concat(journaled.map((e) => Buffer.from(e.buffer, e.byteOffset, e.byteLength)));
    assert.equal(actual.length, expected.length);
    assert.ok(actual.equals(expected), 'journaled events are byte-identical to the reference run');
    assert.equal(stateHash(matcher), stopped.stateHash, 'same final state hash');

    // Restart: recovery replays the journal to the same state.
    const again = new ExchangeCore({ dataDirectory: dir, risk: false, limits });
    const report = await again.start();
    assert.equal(report.stateHash, stopped.stateHash);
    assert.equal(report.sequence, stopped.sequence);
    await again.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('snapshots on demand in a running core: the matcher reuses its image arena, each restores, restart starts from the newest', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pipeline-snapshots-'));
  try {
    const core = new ExchangeCore({ dataDirectory: dir, risk: false, limits });
    await core.start();
    const scheduler = new SnapshotScheduler(core, { everyEvents: 1e9, everySeconds: 1e6, keep: 3 }, pino({ level: 'silent' }), 0);
    const [symbolHead, symbolTail] = packSymbol('SNAP');
    core.submit(encodeCommand('AddInstrument', { instrument: 1, symbolHead, symbolTail, tickSize: 1, lotSize: 1, bandBasisPoints: 5000, maxOrderQuantity: 1000, maxOrderNotional: 1e9, referencePrice: 1000 }, 1));
    let clientOrderId = 1;
    const rest = (count: number) => {
      for (let i = 0; i < count; i++, clientOrderId++) {
        core.submit(encodeCommand('NewOrder', {
          account: 1 + (i % 8), instrument: 1, clientOrderId, side: i % 2 === 0 ? Side.Buy : Side.Sell, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC,
          price: 1000 + (i % 2 === 0 ? -1 - (i % 50) : 1 + (i % 50)), quantity: 1 + (i % 7),
        }, 2 + clientOrderId));
      }
    };
    const sequences: number[] = [];
    for (const orders of [300, 600, 900]) {
      rest(orders);
      while (core.control.commandsProcessed < clientOrderId) await new Promise((r) => setTimeout(r, 2));
      await scheduler.requestNow();
      assert.equal(core.control.imageArenaBusy, false, 'the scheduler released the arena once the writer was done');
      sequences.push(core.control.snapshotSequence);
    }
    assert.ok(sequences[0]! < sequences[1]! && sequences[1]! < sequences[2]!, `three snapshots: ${sequences.join(', ')}`);
    rest(100);
    await scheduler.close();
    const stopped = await core.stop();

    const store = new SnapshotStore(core.snapshotDirectory);
    for (const sequence of sequences) {
      const image = store.load(sequence).image;
      assert.equal(image.header.sequence, sequence);
      restoreImage(image); // every stored image is whole (the arena was not overwritten while it was written)
    }
    const again = new ExchangeCore({ dataDirectory: dir, risk: false, limits });
    const report = await again.start();
    assert.equal((report.recovery as { fromSnapshot: number | null }).fromSnapshot, sequences[2]);
    assert.equal(report.stateHash, stopped.stateHash);
    await again.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a journal records the engine options it was written with; a restart with the risk layer flipped is refused clearly', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pipeline-declaration-'));
  try {
    const core = new ExchangeCore({ dataDirectory: dir, risk: false, limits });
    await core.start();
    await core.stop();
    assert.deepEqual(readJournalFileDeclaration(core.journalPath), declareEngine(false, limits));
    const fatal: string[] = [];
    const flipped = new ExchangeCore({ dataDirectory: dir, risk: true, limits, onFatal: (who, message) => fatal.push(`${who}: ${message}`) });
    await assert.rejects(flipped.start(), /written with the risk layer off; this exchange is configured with it on/);
    await flipped.kill();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a journal written under engine semantics 1 recovers under them (under 2 it would diverge); new journals declare the latest', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pipeline-semantics-'));
  try {
    const journalPath = path.join(dir, 'journal.db');
    assert.equal(journalFileSemantics(journalPath), 2, 'no file yet: its writer will declare the latest');
    const day = writeTradingDay(journalPath, { declare: true, semantics: 1 });
    assert.equal(journalFileSemantics(journalPath), 1);
    const progress: string[] = [];
    const core = new ExchangeCore({ dataDirectory: dir, risk: true, onProgress: (_who, line) => progress.push(line) });
    const report = await core.start();
    assert.equal(report.sequence, day.lastSequence, 'every event of the day re-executed and matched');
    assert.ok(progress.some((line) => /written under engine semantics 1/.test(line)), progress.join('\n'));
    await core.stop();
    // The same journal declared as semantics 2 (a lie): replay diverges at the first fill that moved a hold.
    const db = new Database(journalPath);
    db.prepare("UPDATE journal_meta SET value = replace(value, '\"semantics\":1', '\"semantics\":2') WHERE key = 'engine'").run();
    db.close();
    assert.equal(journalFileSemantics(journalPath), 2);
    const lied = new ExchangeCore({ dataDirectory: dir, risk: true, onFatal: () => {} });
    await assert.rejects(lied.start(), /diverge|differ|PositionChanged|mismatch/i);
    await lied.kill();
    const fresh = path.join(dir, 'fresh');
    const created = new ExchangeCore({ dataDirectory: fresh, risk: true });
    await created.start();
    await created.stop();
    assert.equal(readJournalFileDeclaration(created.journalPath)!.semantics, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
