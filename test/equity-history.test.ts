/**
 * The broker's daily equity and time-weighted return (gateway/broker/equity-history.ts):
 * days close on the first event of a later day, flows are taken out of the returns,
 * old days are pruned, and the API serves each user only their own curve.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { EquityHistory, EQUITY_HISTORY_SCHEMA } from '../gateway/broker/equity-history';

const DAY = 86_400_000_000;
const at = (iso: string) => Date.parse(iso) * 1000;

function history(daysKept = 30): { db: Database.Database; equity: EquityHistory } {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);');
  db.exec(EQUITY_HISTORY_SCHEMA);
  return { db, equity: new EquityHistory(db, daysKept) };
}

test('days close at the first event of a later day; deposits are not performance', () => {
  const { equity } = history();
  const balances = new Map([[7, 0]]);
  const event = (iso: string) => equity.advance(at(iso), balances.keys(), (account) => balances.get(account)!);
  event('2026-11-23T10:00:00Z');
  equity.flow(7, 1_000);
  balances.set(7, 1_000);
  event('2026-11-23T23:59:59Z'); // same day: nothing closes
  assert.deepEqual(equity.performance(7, 1_000).points, [{ date: '2026-11-23', equity: 1_000, flows: 1_000 }]);
  event('2026-11-24T00:00:01Z'); // the 23rd closes at 1,000
  balances.set(7, 1_100); // the market moved: +10 %
  event('2026-11-25T09:00:00Z'); // the 24th closes at 1,100
  equity.flow(7, 500); // deposit on the 25th
  balances.set(7, 1_600);
  const performance = equity.performance(7, 1_600);
  assert.deepEqual(performance.points, [
    { date: '2026-11-23', equity: 1_000, flows: 1_000 },
    { date: '2026-11-24', equity: 1_100, flows: 0 },
    { date: '2026-11-25', equity: 1_600, flows: 500 },
  ]);
  assert.ok(Math.abs(performance.timeWeightedReturn! - 0.1) < 1e-12, `${performance.timeWeightedReturn}`);
  assert.equal(equity.performance(8, 0).timeWeightedReturn, null, 'an account without history');
});

test('old days are pruned beyond daysKept; the current day survives a restart', () => {
  const { db, equity } = history(3);
  for (let day = 0; day < 10; day++) equity.advance(at('2026-11-01T12:00:00Z') + day * DAY, [1], () => 100 + day);
  const points = equity.performance(1, 200).points;
  assert.deepEqual(points.map((p) => p.date), ['2026-11-07', '2026-11-08', '2026-11-09', '2026-11-10']);
  const reopened = new EquityHistory(db, 3);
  assert.equal(reopened.currentDay(), equity.currentDay());
  assert.throws(() => new EquityHistory(db, 1), /at least 2/);
});
