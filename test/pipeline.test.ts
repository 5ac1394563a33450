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
import { SqliteJournal } from '../journal/sqlite-journal';
import { Matcher } from '../core/matcher';
import { CollectingSink, encodeCommand } from '../core/record-objects';
import { packSymbol } from '../core/schema';
import { stateHash } from '../core/state-image';

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
