/**
 * The embedded journal file read in pages for the gateway (start-up scan, journal
 * replays): a read-only connection (WAL lets it read while the journal thread writes),
 * raw rows, bodies parsed in place into flat typed arrays (snapshots/replay-page.ts),
 * no msgpack objects per record. Measured on the session-scan bench: about twice the
 * rate of readJournalFile, whose per-record decoding and async iteration dominated the
 * scan. Like readJournalFile, it trusts the file: the matcher verified the chain at
 * recovery.
 */
import Database from 'better-sqlite3';
import { pageFromBodies, parseRecordBody, RecordBody, ReplayPage } from '../../snapshots/replay-page';
import { splitStoredRow } from '../../journal/row-records';

/** Records per page of the start-up scan. */
export const SCAN_PAGE_RECORDS = 4096;
/** Rows fetched per query (one record each, or ~25 when packed). */
const ROWS_PER_QUERY = 512;

export class JournalPages {
  private readonly db: Database.Database;
  private readonly rows: Database.Statement;
  /** The row to read from next, and the first sequence still to deliver (a packed row holds several records). */
  private cursor: number;
  private fromSequence: number;
  /** Rows read but not delivered whole yet (a page ends inside a run of packed rows). */
  private rowsAhead: Array<[number, number, number, Buffer]> = [];
  private rowAt = 0;

  /** Pages from the record holding `fromSequence` on, `pageRecords` records each. */
  constructor(path: string, fromSequence: number, readonly pageRecords: number) {
    if (!Number.isInteger(pageRecords) || pageRecords < 1) throw new RangeError(`journal pages: pageRecords must be a positive integer, got ${pageRecords}`);
    this.db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      const containing = this.db.prepare('SELECT first_seq FROM journal WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1').pluck().get(fromSequence) as number | undefined;
      this.rows = this.db.prepare('SELECT first_seq, last_seq, ts, body FROM journal WHERE first_seq >= ? ORDER BY first_seq LIMIT ?').raw();
      this.cursor = containing ?? fromSequence;
      this.fromSequence = fromSequence;
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  /** The next page, or null after the journal's last record. */
  next(): ReplayPage | null {
    const bodies: RecordBody[] = [];
    for (;;) {
      if (this.rowAt === this.rowsAhead.length) {
        // Rows are fetched ROWS_PER_QUERY at a time and kept across pages: a packed row holds ~25 records.
        this.rowsAhead = this.rows.all(this.cursor, ROWS_PER_QUERY) as Array<[number, number, number, Buffer]>;
        this.rowAt = 0;
        if (this.rowsAhead.length === 0) return bodies.length === 0 ? null : pageFromBodies(bodies);
        this.cursor = this.rowsAhead[this.rowsAhead.length - 1]![0] + 1;
      }
      const [rowFirst, rowLast, rowTs, body] = this.rowsAhead[this.rowAt]!;
      for (const stored of splitStoredRow(rowFirst, rowLast, rowTs, body)) {
        if (stored.lastSequence < this.fromSequence) continue; // before the start, or delivered in the last page
        if (bodies.length === this.pageRecords) { // full: the next page goes on from this record, in this row
          this.fromSequence = stored.firstSequence;
          return pageFromBodies(bodies);
        }
        const parsed = parseRecordBody(stored.body);
        if (parsed.firstSequence !== stored.firstSequence) throw new Error(`journal pages: the record at ${stored.firstSequence} of row ${rowFirst} starts at ${parsed.firstSequence}`);
        bodies.push(parsed);
      }
      this.rowAt++;
    }
  }

  close(): void {
    this.db.close();
  }
}
