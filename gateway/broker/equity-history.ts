/**
 * Performance over time for the portfolio view: each account's equity at the end of every
 * UTC day, and its deposits and withdrawals during the day, kept in broker.db
 * (daily_equity) as the broker applies the journal's events. A day closes when the first
 * event stamped with a later day arrives (event timestamps, not the wall clock: a rebuild
 * from the journal gives the same curve); equity = cash + positions at the last trade
 * prices. The time-weighted return chains the daily returns with the day's flows taken
 * out: Π (E_t − F_t) / E_{t−1} − 1, so depositing money is not performance.
 */
import type Database from 'better-sqlite3';

const MICROS_PER_DAY = 86_400_000_000;

export interface EquityPoint {
  /** UTC date, YYYY-MM-DD. */
  date: string;
  equity: number;
  /** Deposits minus withdrawals during the day. */
  flows: number;
}

export interface Performance {
  points: EquityPoint[];
  /** null until there are two points with a positive starting equity. */
  timeWeightedReturn: number | null;
}

export const EQUITY_HISTORY_SCHEMA = `
CREATE TABLE IF NOT EXISTS daily_equity (
  account INTEGER NOT NULL, day INTEGER NOT NULL, equity INTEGER, flows INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (account, day));`;

export function dayOf(timestampMicros: number): number {
  return Math.floor(timestampMicros / MICROS_PER_DAY);
}

function dateOf(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

export class EquityHistory {
  /** The day of the last event applied (0: none yet); kept in meta, read once (advance runs for every event). */
  private day: number;

  constructor(private readonly db: Database.Database, private readonly daysKept: number) {
    if (!Number.isSafeInteger(daysKept) || daysKept < 2) throw new RangeError(`equityDaysKept must be an integer of at least 2, got ${daysKept}`);
    const row = db.prepare("SELECT value FROM meta WHERE key = 'equity_day'").get() as { value: string } | undefined;
    this.day = row === undefined ? 0 : Number(row.value);
  }

  currentDay(): number {
    return this.day;
  }

  /**
   * Called with every event's timestamp before it is applied: on a new day, closes the
   * previous one with each account's equity as it stood at its last event.
   */
  advance(timestampMicros: number, accounts: Iterable<number>, equityOf: (account: number) => number): void {
    const day = dayOf(timestampMicros);
    const current = this.day;
    if (day <= current) return;
    if (current !== 0) {
      const close = this.db.prepare(`INSERT INTO daily_equity (account, day, equity) VALUES (?, ?, ?)
        ON CONFLICT(account, day) DO UPDATE SET equity = excluded.equity`);
      for (const account of accounts) close.run(account, current, equityOf(account));
      this.db.prepare('DELETE FROM daily_equity WHERE day <= ?').run(current - this.daysKept);
    }
    this.db.prepare("INSERT INTO meta (key, value) VALUES ('equity_day', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(String(day));
    this.day = day;
  }

  /** A deposit (positive) or withdrawal (negative) booked on the current day. */
  flow(account: number, amount: number): void {
    this.db.prepare(`INSERT INTO daily_equity (account, day, flows) VALUES (?, ?, ?)
      ON CONFLICT(account, day) DO UPDATE SET flows = flows + excluded.flows`).run(account, this.currentDay(), amount);
  }

  /** The closed days, then today at `equityNow`. */
  performance(account: number, equityNow: number): Performance {
    const rows = this.db.prepare('SELECT day, equity, flows FROM daily_equity WHERE account = ? ORDER BY day').all(account) as Array<{ day: number; equity: number | null; flows: number }>;
    const today = this.currentDay();
    const points: EquityPoint[] = [];
    let todayFlows = 0;
    for (const row of rows) {
      if (row.day === today) todayFlows = row.flows;
      else if (row.equity !== null) points.push({ date: dateOf(row.day), equity: row.equity, flows: row.flows });
    }
    if (today !== 0) points.push({ date: dateOf(today), equity: equityNow, flows: todayFlows });
    let growth = 1;
    let linked = 0;
    for (let i = 1; i < points.length; i++) {
      const before = points[i - 1]!.equity;
      if (before <= 0) continue;
      growth *= (points[i]!.equity - points[i]!.flows) / before;
      linked++;
    }
    return { points, timeWeightedReturn: linked === 0 ? null : growth - 1 };
  }
}
