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

/** Records per page of the start-up scan. */
export const SCAN_PAGE_RECORDS = 4096;

export class JournalPages {
  private readonly db: Database.Database;
  private readonly rows: Database.Statement;
  private cursor: number;

  /** Pages from the record holding `fromSequence` on, `pageRecords` records each. */
  constructor(path: string, fromSequence: number, readonly pageRecords: number) {
    if (!Number.isInteger(pageRecords) || pageRecords < 1) throw new RangeError(`journal pages: pageRecords must be a positive integer, got ${pageRecords}`);
    this.db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      const containing = this.db.prepare('SELECT first_seq FROM journal WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1').pluck().get(fromSequence) as number | undefined;
      this.rows = this.db.prepare('SELECT first_seq, body FROM journal WHERE first_seq >= ? ORDER BY first_seq LIMIT ?').raw();
      this.cursor = containing ?? fromSequence;
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  /** The next page, or null after the journal's last record. */
  next(): ReplayPage | null {
    const rows = this.rows.all(this.cursor, this.pageRecords) as Array<[number, Buffer]>;
    if (rows.length === 0) return null;
    const bodies: RecordBody[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const [firstSequence, body] = rows[i];
      const parsed = parseRecordBody(body);
      if (parsed.firstSequence !== firstSequence) throw new Error(`journal pages: the body of row ${firstSequence} starts at ${parsed.firstSequence}`);
      bodies[i] = parsed;
    }
    this.cursor = rows[rows.length - 1][0] + 1;
    return pageFromBodies(bodies);
  }

  close(): void {
    this.db.close();
  }
}
