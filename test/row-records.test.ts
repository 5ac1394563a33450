/**
 * Packed rows (journal/row-records.ts): cutting a row into its records, the row's columns at its
 * edges, bodies that cannot be cut, and a reader that pages through rows from inside one (the
 * gateway's JournalPages).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { chainRecords } from '../journal/hash-chain';
import { encodeRecord } from '../journal/record-codec';
import { splitStoredRow } from '../journal/row-records';
import { SqliteJournal } from '../journal/sqlite-journal';
import { JournalPages } from '../gateway/order-entry/journal-pages';
import { makeRecords } from './journal-contract';

/** The record rows of a row, copied as they come (splitRow reuses one object). */
function cut(first: number, last: number, ts: number, body: Buffer) {
  const parts = [];
  for (const r of splitStoredRow(first, last, ts, body)) {
    parts.push({ first: r.firstSequence, last: r.lastSequence, ts: r.timestampMicros, body: Buffer.from(r.body), at: r.bodyStart });
  }
  return parts;
}

describe('splitRow', () => {
  const records = makeRecords(1, 3);
  chainRecords(records);
  const bodies = records.map((r) => Buffer.from(encodeRecord(r)));
  const row = Buffer.concat(bodies);
  const [a, b, c] = records as [typeof records[0], typeof records[0], typeof records[0]];

  it('a one-record row is itself, with the row columns', () => {
    assert.deepEqual(cut(a.firstSequence, a.lastSequence, a.timestampMicros, bodies[0]!), [
      { first: a.firstSequence, last: a.lastSequence, ts: a.timestampMicros, body: bodies[0], at: 0 },
    ]);
  });

  it('a packed row: the first record carries first_seq and ts, the last last_seq, the middle its own header', () => {
    const parts = cut(a.firstSequence, c.lastSequence + 100, a.timestampMicros - 5, row);
    assert.deepEqual(parts.map((p) => p.body), bodies);
    assert.deepEqual(parts.map((p) => p.at), [0, bodies[0]!.length, bodies[0]!.length + bodies[1]!.length]);
    assert.deepEqual(parts.map((p) => [p.first, p.last, p.ts]), [
      [a.firstSequence, a.lastSequence, a.timestampMicros - 5], // the row's ts column, as written
      [b.firstSequence, b.lastSequence, b.timestampMicros],
      [c.firstSequence, c.lastSequence + 100, c.timestampMicros], // the row's last_seq column, as written
    ]);
  });

  it('a body that does not start with a canonical v1/v2 record (v0) goes on whole', () => {
    const old = makeRecords(1, 2);
    for (const r of old) r.version = 0;
    const body = Buffer.concat(old.map((r) => Buffer.from(encodeRecord(r))));
    assert.deepEqual(cut(1, 99, 7, body), [{ first: 1, last: 99, ts: 7, body, at: 0 }]);
  });

  it('a rest that cannot be cut goes on whole, from the sequence the record before leads to', () => {
    const damaged = Buffer.concat([bodies[0]!, Buffer.from([0x98, 0x02, 0xff]), bodies[1]!]);
    const parts = cut(a.firstSequence, b.lastSequence, a.timestampMicros, damaged);
    assert.equal(parts.length, 2);
    assert.deepEqual(parts[1]!.first, a.lastSequence + 1);
    assert.equal(parts[1]!.last, b.lastSequence);
    assert.equal(parts[1]!.body.length, 3 + bodies[1]!.length);
  });
});

/** A packed-row journal holding records 1..count in a fresh directory, removed after `use`. */
function withPackedJournal(count: number, use: (path: string, records: ReturnType<typeof makeRecords>) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'row-records-'));
  try {
    const path = join(dir, 'journal.db');
    const journal = SqliteJournal.open({ path, packRows: true });
    const records = makeRecords(1, count);
    journal.appendSync(records);
    void journal.close();
    use(path, records);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('packed rows through their readers', () => {
  it('the gateway\'s pages start at the record holding a sequence inside a row and page through rows by records', () => {
    withPackedJournal(90, (path, records) => {
      const rows = new Database(path, { readonly: true }).prepare('SELECT count(*) FROM journal').pluck().get() as number;
      assert.ok(rows < 10, `${rows} rows`);
      const from = records[35]!; // 3 events: its second is inside it
      assert.ok(from.lastSequence > from.firstSequence);
      const pages = new JournalPages(path, from.firstSequence + 1, 7);
      const seen: number[] = [];
      for (let page = pages.next(); page !== null; page = pages.next()) {
        assert.ok(page.count <= 7);
        for (let i = 0; i < page.count; i++) seen.push(page.firstSequence[i]!);
      }
      pages.close();
      assert.deepEqual(seen, records.slice(35).map((r) => r.firstSequence));
    });
  });

  it('a row whose last_seq column disagrees with its last record is named at that record when opened', () => {
    withPackedJournal(60, (path, records) => {
      const raw = new Database(path);
      const [first, second] = raw.prepare('SELECT first_seq, last_seq FROM journal ORDER BY first_seq LIMIT 2').all() as Array<{ first_seq: number; last_seq: number }>;
      assert.ok(second !== undefined, 'two rows at least');
      raw.prepare('UPDATE journal SET last_seq = last_seq + 1 WHERE first_seq = ?').run(first!.first_seq);
      raw.close();
      const lastOfRow = records.find((r) => r.lastSequence === first!.last_seq)!;
      assert.throws(() => SqliteJournal.open({ path, verifyOnOpen: 'full' }),
        (error: Error & { code?: string; sequence?: number }) => error.code === 'JOURNAL_CORRUPT' && error.sequence === lastOfRow.firstSequence && /columns/.test(error.message));
    });
  });
});
