/**
 * Recovery against journals written by the real engine (risk-flow commands through
 * Matcher + RiskEngine with echoCommands, cut into records by RecordBuilder, appended to a
 * SqliteJournal): snapshot + tail and full replay reproduce the live engine's state hash;
 * a torn tail is truncated and reported; a damaged record stops recovery naming its
 * sequence; a rewritten (re-chained) history is caught as a divergence; corrupt snapshots
 * fall back to older ones and then to a full replay, each with its log line.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Matcher } from '../core/matcher';
import { RiskEngine } from '../core/risk-engine';
import { encodeCommand } from '../core/record-objects';
import { cutImage, stateHash } from '../core/state-image';
import { RecordBuilder } from '../journal/record-builder';
import { SqliteJournal } from '../journal/sqlite-journal';
import { splitStoredRow } from '../journal/row-records';
import { chainRecords, ChainVerifier, recordHash, VerifyResult } from '../journal/hash-chain';
import { BodyChainVerifier, StoredRecordHasher, StoredRow } from '../snapshots/body-chain-verifier';
import { JournalReplayFeed, ReplayFeed } from '../snapshots/replay-feed';
import { SqliteReplayFeed } from '../snapshots/sqlite-replay-feed';
import { GENESIS_ANCHOR } from '../journal/hash-chain';
import { PageBuilder, parseRecordBody } from '../snapshots/replay-page';
import { makeRecords } from './journal-contract';
import { decodeRecord, encodeRecord } from '../journal/record-codec';
import { encodeSnapshot } from '../snapshots/snapshot-format';
import { SnapshotStore } from '../snapshots/snapshot-store';
import { recover, RecoveryProgress } from '../snapshots/recovery';
import { isSnapshotError } from '../snapshots/snapshot-error';
import { riskFlow } from './helpers/risk-flow';
import { FlowCommand } from './helpers/random-flow';
import { packSymbol } from '../core/schema';

const limits = {
  maxOrders: 8192, maxPriceLevels: 4096, maxLevelsPerSide: 1024, maxInstruments: 4, maxAccounts: 64,
  clientOrderIdWindow: 8192, maxPositions: 1024, cashReferenceWindow: 8192,
};
const FLOW_COMMANDS = 4000;
const APPEND_EVERY = 50;
/** Snapshots are cut after these many commands (the store keeps the newest 3). */
const SNAPSHOT_AFTER = [1000, 2000, 3000, 3500];

interface Built {
  dir: string;
  journalPath: string;
  store: SnapshotStore;
  flow: FlowCommand[];
  /** State hash of the live engine after the whole flow. */
  finalHash: string;
  /** first_seq of every record, in order. */
  recordStarts: number[];
  lastSequence: number;
  snapshotSequences: number[];
}

function liveEngine(): { matcher: Matcher; builder: RecordBuilder } {
  const builder = new RecordBuilder();
  const matcher = new Matcher({ limits, risk: new RiskEngine(), echoCommands: true, sink: { onEvents: (w, c) => builder.consume(w, c) } });
  return { matcher, builder };
}

function hashAfter(flow: FlowCommand[]): string {
  const matcher = new Matcher({ limits, risk: new RiskEngine() });
  const words = new Float64Array(16);
  for (const c of flow) {
    encodeCommand(c.name, c.fields as never, c.timestamp, 0, words);
    matcher.process(words, 0);
    matcher.flush();
  }
  return stateHash(matcher);
}

/**
 * The live exchange: every command journaled; snapshots cut once the journal holds their sequence.
 * packRows: the journal packs records into rows as the journal thread does, and each snapshot is
 * cut before its records are appended with the ones after them, so it falls inside a packed row.
 */
function build(seed: number, options: { packRows?: boolean } = {}): Built {
  const dir = mkdtempSync(join(tmpdir(), 'recovery-test-'));
  const journalPath = join(dir, 'journal.db');
  const journal = SqliteJournal.open({ path: journalPath, durability: 'none', packRows: options.packRows === true });
  const store = SnapshotStore.forJournal(journalPath, { fsync: false });
  const flow = riskFlow(seed, FLOW_COMMANDS);
  const { matcher, builder } = liveEngine();
  const words = new Float64Array(16);
  const recordStarts: number[] = [];
  const snapshotSequences: number[] = [];
  let lastHash = new Uint8Array(32);
  /** Snapshots cut but not saved yet: their record's hash is known once it is appended. */
  const unsaved: Array<{ sequence: number; image: ReturnType<typeof cutImage> }> = [];
  const appendPending = () => {
    const records = builder.take();
    if (records.length === 0) return;
    journal.appendSync(records);
    for (const r of records) recordStarts.push(r.firstSequence);
    lastHash = new Uint8Array(records[records.length - 1]!.hash);
    for (const { sequence, image } of unsaved.splice(0)) {
      const record = records.find((r) => r.lastSequence === sequence)!;
      store.save(sequence, encodeSnapshot({ image, sequence, chainHash: record.hash }));
    }
  };
  flow.forEach((c, i) => {
    encodeCommand(c.name, c.fields as never, c.timestamp, 0, words);
    matcher.process(words, 0);
    matcher.flush();
    builder.finishCurrent();
    if ((i + 1) % APPEND_EVERY === 0) appendPending();
    // Packed: 7 commands before an append, so the snapshot's record lies inside the appended rows.
    if (SNAPSHOT_AFTER.includes(i + 1 + (options.packRows === true ? 7 : 0))) {
      if (options.packRows === true) {
        unsaved.push({ sequence: matcher.out.sequence, image: cutImage(matcher) }); // appended later, mid-row
      } else {
        appendPending();
        const sequence = matcher.out.sequence;
        store.save(sequence, encodeSnapshot({ image: cutImage(matcher), sequence, chainHash: lastHash }));
      }
      snapshotSequences.push(matcher.out.sequence);
    }
  });
  appendPending();
  store.prune();
  const lastSequence = matcher.out.sequence;
  void journal.close();
  return { dir, journalPath, store, flow, finalHash: stateHash(matcher), recordStarts, lastSequence, snapshotSequences };
}

/** A copy of the built journal and its snapshots, for a test that damages them. */
function copyOf(built: Built): { journalPath: string; store: SnapshotStore; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'recovery-copy-'));
  const journalPath = join(dir, 'journal.db');
  cpSync(built.journalPath, journalPath);
  cpSync(built.store.directory, `${journalPath}.snapshots`, { recursive: true });
  return { journalPath, store: SnapshotStore.forJournal(journalPath, { fsync: false }), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function editBody(path: string, firstSequence: number, edit: (body: Buffer) => Uint8Array): void {
  const raw = new Database(path);
  try {
    const body = raw.prepare('SELECT body FROM journal WHERE first_seq = ?').pluck().get(firstSequence) as Buffer;
    raw.prepare('UPDATE journal SET body = ? WHERE first_seq = ?').run(edit(body), firstSequence);
  } finally {
    raw.close();
  }
}

function flipSnapshotByte(store: SnapshotStore, sequence: number, at: (length: number) => number): void {
  const file = store.pathOf(sequence);
  const bytes = readFileSync(file);
  bytes[at(bytes.length)] ^= 0x40;
  writeFileSync(file, bytes);
}

async function withJournal<T>(path: string, run: (journal: SqliteJournal) => Promise<T>, verifyOnOpen: 'full' | 'tail' = 'tail'): Promise<T> {
  const journal = SqliteJournal.open({ path, durability: 'none', verifyOnOpen });
  try {
    return await run(journal);
  } finally {
    await journal.close();
  }
}

/** Both replay feeds: journal.readFrom in this thread, and the sqlite reader thread. */
const FEEDS = ['readFrom', 'reader thread'] as const;
type Feed = (typeof FEEDS)[number];
const via = (feed: Feed, journalPath: string) => (feed === 'reader thread' ? { journalPath } : {});

describe('recovery', () => {
  let built: Built;
  before(() => {
    built = build(20240611);
  });
  after(() => rmSync(built.dir, { recursive: true, force: true }));

  for (const feed of FEEDS) it(`snapshot + tail replay and full replay both reproduce the live engine (${feed})`, async () => {
    assert.deepEqual(built.store.list().map((e) => e.sequence), built.snapshotSequences.slice(-3).reverse(), 'the store kept the newest 3');
    const newest = built.snapshotSequences[built.snapshotSequences.length - 1]!;
    const progress: RecoveryProgress[] = [];
    await withJournal(built.journalPath, async (journal) => {
      const fromSnapshot = await recover({ journal, ...via(feed, built.journalPath), store: built.store, risk: true, onProgress: (p) => progress.push(p), progressEveryRecords: 100 });
      assert.equal(fromSnapshot.fromSnapshot, newest);
      assert.deepEqual(fromSnapshot.fallbacks, []);
      assert.equal(fromSnapshot.sequence, built.lastSequence);
      assert.equal(fromSnapshot.replayedEvents, built.lastSequence - newest);
      assert.equal(stateHash(fromSnapshot.matcher), built.finalHash, 'snapshot + tail = live');
      assert.deepEqual(fromSnapshot.chainHash, (await journal.tail())!.hash);

      const full = await recover({ journal, ...via(feed, built.journalPath), store: null, risk: true, limits, pageRecords: 64, rangeEvents: 4097, readers: 3 });
      assert.equal(full.fromSnapshot, null);
      assert.equal(full.replayedEvents, built.lastSequence);
      assert.equal(full.replayedRecords, built.recordStarts.length);
      assert.equal(stateHash(full.matcher), built.finalHash, 'full replay = live');
    });
    assert.equal(progress[0]!.phase, 'snapshot');
    assert.equal(progress[progress.length - 1]!.phase, 'done');
    assert.ok(progress.some((p) => p.phase === 'replay' && p.eventsPerSecond > 0), 'progress reports a rate');
    assert.match(progress[progress.length - 1]!.line, /events\/s/);
  });

  it('the recovered engine continues exactly like the live one', async () => {
    const { journalPath, store, cleanup } = copyOf(built);
    try {
      // Recover, then run 100 more commands on the recovered engine and on a never-stopped one.
      const more = riskFlow(99, 200).slice(-100).map((c) => ({ ...c, timestamp: c.timestamp + 1e12 }));
      await withJournal(journalPath, async (journal) => {
        const result = await recover({ journal, store, risk: true });
        assert.equal(stateHash(result.matcher), hashAfter(built.flow));
        const words = new Float64Array(16);
        for (const c of more) {
          encodeCommand(c.name, c.fields as never, c.timestamp, 0, words);
          result.matcher.process(words, 0);
          result.matcher.flush();
        }
        assert.equal(stateHash(result.matcher), hashAfter([...built.flow, ...more]));
      });
    } finally {
      cleanup();
    }
  });

  for (const feed of FEEDS) it(`a torn last record is truncated at open, reported, and the state is the one after the record before (${feed})`, async () => {
    const { journalPath, store, cleanup } = copyOf(built);
    try {
      const last = built.recordStarts[built.recordStarts.length - 1]!;
      editBody(journalPath, last, (body) => body.subarray(0, body.length >> 1));
      await withJournal(journalPath, async (journal) => {
        assert.equal(journal.openReport.truncated?.firstSequence, last);
        const result = await recover({ journal, ...via(feed, journalPath), store, risk: true });
        assert.equal(result.journalTruncated?.firstSequence, last);
        assert.match(result.notes.join('\n'), new RegExp(`torn last record at ${last}`));
        assert.equal(result.sequence, last - 1);
        assert.equal(stateHash(result.matcher), hashAfter(built.flow.slice(0, -1)), 'state = engine after the previous record');
      });
    } finally {
      cleanup();
    }
  });

  for (const feed of FEEDS) it(`a flipped byte in a middle record stops recovery naming its sequence (${feed})`, async () => {
    const { journalPath, store, cleanup } = copyOf(built);
    try {
      const newestSnapshot = store.list()[0]!.sequence;
      const victim = built.recordStarts.find((s) => s > newestSnapshot + 100)!; // in the tail both recoveries replay
      editBody(journalPath, victim, (body) => {
        const copy = Buffer.from(body);
        copy[copy.length - 2 * 34 - 12] ^= 0x01; // inside the events bin, before the two hash fields
        return copy;
      });
      assert.throws(() => SqliteJournal.open({ path: journalPath }), (e: Error & { sequence?: number }) => e.sequence === victim,
        'a full verify at open already names it');
      for (const useStore of [null, store]) {
        await withJournal(journalPath, async (journal) => {
          await assert.rejects(recover({ journal, ...via(feed, journalPath), store: useStore, risk: true, limits }), (error: unknown) => {
            assert.ok(isSnapshotError(error, 'RECOVERY_JOURNAL_CORRUPT'), String(error));
            assert.equal(error.sequence, victim);
            assert.match(error.message, new RegExp(`record at ${victim}`));
            return true;
          });
        });
      }
    } finally {
      cleanup();
    }
  });

  for (const feed of FEEDS) it(`a deleted middle record stops recovery naming the missing sequence (${feed})`, async () => {
    const { journalPath, store, cleanup } = copyOf(built);
    try {
      const victim = built.recordStarts[built.recordStarts.length - 20]!;
      const raw = new Database(journalPath);
      raw.prepare('DELETE FROM journal WHERE first_seq = ?').run(victim);
      raw.close();
      await withJournal(journalPath, async (journal) => {
        await assert.rejects(recover({ journal, ...via(feed, journalPath), store, risk: true }), (error: unknown) => {
          assert.ok(isSnapshotError(error, 'RECOVERY_JOURNAL_CORRUPT'), String(error));
          assert.equal(error.sequence, victim);
          assert.match(error.message, /SEQUENCE_GAP/);
          return true;
        });
      });
    } finally {
      cleanup();
    }
  });

  for (const feed of FEEDS) it(`a rewritten history that still chains is caught as a divergence at the altered event (${feed})`, async () => {
    const { journalPath, cleanup } = copyOf(built);
    try {
      const raw = new Database(journalPath);
      const victimIndex = built.recordStarts.length >> 1;
      const rows = raw.prepare('SELECT first_seq, body FROM journal WHERE first_seq >= ? ORDER BY first_seq').all(built.recordStarts[victimIndex]) as Array<{ first_seq: number; body: Buffer }>;
      const records = rows.map((r) => decodeRecord(r.body));
      const victim = records[0]!;
      victim.events[victim.events.length - 16 + 5] += 1; // a field of the record's last event
      chainRecords(records, new Uint8Array(victim.previousHash));
      const update = raw.prepare('UPDATE journal SET body = ? WHERE first_seq = ?');
      raw.transaction(() => records.forEach((r) => update.run(encodeRecord(r), r.firstSequence)))();
      raw.close();
      await withJournal(journalPath, async (journal) => {
        assert.equal((await journal.verify()).ok, true, 'the forged chain verifies');
        await assert.rejects(recover({ journal, ...via(feed, journalPath), store: null, risk: true, limits }), (error: unknown) => {
          assert.ok(isSnapshotError(error, 'RECOVERY_DIVERGED'), String(error));
          assert.equal(error.sequence, victim.lastSequence);
          assert.match(error.message, new RegExp(`event ${victim.lastSequence}`));
          return true;
        });
      }, 'full');
    } finally {
      cleanup();
    }
  });

  it('a corrupt newest snapshot falls back to the previous one, and to a full replay when all are corrupt', async () => {
    const { journalPath, store, cleanup } = copyOf(built);
    try {
      const sequences = store.list().map((e) => e.sequence); // newest first
      flipSnapshotByte(store, sequences[0]!, (n) => n >> 1);
      const lines: string[] = [];
      await withJournal(journalPath, async (journal) => {
        const one = await recover({ journal, store, risk: true, log: (l) => lines.push(l) });
        assert.equal(one.fromSnapshot, sequences[1]);
        assert.equal(one.fallbacks.length, 1);
        assert.match(one.fallbacks[0]!, new RegExp(`snapshot ${sequences[0]}: .*checksum mismatch.*falling back to snapshot ${sequences[1]}`));
        assert.deepEqual(lines, one.fallbacks, 'each fallback is logged as it happens');
        assert.equal(stateHash(one.matcher), built.finalHash);

        flipSnapshotByte(store, sequences[1]!, () => 0); // the magic
        flipSnapshotByte(store, sequences[2]!, (n) => n - 1); // the checksum itself
        const none = await recover({ journal, store, risk: true, limits });
        assert.equal(none.fromSnapshot, null);
        assert.equal(none.fallbacks.length, 3);
        assert.match(none.fallbacks[2]!, /falling back to full replay from sequence 1/);
        assert.equal(stateHash(none.matcher), built.finalHash);
      });
    } finally {
      cleanup();
    }
  });

  it('a snapshot from another history, or ahead of the journal, is skipped; a risk on/off mismatch is refused', async () => {
    const { journalPath, store, cleanup } = copyOf(built);
    try {
      const newest = store.list()[0]!.sequence;
      const snapshot = store.load(newest);
      const forged = new Uint8Array(32).fill(7);
      store.remove(newest);
      store.save(newest, encodeSnapshot({ image: snapshot.image, sequence: newest, chainHash: forged }));
      // A snapshot past the journal's end (cut before its records became durable).
      const { matcher } = liveEngine();
      const words = new Float64Array(16);
      for (const c of [...built.flow, ...riskFlow(5, 50).slice(-20).map((c) => ({ ...c, timestamp: c.timestamp + 1e12 }))]) {
        encodeCommand(c.name, c.fields as never, c.timestamp, 0, words);
        matcher.process(words, 0);
        matcher.flush();
      }
      const ahead = matcher.out.sequence;
      store.save(ahead, encodeSnapshot({ image: cutImage(matcher), sequence: ahead, chainHash: forged }));
      await withJournal(journalPath, async (journal) => {
        const result = await recover({ journal, store, risk: true });
        assert.equal(result.fallbacks.length, 2);
        assert.match(result.fallbacks[0]!, new RegExp(`snapshot ${ahead}: ahead of the journal`));
        assert.match(result.fallbacks[1]!, new RegExp(`snapshot ${newest}: its chain hash .* differs`));
        assert.equal(stateHash(result.matcher), built.finalHash);
        await assert.rejects(recover({ journal, store, risk: false }), (e: unknown) => isSnapshotError(e, 'RECOVERY_CONFIG'));
      });
    } finally {
      cleanup();
    }
  });

  for (const feed of FEEDS) it(`a command of more than MAX_EVENTS_PER_RECORD events replays across its continuation records; a torn continuation is regenerated (${feed})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recovery-mass-'));
    try {
      const journalPath = join(dir, 'journal.db');
      const journal = SqliteJournal.open({ path: journalPath, durability: 'none' });
      const { matcher, builder } = liveEngine();
      const flow: FlowCommand[] = [
        { name: 'AddInstrument', timestamp: 1, fields: { instrument: 1, symbolHead: packSymbol('MAS')[0], symbolTail: packSymbol('MAS')[1], tickSize: 1, lotSize: 1, bandBasisPoints: 5000, maxOrderQuantity: 1000, maxOrderNotional: 1e9, referencePrice: 1000, settlementDays: 1 } },
        { name: 'OpenAccount', timestamp: 2, fields: { account: 1, accountType: 1 } },
        { name: 'SetAccountStatus', timestamp: 3, fields: { account: 1, action: 1 } },
        { name: 'Deposit', timestamp: 4, fields: { account: 1, amount: 1e12, reference: 1 } },
      ];
      for (let i = 0; i < 2500; i++) flow.push({ name: 'NewOrder', timestamp: 10 + i, fields: { account: 1, instrument: 1, clientOrderId: i + 1, side: 1, orderType: 1, timeInForce: 1, price: 800 + (i % 100), quantity: 1 } });
      flow.push({ name: 'MassCancel', timestamp: 10_000, fields: { account: 1, instrument: 1, side: 0 } });
      const words = new Float64Array(16);
      for (const c of flow) {
        encodeCommand(c.name, c.fields as never, c.timestamp, 0, words);
        matcher.process(words, 0);
        matcher.flush();
        builder.finishCurrent();
        journal.appendSync(builder.take());
      }
      await journal.close();
      assert.ok(matcher.out.sequence > 2500 * 2 + 5000, 'the mass cancel caused > 4096 events');
      const live = stateHash(matcher);
      await withJournal(journalPath, async (j) => {
        const result = await recover({ journal: j, ...via(feed, journalPath), store: null, risk: true, limits });
        assert.equal(stateHash(result.matcher), live);
        assert.deepEqual(result.unjournaledRecords, []);
      });
      // Tear the mass cancel's last continuation record: the journal now ends inside the command.
      const torn = (await withJournal(journalPath, async (j) => j.tail()))!;
      assert.ok(torn.command.every((w) => w === 0), 'the last record is a continuation');
      editBody(journalPath, torn.firstSequence, (body) => body.subarray(0, 40));
      await withJournal(journalPath, async (j) => {
        assert.equal(j.openReport.truncated?.firstSequence, torn.firstSequence);
        const result = await recover({ journal: j, ...via(feed, journalPath), store: null, risk: true, limits });
        assert.equal(stateHash(result.matcher), live, 're-executing the command reproduces all its effects');
        assert.equal(result.unjournaledRecords.length, 1);
        const regenerated = result.unjournaledRecords[0]!;
        assert.equal(regenerated.firstSequence, torn.firstSequence);
        assert.equal(regenerated.lastSequence, torn.lastSequence);
        assert.equal(regenerated.timestampMicros, torn.timestampMicros);
        assert.deepEqual(regenerated.command, torn.command);
        assert.deepEqual(regenerated.events, torn.events, 'the regenerated continuation equals the torn one');
        assert.match(result.notes.join('\n'), /journal ends inside the command/);
        await j.append(result.unjournaledRecords);
      });
      await withJournal(journalPath, async (j) => {
        const result = await recover({ journal: j, ...via(feed, journalPath), store: null, risk: true, limits });
        assert.equal(stateHash(result.matcher), live);
        assert.deepEqual(result.unjournaledRecords, [], 'once appended, the journal is whole again');
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the parallel reader threads report every fault exactly as the sequential ChainVerifier does, also at range joints', async () => {
    const rangeEvents = 4097;
    const starts = built.recordStarts;
    // Victims: the first record of each range, the one before it, and a few in the middle of ranges.
    const victims = new Set<number>();
    for (let boundary = 1 + rangeEvents; boundary < built.lastSequence; boundary += rangeEvents) {
      const i = starts.findIndex((s) => s >= boundary);
      if (i > 0) [i - 1, i].forEach((k) => victims.add(k));
    }
    [0, 3, starts.length >> 1].forEach((k) => victims.add(k));
    // (The last two records are checked by SqliteJournal.open itself: torn tail / JOURNAL_CORRUPT.)
    for (const k of victims) if (k >= starts.length - 2) victims.delete(k);
    const tampers: Array<[string, (path: string, first: number) => void]> = [
      ['flipped payload byte', (path, first) => editBody(path, first, (b) => { const c = Buffer.from(b); c[c.length - 2 * 34 - 3] ^= 1; return c; })],
      ['rewritten previousHash', (path, first) => editBody(path, first, (b) => { const c = Buffer.from(b); c[c.length - 34 - 5] ^= 1; return c; })],
      ['undecodable body', (path, first) => editBody(path, first, () => Buffer.from([0xc1, 0xc1, 0xc1]))],
      ['deleted record', (path, first) => { const raw = new Database(path); raw.prepare('DELETE FROM journal WHERE first_seq = ?').run(first); raw.close(); }],
    ];
    const outcome = async (feed: ReplayFeed): Promise<string> => {
      try {
        while ((await feed.next()) !== null);
        const result = feed.result();
        return result.ok ? `ok ${result.lastSequence}` : `fault ${result.firstBadSequence}`;
      } catch (error) {
        const e = error as Error & { sequence?: number };
        return `${e.sequence} ${/(BAD_FORMAT|SEQUENCE_GAP|PREVIOUS_HASH_MISMATCH|HASH_MISMATCH)/.exec(e.message)?.[1]}`;
      } finally {
        await feed.close();
      }
    };
    let compared = 0;
    for (const index of victims) {
      for (const [name, tamper] of tampers) {
        const { journalPath, cleanup } = copyOf(built);
        try {
          tamper(journalPath, starts[index]!);
          await withJournal(journalPath, async (journal) => {
            const sequential = await outcome(new JournalReplayFeed(journal, GENESIS_ANCHOR, journal.durableSequence()));
            const viaSqlite = new SqliteReplayFeed({ path: journalPath, anchor: GENESIS_ANCHOR, toSequence: journal.durableSequence(), rangeEvents, readers: 2, pages: false });
            assert.equal(await outcome(viaSqlite), sequential, `${name} at record ${index} (${starts[index]}), rows through sqlite`);
            assert.ok(journal.checkpoint(), 'the log is checkpointed: the file alone holds the journal');
            const viaPages = new SqliteReplayFeed({ path: journalPath, anchor: GENESIS_ANCHOR, toSequence: journal.durableSequence(), rangeEvents, readers: 2 });
            assert.ok(viaPages.readsPages, 'the readers read the leaf pages');
            assert.equal(await outcome(viaPages), sequential, `${name} at record ${index} (${starts[index]}), leaf pages`);
            assert.doesNotMatch(sequential, /^ok/, `${name} at record ${index} is detected`);
          });
          compared++;
        } finally {
          cleanup();
        }
      }
    }
    assert.ok(compared >= 20, `${compared} cases`);
  });

  for (const feed of FEEDS) it(`an empty journal recovers to an empty engine; a snapshot at the journal's end replays nothing (${feed})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recovery-empty-'));
    try {
      const path = join(dir, 'journal.db');
      await withJournal(path, async (journal) => {
        const result = await recover({ journal, ...via(feed, path), store: SnapshotStore.forJournal(path), risk: true, limits });
        assert.equal(result.sequence, 0);
        assert.equal(result.replayedRecords, 0);
        assert.deepEqual(result.chainHash, new Uint8Array(32));
        assert.equal(stateHash(result.matcher), hashAfter([]));
      });
      const { journalPath, store, cleanup } = copyOf(built);
      try {
        await withJournal(journalPath, async (journal) => {
          const end = journal.durableSequence();
          const full = await recover({ journal, store: null, risk: true, limits });
          store.save(end, encodeSnapshot({ image: cutImage(full.matcher), sequence: end, chainHash: (await journal.tail())!.hash }));
          const result = await recover({ journal, ...via(feed, journalPath), store, risk: true });
          assert.equal(result.fromSnapshot, end);
          assert.equal(result.replayedRecords, 0);
          assert.deepEqual(result.chainHash, (await journal.tail())!.hash);
          assert.equal(stateHash(result.matcher), built.finalHash);
        });
      } finally {
        cleanup();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('stored-body chain verification (the reader thread) agrees with the journal\'s ChainVerifier', () => {
  function rowsOf(count: number, v0At: number[] = []): StoredRow[] {
    const records = makeRecords(1, count);
    for (const i of v0At) records[i]!.version = 0;
    chainRecords(records);
    return records.map((r) => ({ firstSequence: r.firstSequence, lastSequence: r.lastSequence, timestampMicros: r.timestampMicros, body: encodeRecord(r) }));
  }
  /** What SqliteJournal + ChainVerifier say about the same rows. */
  function reference(rows: StoredRow[]): VerifyResult {
    const verifier = new ChainVerifier();
    for (const row of rows) {
      let record;
      try {
        record = decodeRecord(row.body);
      } catch (error) {
        verifier.fail(row.firstSequence, 'BAD_FORMAT', (error as Error).message);
        break;
      }
      if (!verifier.check(record)) break;
    }
    return verifier.result();
  }
  function ours(rows: StoredRow[]): VerifyResult {
    const verifier = new BodyChainVerifier();
    for (const row of rows) if (verifier.check(row) === undefined) break;
    return verifier.result();
  }
  /** The batched path: bodies packed into buffers of `perBuffer` records, hashes checked at settle(). */
  function deferred(rows: StoredRow[], perBuffer: number): VerifyResult & { verified: number } {
    const verifier = new BodyChainVerifier();
    for (let first = 0; first < rows.length; first += perBuffer) {
      const group = rows.slice(first, first + perBuffer);
      const bytes = Buffer.concat([Buffer.alloc(3), ...group.map((r) => Buffer.from(r.body))]);
      let at = 3;
      let stop = false;
      for (const row of group) {
        const end = at + row.body.length;
        if (verifier.checkIn({ ...row, body: bytes.subarray(at, end) }, bytes, at, end) === undefined) {
          stop = true;
          break;
        }
        at = end;
      }
      if (stop) break;
    }
    const result = verifier.result();
    return { ...result, verified: verifier.verified };
  }
  /** The replay reader's path: words counted only when the page builder decodes them (lazyWords, rejectLast). */
  function lazy(rows: StoredRow[]): VerifyResult & { verified: number } {
    const verifier = new BodyChainVerifier(GENESIS_ANCHOR, true);
    const builder = new PageBuilder(rows.length + 1, 1 << 16);
    const bytes = Buffer.concat(rows.map((r) => Buffer.from(r.body)));
    let at = 0;
    for (const row of rows) {
      const end = at + row.body.length;
      const record = verifier.checkIn({ ...row, body: bytes.subarray(at, end) }, bytes, at, end);
      if (record === undefined) break;
      if (!builder.add(record)) {
        verifier.rejectLast(record.firstSequence, 'packed words do not decode');
        break;
      }
      at = end;
    }
    const result = verifier.result();
    return { ...result, verified: verifier.verified };
  }
  const verdictOf = (result: VerifyResult) => (result.ok ? { ok: true } : { ok: false, firstBadSequence: result.firstBadSequence, reason: result.reason });
  const same = (rows: StoredRow[]) => {
    const [a, b] = [ours(rows), reference(rows)];
    assert.deepEqual(verdictOf(lazy(rows)), verdictOf(b), 'the replay reader (words decoded into the page) agrees with the decoder');
    for (const perBuffer of [1, 3, 64]) {
      const c = deferred(rows, perBuffer);
      assert.equal(c.ok, a.ok, `batched (${perBuffer} per buffer) agrees`);
      if (!c.ok && !a.ok) assert.deepEqual([c.firstBadSequence, c.reason], [a.firstBadSequence, a.reason], `batched (${perBuffer} per buffer) names the same fault`);
      if (c.ok && a.ok) assert.deepEqual(Buffer.from(c.headHash), Buffer.from(a.headHash));
      const good = a.ok ? rows.length : rows.findIndex((r) => r.firstSequence >= a.firstBadSequence);
      if (!a.ok && good >= 0) assert.equal(c.verified, good, 'only the records before the fault count as verified');
    }
    if (a.ok && b.ok) assert.deepEqual({ ...a, headHash: Buffer.from(a.headHash) }, { ...b, headHash: Buffer.from(b.headHash) });
    else assert.deepEqual(a.ok ? a : { ok: a.ok, firstBadSequence: a.firstBadSequence, reason: a.reason }, b.ok ? b : { ok: b.ok, firstBadSequence: b.firstBadSequence, reason: b.reason });
    return a;
  };

  it('intact chains, with v0 records mixed in, verify to the same head; the hasher equals recordHash', () => {
    const rows = rowsOf(30, [3, 4, 17]);
    assert.equal(same(rows).ok, true);
    const hasher = new StoredRecordHasher();
    for (const row of rows.slice(0, 5)) {
      const parsed = parseRecordBody(row.body);
      const previous = parsed.bytes.subarray(parsed.previousHashOffset, parsed.previousHashOffset + 32);
      assert.deepEqual(Buffer.from(hasher.hash(previous, row.body)), Buffer.from(recordHash(previous, row.body)));
    }
  });

  it('tampering is named at the same sequence with the same reason', () => {
    const flip = (at: number, offset: (n: number) => number) => {
      const rows = rowsOf(20, [7]);
      const body = new Uint8Array(rows[at]!.body);
      body[offset(body.length)] ^= 0x01;
      rows[at] = { ...rows[at]!, body };
      return rows;
    };
    assert.equal(same(flip(9, (n) => n - 2 * 34 - 3)).ok, false, 'payload byte');
    assert.equal(same(flip(7, (n) => n - 2 * 34 - 3)).ok, false, 'payload byte of a v0 record');
    assert.equal(same(flip(11, (n) => n - 34 - 5)).ok, false, 'previousHash byte');
    assert.equal(same(flip(12, (n) => n - 1)).ok, false, 'hash byte');
    assert.equal(same(flip(5, () => 0)).ok, false, 'array header: undecodable');
    const gap = rowsOf(20);
    gap.splice(6, 1);
    assert.equal(same(gap).ok, false, 'deleted record');
    const swapped = rowsOf(20);
    [swapped[4], swapped[5]] = [swapped[5]!, swapped[4]!];
    assert.equal(same(swapped).ok, false, 'reordered records');
    const twice = flip(9, (n) => n - 1);
    twice.splice(14, 1);
    const verdict = same(twice);
    assert.ok(!verdict.ok && verdict.firstBadSequence === twice[9]!.firstSequence && verdict.reason === 'HASH_MISMATCH', 'a bad hash before a gap is named first, also when hashes are checked in batches');
    // Packed words not as the writer encodes them, under a valid hash (the chain resealed after the edit):
    // the replay reader, decoding them into the page, refuses the record where the decoder does.
    const sealedRecords = makeRecords(1, 12);
    sealedRecords[6]!.events[5] = 122; // zigzag 244: the two-byte form F0 F4
    const resealed = sealedRecords.map((r) => ({ firstSequence: r.firstSequence, lastSequence: r.lastSequence, timestampMicros: r.timestampMicros, body: encodeRecord(r) }));
    const target = resealed[6]!.body;
    const at = target.findIndex((byte, i) => byte === 0xf0 && target[i + 1] === 0xf4);
    assert.ok(at > 0, 'the word is stored in its two-byte form');
    target[at + 1] = 0x05; // 5 in two bytes: one would do
    let head: Uint8Array = new Uint8Array(32);
    for (const row of resealed) {
      const body = row.body as Uint8Array;
      body.set(head, body.length - 34 - 32);
      head = recordHash(head, body);
      body.set(head, body.length - 32);
    }
    const refused = lazy(resealed);
    assert.ok(!refused.ok && refused.reason === 'BAD_FORMAT' && refused.firstBadSequence === resealed[6]!.firstSequence, JSON.stringify(verdictOf(refused)));
    assert.equal(refused.verified, 6, 'the records before it stay verified');
    assert.deepEqual(verdictOf(refused), verdictOf(reference(resealed)));
    const columns = rowsOf(10);
    columns[3] = { ...columns[3]!, timestampMicros: columns[3]!.timestampMicros + 1 };
    const fault = ours(columns);
    assert.ok(!fault.ok && fault.reason === 'BAD_FORMAT' && fault.firstBadSequence === columns[3]!.firstSequence && /columns/.test(fault.detail));
  });
});

describe('recovery from packed rows (several records per row, as the journal thread writes them)', () => {
  let built: Built;
  before(() => {
    built = build(20240611, { packRows: true });
  });
  after(() => rmSync(built.dir, { recursive: true, force: true }));

  it('the rows hold several records; every snapshot lies inside a row', () => {
    const raw = new Database(built.journalPath, { readonly: true });
    try {
      const rows = raw.prepare('SELECT first_seq, last_seq FROM journal ORDER BY first_seq').all() as Array<{ first_seq: number; last_seq: number }>;
      assert.ok(rows.length * 10 < built.recordStarts.length, `${rows.length} rows for ${built.recordStarts.length} records`);
      for (const sequence of built.snapshotSequences) {
        assert.ok(rows.some((row) => row.first_seq <= sequence && sequence < row.last_seq), `snapshot ${sequence} inside a row`);
      }
    } finally {
      raw.close();
    }
  });

  for (const feed of FEEDS) it(`snapshot + tail replay and full replay reproduce the live engine, ranges joining inside rows (${feed})`, async () => {
    await withJournal(built.journalPath, async (journal) => {
      const fromSnapshot = await recover({ journal, ...via(feed, built.journalPath), store: built.store, risk: true });
      assert.equal(fromSnapshot.fromSnapshot, built.snapshotSequences[built.snapshotSequences.length - 1]);
      assert.equal(fromSnapshot.sequence, built.lastSequence);
      assert.equal(stateHash(fromSnapshot.matcher), built.finalHash, 'snapshot + tail = live');
      assert.deepEqual(fromSnapshot.chainHash, (await journal.tail())!.hash);
      const full = await recover({ journal, ...via(feed, built.journalPath), store: null, risk: true, limits, pageRecords: 64, rangeEvents: 4097, readers: 3 });
      assert.equal(full.sequence, built.lastSequence);
      assert.equal(stateHash(full.matcher), built.finalHash, 'full replay = live');
    }, 'full');
  });

  it('a flipped byte in a record inside a row stops recovery naming that record', async () => {
    const copy = copyOf(built);
    try {
      const victim = built.recordStarts[Math.floor(built.recordStarts.length / 2) + 3]!;
      const raw = new Database(copy.journalPath);
      const row = raw.prepare('SELECT first_seq, last_seq, ts, body FROM journal WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1').get(victim) as { first_seq: number; last_seq: number; ts: number; body: Buffer };
      assert.ok(row.first_seq < victim, 'the victim is not the first record of its row');
      const body = Buffer.from(row.body);
      for (const stored of splitStoredRow(row.first_seq, row.last_seq, row.ts, body)) {
        if (stored.firstSequence === victim) body[stored.bodyStart + stored.body.length - 34 - 32 - 3] ^= 0x01; // in its previousHash field
      }
      raw.prepare('UPDATE journal SET body = ? WHERE first_seq = ?').run(body, row.first_seq);
      raw.close();
      for (const feed of FEEDS) {
        await assert.rejects(withJournal(copy.journalPath, (journal) => recover({ journal, ...via(feed, copy.journalPath), store: null, risk: true, limits })),
          (error: Error & { sequence?: number }) => error.sequence === victim, `${feed} names the record`);
      }
    } finally {
      copy.cleanup();
    }
  });
});
