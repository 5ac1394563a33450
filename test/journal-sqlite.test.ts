/**
 * The sqlite backend: the shared contract plus what only an embedded file can show —
 * group commit, torn-tail truncation, corruption named by sequence, the writer lease.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { CHECKPOINT_PAGES_MIN, PAGE_SIZE_BYTES, readJournalFileDeclaration, SqliteJournal, SqliteJournalOptions } from '../journal/sqlite-journal';
import { declareEngine } from '../journal/engine-declaration';
import { createRecord, MAX_EVENTS_PER_RECORD, WORDS_PER_COMMAND, WORDS_PER_EVENT } from '../journal/journal-record';
import { DURABILITY_LEVELS, isJournalError } from '../journal/journal';
import { encodeRecord } from '../journal/record-codec';
import { EncodedRecords } from '../journal/encoded-records';
import { PACKED_ROW_BYTES, splitStoredRow } from '../journal/row-records';
import { collect, flipPayloadByte, makeRecords, rejectsWith, runJournalContract } from './journal-contract';

function temporaryPath(): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'journal-sqlite-'));
  return { dir, path: join(dir, 'journal.db') };
}

/** Edits the file through a second, raw connection, as a disk fault or an intruder would. */
function editBody(path: string, firstSequence: number, edit: (body: Buffer) => Uint8Array): void {
  const raw = new Database(path);
  try {
    const body = raw.prepare('SELECT body FROM journal WHERE first_seq = ?').pluck().get(firstSequence) as Buffer;
    raw.prepare('UPDATE journal SET body = ? WHERE first_seq = ?').run(edit(body), firstSequence);
  } finally {
    raw.close();
  }
}

runJournalContract('sqlite', async () => {
  const { dir, path } = temporaryPath();
  return {
    open: async () => SqliteJournal.open({ path }),
    tamper: async (firstSequence) => editBody(path, firstSequence, flipPayloadByte),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

/** Edits one record inside whatever row holds it (a packed row holds several). */
function editRecordInRow(path: string, firstSequence: number, edit: (body: Buffer) => Uint8Array): void {
  const raw = new Database(path);
  try {
    const row = raw.prepare('SELECT first_seq, last_seq, ts, body FROM journal WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1').get(firstSequence) as
      { first_seq: number; last_seq: number; ts: number; body: Buffer };
    const parts: Uint8Array[] = [];
    for (const stored of splitStoredRow(row.first_seq, row.last_seq, row.ts, row.body)) {
      parts.push(stored.firstSequence === firstSequence ? edit(Buffer.from(stored.body)) : Buffer.from(stored.body));
    }
    raw.prepare('UPDATE journal SET body = ? WHERE first_seq = ?').run(Buffer.concat(parts), row.first_seq);
  } finally {
    raw.close();
  }
}

runJournalContract('sqlite, packed rows', async () => {
  const { dir, path } = temporaryPath();
  return {
    open: async () => SqliteJournal.open({ path, packRows: true }),
    tamper: async (firstSequence) => editRecordInRow(path, firstSequence, flipPayloadByte),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('sqlite journal, packed rows', () => {
  let dir: string;
  let path: string;
  beforeEach(() => ({ dir, path } = temporaryPath()));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const rowsOf = () => {
    const raw = new Database(path, { readonly: true });
    try {
      return raw.prepare('SELECT first_seq, last_seq, length(body) AS bytes FROM journal ORDER BY first_seq').all() as Array<{ first_seq: number; last_seq: number; bytes: number }>;
    } finally {
      raw.close();
    }
  };

  it('packs consecutive records of a transaction into rows of at most PACKED_ROW_BYTES; reads, tails and re-verifies them', async () => {
    const journal = SqliteJournal.open({ path, packRows: true });
    const records = makeRecords(1, 200);
    journal.appendSync(records.slice(0, 120));
    journal.appendSync(records.slice(120));
    const rows = rowsOf();
    assert.ok(rows.length > 2 && rows.length < 40, `${rows.length} rows for 200 records`);
    for (const row of rows) assert.ok(row.bytes <= PACKED_ROW_BYTES, `row ${row.first_seq}: ${row.bytes} bytes`);
    assert.equal(rows[0]!.first_seq, 1);
    for (let i = 1; i < rows.length; i++) assert.equal(rows[i]!.first_seq, rows[i - 1]!.last_seq + 1, 'rows are contiguous');
    assert.ok(rows.some((row) => row.first_seq === records[120]!.firstSequence), 'a transaction starts a row');
    // readFrom a sequence inside a row: the record holding it, then the rest.
    const inside = records[57]!;
    const read = await collect(journal.readFrom(inside.lastSequence));
    assert.equal(read.length, 200 - 57);
    assert.equal(read[0]!.firstSequence, inside.firstSequence);
    assert.deepEqual(Buffer.from((await journal.tail())!.hash), Buffer.from(records[199]!.hash));
    await journal.close();
    const reopened = SqliteJournal.open({ path, verifyOnOpen: 'full' });
    assert.equal(reopened.openReport.verifiedRecords, 200);
    await reopened.close();
    const again = SqliteJournal.open({ path, verifyOnOpen: 'tail' });
    assert.equal(again.durableSequence(), records[199]!.lastSequence);
    await again.close();
  });

  it('a torn last record inside a packed row is truncated alone: the records before it in the row stay', async () => {
    const journal = SqliteJournal.open({ path, packRows: true });
    const records = makeRecords(1, 30);
    journal.appendSync(records);
    await journal.close();
    const lastRow = rowsOf().pop()!;
    assert.ok(lastRow.first_seq < records[29]!.firstSequence, 'the last row holds several records');
    editRecordInRow(path, records[29]!.firstSequence, (body) => body.subarray(0, body.length - 10));
    const reopened = SqliteJournal.open({ path });
    assert.equal(reopened.openReport.truncated?.firstSequence, records[29]!.firstSequence);
    assert.equal(reopened.durableSequence(), records[28]!.lastSequence);
    const result = await reopened.verify();
    assert.ok(result.ok && result.count === 29, JSON.stringify(result));
    await reopened.close();
    assert.equal(rowsOf().pop()!.last_seq, records[28]!.lastSequence, 'the row was rewritten without it');
  });

  it('a bad record before the last one of the last row is corruption, not a torn tail: the open names it', async () => {
    const journal = SqliteJournal.open({ path, packRows: true });
    const records = makeRecords(1, 30);
    journal.appendSync(records);
    await journal.close();
    editRecordInRow(path, records[27]!.firstSequence, flipPayloadByte);
    assert.throws(() => SqliteJournal.open({ path, verifyOnOpen: 'full' }), (error: Error & { code?: string; sequence?: number }) =>
      error.code === 'JOURNAL_CORRUPT' && error.sequence === records[27]!.firstSequence);
  });
});

describe('sqlite journal', () => {
  let dir: string;
  let path: string;
  const open = (options: Partial<SqliteJournalOptions> = {}) => SqliteJournal.open({ path, ...options });

  beforeEach(() => ({ dir, path } = temporaryPath()));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('records the engine options once, before the first record; a read-only reader sees them', async () => {
    const journal = open();
    assert.equal(journal.engineDeclaration(), undefined);
    const declaration = declareEngine(false, { maxOrders: 1234 });
    journal.declareEngine(declaration);
    assert.deepEqual(journal.engineDeclaration(), declaration);
    assert.throws(() => journal.declareEngine(declaration), /declared once/);
    await journal.append(makeRecords(1, 2));
    await journal.close();
    assert.deepEqual(readJournalFileDeclaration(path), declaration);
    const raw = new Database(path);
    raw.prepare("UPDATE journal_meta SET value = '{\"risk\":\"yes\"}'").run();
    raw.close();
    assert.throws(() => readJournalFileDeclaration(path), (error: unknown) => isJournalError(error, 'JOURNAL_CORRUPT'));
    const other = temporaryPath();
    try {
      const late = SqliteJournal.open({ path: other.path });
      await late.append(makeRecords(1, 1));
      assert.throws(() => late.declareEngine(declaration), /before the first record/);
      await late.close();
    } finally {
      rmSync(other.dir, { recursive: true, force: true });
    }
  });

  it('group commit: concurrent appends share one transaction', async () => {
    const journal = open();
    const records = makeRecords(1, 200);
    await Promise.all(records.map((record) => journal.append([record])));
    assert.equal(journal.stats().records, 200);
    assert.equal(journal.stats().transactions, 1, 'every append queued in one turn commits together');
    for (const record of makeRecords(records[199]!.lastSequence + 1, 3)) await journal.append([record]);
    assert.equal(journal.stats().transactions, 4, 'awaited one by one, each append is its own group');
    await journal.close();
  });

  it('checkpoints the log itself in small steps: the log stays bounded, small commits checkpoint at CHECKPOINT_PAGES_MIN', async () => {
    const journal = open({ durability: 'os' });
    const wal = () => (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0);
    let sequence = 1;
    let walMax = 0;
    // Small commits (one 2-event record each, ~1 page): the threshold stays at the minimum.
    for (let i = 0; i < 400; i++) {
      const [record] = makeRecords(sequence, 1);
      journal.appendSync([record!]);
      sequence = record!.lastSequence + 1;
      walMax = Math.max(walMax, wal());
    }
    const small = journal.stats().checkpoints;
    assert.ok(small >= 400 * 2 / CHECKPOINT_PAGES_MIN - 1, `${small} checkpoints for ~800 log pages`);
    // The log is rewound after each checkpoint: it never holds much more than one threshold's pages.
    assert.ok(walMax <= (CHECKPOINT_PAGES_MIN + 8) * PAGE_SIZE_BYTES * 1.1, `log peaked at ${walMax} bytes`);
    // Large commits raise the threshold: fewer checkpoints per page written.
    for (let i = 0; i < 40; i++) {
      const records = makeRecords(sequence, 400);
      journal.appendSync(records);
      sequence = records[records.length - 1]!.lastSequence + 1;
    }
    const large = journal.stats().checkpoints - small;
    assert.ok(large >= 1 && large < 40 / 2, `${large} checkpoints over 40 large commits (one per commit would be ${40})`);
    assert.ok((await journal.verify()).ok);
    await journal.close();
    const fixed = temporaryPath();
    try {
      const every = SqliteJournal.open({ path: fixed.path, checkpointPages: 1 });
      const first = makeRecords(1, 3);
      every.appendSync(first);
      every.appendSync(makeRecords(first[2]!.lastSequence + 1, 3));
      assert.equal(every.stats().checkpoints, 2, 'a fixed threshold of one page checkpoints after every commit');
      await every.close();
    } finally {
      rmSync(fixed.dir, { recursive: true, force: true });
    }
  });

  it('appendSync writes at once, after anything queued before it', async () => {
    const journal = open();
    const [first, second, third] = makeRecords(1, 3);
    const queued = journal.append([first!]);
    journal.appendSync([second!, third!]);
    assert.equal(journal.durableSequence(), third!.lastSequence);
    await queued;
    assert.equal(journal.stats().transactions, 1);
    assert.ok((await journal.verify()).ok);
    await journal.close();
  });

  it('appendEncodedSync writes exactly the rows the record-object path writes, sealed into the same chain', async () => {
    const records = makeRecords(1, 70); // more than ROWS_PER_INSERT several times, plus a remainder
    const byObjects = temporaryPath();
    try {
      const reference = SqliteJournal.open({ path: byObjects.path });
      reference.appendSync(records.slice(0, 33));
      reference.appendSync(records.slice(33));
      await reference.close();
      const journal = open({ maxTransactionBytes: 8192 });
      const batch = new EncodedRecords();
      for (const [from, to] of [[0, 33], [33, 70]] as const) {
        batch.reset();
        for (const record of records.slice(from, to)) batch.addRecord(record);
        journal.appendEncodedSync(batch);
        assert.equal(journal.durableSequence(), records[to - 1]!.lastSequence);
      }
      assert.ok(journal.stats().transactions > 2, 'a batch above maxTransactionBytes is written in several transactions');
      await journal.close();
      const rows = (file: string) => {
        const db = new Database(file, { readonly: true });
        try {
          return db.prepare('SELECT first_seq, last_seq, ts, body FROM journal ORDER BY first_seq').all();
        } finally {
          db.close();
        }
      };
      assert.deepEqual(rows(path), rows(byObjects.path));
      const reopened = open();
      assert.equal(reopened.openReport.verifiedRecords, 70);
      await reopened.close();
    } finally {
      rmSync(byObjects.dir, { recursive: true, force: true });
    }
  });

  it('appendEncodedSync refuses a batch that does not continue the journal, writing nothing', async () => {
    const journal = open();
    const records = makeRecords(1, 4);
    journal.appendSync(records.slice(0, 2));
    const batch = new EncodedRecords();
    batch.addRecord(records[3]!); // skips records[2]
    assert.throws(() => journal.appendEncodedSync(batch), rejectsWith('JOURNAL_SEQUENCE_GAP'));
    batch.reset();
    batch.addRecord(records[2]!);
    batch.addRecord(records[3]!);
    journal.appendEncodedSync(batch);
    const result = await journal.verify();
    assert.ok(result.ok && result.count === 4, JSON.stringify(result));
    await journal.close();
  });

  it('an encoded batch has named limits: a record that does not fit is refused, never grown into', () => {
    const batch = new EncodedRecords(2);
    const [first, second, third] = makeRecords(1, 3);
    batch.addRecord(first!);
    batch.addRecord(second!);
    assert.equal(batch.hasRoomFor(1), false);
    assert.throws(() => batch.addRecord(third!), rejectsWith('JOURNAL_BAD_RECORD'));
    assert.equal(batch.count, 2);
    assert.throws(() => batch.add(-1, 0, new Float64Array(WORDS_PER_COMMAND), 0, new Float64Array(WORDS_PER_EVENT), 0, WORDS_PER_EVENT),
      rejectsWith('JOURNAL_BAD_RECORD'));
  });

  it('splits groups by transaction bytes and handles multi-row and largest records', async () => {
    const journal = open({ maxTransactionBytes: 4096 });
    const records = makeRecords(1, 40);
    const largeAt = records[39]!.lastSequence + 1;
    const large = createRecord(largeAt, 1, new Float64Array(WORDS_PER_COMMAND), new Float64Array(MAX_EVENTS_PER_RECORD * WORDS_PER_EVENT).fill(7));
    const after = makeRecords(large.lastSequence + 1, 20);
    journal.appendSync([...records, large, ...after]);
    assert.ok(journal.stats().transactions > 1);
    const result = await journal.verify();
    assert.ok(result.ok && result.count === 61, JSON.stringify(result));
    await journal.close();
  });

  it('truncates a torn (undecodable) last record on reopen and reports it', async () => {
    let journal = open();
    const records = makeRecords(1, 5);
    await journal.append(records);
    await journal.close();
    const torn = records[4]!;
    editBody(path, torn.firstSequence, (body) => body.subarray(0, body.length - 10));
    journal = open();
    assert.deepEqual(journal.openReport.truncated?.firstSequence, torn.firstSequence);
    assert.equal(journal.openReport.truncated?.reason, 'BAD_FORMAT');
    assert.equal(journal.durableSequence(), records[3]!.lastSequence);
    await journal.append(makeRecords(torn.firstSequence, 1)); // the lost sequence is appended again
    assert.ok((await journal.verify()).ok);
    await journal.close();
  });

  it('truncates a garbled last record whose hash no longer matches', async () => {
    let journal = open();
    const records = makeRecords(1, 3);
    await journal.append(records);
    await journal.close();
    editBody(path, records[2]!.firstSequence, flipPayloadByte);
    journal = open();
    assert.equal(journal.openReport.truncated?.reason, 'HASH_MISMATCH');
    assert.equal(journal.durableSequence(), records[1]!.lastSequence);
    await journal.close();
  });

  it('a corrupt record before the tail raises JOURNAL_CORRUPT naming its sequence', async () => {
    const journal = open();
    const records = makeRecords(1, 8);
    await journal.append(records);
    await journal.close();
    const victim = records[3]!;
    editBody(path, victim.firstSequence, (body) => body.subarray(0, 20));
    editBody(path, records[7]!.firstSequence, (body) => body.subarray(0, 20)); // a torn tail too
    assert.throws(() => open(), rejectsWith('JOURNAL_CORRUPT', victim.firstSequence));
    const raw = new Database(path);
    assert.equal(raw.prepare('SELECT count(*) FROM journal').pluck().get(), 8, 'nothing is deleted from a corrupt journal');
    raw.close();
    editBody(path, records[7]!.firstSequence, () => encodeRecord(records[7]!)); // repair the tail only
    const tailOnly = open({ verifyOnOpen: 'tail' }); // opening cheaply defers detection to reads and verify
    const result = await tailOnly.verify();
    assert.ok(!result.ok && result.firstBadSequence === victim.firstSequence && result.reason === 'BAD_FORMAT');
    await assert.rejects(collect(tailOnly.readFrom(1)), rejectsWith('JOURNAL_CORRUPT', victim.firstSequence));
    await tailOnly.close();
  });

  it('locks out a second writer until the first closes; takes over a dead writer lease', async () => {
    const first = open();
    assert.throws(() => open(), rejectsWith('JOURNAL_LOCKED'));
    await first.close();
    const second = open();
    await second.close();
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
    const raw = new Database(path);
    raw.prepare("INSERT OR REPLACE INTO journal_lease (id, pid, host, token, acquired_ms) VALUES (1, ?, ?, 'dead', 0)")
      .run(deadPid, hostname());
    raw.close();
    const third = open();
    assert.equal(third.openReport.staleLease?.pid, deadPid);
    await third.close();
  });

  it('fences a writer whose lease was taken', async () => {
    const journal = open();
    await journal.append(makeRecords(1, 1));
    const raw = new Database(path);
    raw.prepare("UPDATE journal_lease SET token = 'usurper'").run();
    raw.close();
    assert.throws(() => journal.appendSync(makeRecords(2, 1)), rejectsWith('JOURNAL_FENCED'));
    await assert.rejects(journal.append(makeRecords(2, 1)), rejectsWith('JOURNAL_FENCED'));
    await journal.close();
  });

  it('opens at every durability level with the mapped synchronous pragma', async () => {
    const expected = { fsync: 2, os: 1, none: 0 } as const;
    for (const durability of DURABILITY_LEVELS) {
      const journal = open({ durability });
      assert.equal(journal.synchronousPragma(), expected[durability]);
      await journal.append(makeRecords(journal.durableSequence() + 1, 2));
      await journal.close();
    }
    assert.throws(() => open({ durability: 'sometimes' as never }), rejectsWith('JOURNAL_BAD_OPTION'));
  });

  it('refuses to queue past maxPendingRecords', async () => {
    const journal = open({ maxPendingRecords: 4 });
    const records = makeRecords(1, 5);
    const accepted = journal.append(records.slice(0, 4));
    await assert.rejects(journal.append(records.slice(4)), rejectsWith('JOURNAL_BACKPRESSURE'));
    await accepted;
    await journal.append(records.slice(4));
    await journal.close();
  });

  it('reads while appends commit in between pages', async () => {
    const journal = open();
    await journal.append(makeRecords(1, 600));
    let next = journal.durableSequence() + 1;
    let read = 0;
    for await (const record of journal.readFrom(1)) {
      read++;
      if (record.firstSequence % 100 === 0) {
        const [more] = makeRecords(next, 1);
        journal.appendSync([more!]);
        next = more!.lastSequence + 1;
      }
    }
    assert.ok(read >= 600);
    await journal.close();
  });
});
