import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CALENDAR, momentAt, phaseAt, previousTradingDay, SessionCommand, startCommands, transitionCommands } from '../core/runtime/trading-calendar';

const exchange = { ...DEFAULT_CALENDAR, mode: 'exchange' as const, holidays: ['2026-12-25'] };
const at = (iso: string) => Date.parse(iso);

test('exchange calendar: pre-open, open, closed, end of day on a weekday', () => {
  assert.equal(phaseAt(exchange, at('2026-11-25T13:00:00Z')), 'pre-open');
  assert.equal(phaseAt(exchange, at('2026-11-25T14:30:00Z')), 'open');
  assert.equal(phaseAt(exchange, at('2026-11-25T20:59:59Z')), 'open');
  assert.equal(phaseAt(exchange, at('2026-11-25T21:00:00Z')), 'closed');
  assert.equal(phaseAt(exchange, at('2026-11-25T22:30:00Z')), 'end-of-day');
});

test('weekends and holidays are closed', () => {
  assert.equal(phaseAt(exchange, at('2026-11-28T15:00:00Z')), 'closed'); // Saturday
  assert.equal(phaseAt(exchange, at('2026-12-25T15:00:00Z')), 'closed');
});

test('24x7 is always open; demo compresses a day into minutes', () => {
  assert.equal(phaseAt(DEFAULT_CALENDAR, at('2026-11-28T03:00:00Z')), 'open');
  const demo = { ...DEFAULT_CALENDAR, mode: 'demo' as const, demoDayMinutes: 24 }; // one demo minute = one hour
  const dayStart = Math.floor(at('2026-11-25T00:00:00Z') / (24 * 60_000)) * 24 * 60_000;
  assert.equal(phaseAt(demo, dayStart + 10 * 60_000), 'pre-open'); // 10:00
  assert.equal(phaseAt(demo, dayStart + 15 * 60_000), 'open'); // 15:00
  assert.equal(phaseAt(demo, dayStart + 21 * 60_000 + 30_000), 'closed'); // 21:30
  assert.equal(phaseAt(demo, dayStart + 23 * 60_000), 'end-of-day');
});

const moment = (day: number, phase: 'pre-open' | 'open' | 'closed' | 'end-of-day', trading = true) => ({ day, trading, phase });
const names = (commands: SessionCommand[]) => commands.map((c) => (c.name === 'EndOfDay' ? `EndOfDay(${c.calendarDate})` : c.name));

test('transitions send the session commands in order (DAY orders expire at close, settlement at end of day)', () => {
  const d = 20261125;
  assert.deepEqual(names(transitionCommands(moment(d, 'pre-open'), moment(d, 'open'))), ['SessionOpen']);
  assert.deepEqual(names(transitionCommands(moment(d, 'open'), moment(d, 'closed'))), ['SessionClose']);
  assert.deepEqual(names(transitionCommands(moment(d, 'closed'), moment(d, 'end-of-day'))), [`EndOfDay(${d})`]);
  assert.deepEqual(names(transitionCommands(moment(d, 'open'), moment(d, 'end-of-day'))), ['SessionClose', `EndOfDay(${d})`]);
  assert.deepEqual(names(transitionCommands(moment(d, 'end-of-day'), moment(d + 1, 'pre-open'))), []);
  // A day that never reached its end (the supervisor was stalled) is ended when the next begins.
  assert.deepEqual(names(transitionCommands(moment(d, 'open'), moment(d + 1, 'pre-open'))), ['SessionClose', `EndOfDay(${d})`]);
  assert.deepEqual(names(transitionCommands(moment(d, 'closed'), moment(d + 1, 'open'))), [`EndOfDay(${d})`, 'SessionOpen']);
  // Days without trading are never ended.
  assert.deepEqual(names(transitionCommands(moment(20261128, 'closed', false), moment(20261129, 'closed', false))), []);
  assert.deepEqual(names(transitionCommands(moment(20261129, 'closed', false), moment(20261130, 'pre-open'))), []);
  assert.deepEqual(names(transitionCommands(moment(d, 'open'), moment(d, 'open'))), []);
});

test('a simulated fortnight, minute by minute: one dated EndOfDay per trading day, none on weekends or holidays', () => {
  const calendar = { ...exchange, holidays: ['2026-11-26'] }; // a Thursday
  let current = momentAt(calendar, at('2026-11-23T00:00:00Z'));
  const sent: string[] = [];
  for (let t = at('2026-11-23T00:01:00Z'); t < at('2026-12-07T00:00:00Z'); t += 60_000) {
    const next = momentAt(calendar, t);
    sent.push(...names(transitionCommands(current, next)));
    current = next;
  }
  const ends = sent.filter((c) => c.startsWith('EndOfDay'));
  assert.deepEqual(ends, [23, 24, 25, 27, 30].map((n) => `EndOfDay(202611${n})`).concat(['1', '2', '3', '4'].map((n) => `EndOfDay(2026120${n})`)));
  assert.equal(sent.filter((c) => c === 'SessionOpen').length, 9);
  assert.equal(sent.filter((c) => c === 'SessionClose').length, 9);
  for (let i = 1; i < sent.length; i++) assert.notEqual(sent[i], sent[i - 1], `no command twice in a row at ${i}`);
});

test('start commands: a recovered exchange ends the previous trading day (idempotent) and never closes an open session', () => {
  const monday = at('2026-11-30T10:00:00Z'); // pre-open; Friday 27th is the previous trading day
  assert.deepEqual(names(startCommands(exchange, monday, true)), ['SessionClose', 'EndOfDay(20261127)']);
  assert.deepEqual(names(startCommands(exchange, monday, false)), ['SessionClose'], 'a fresh journal has no previous day');
  assert.deepEqual(names(startCommands(exchange, at('2026-11-30T15:00:00Z'), true)), ['EndOfDay(20261127)', 'SessionOpen']);
  assert.deepEqual(names(startCommands(exchange, at('2026-11-30T22:30:00Z'), true)), ['SessionClose', 'EndOfDay(20261127)', 'EndOfDay(20261130)']);
  assert.deepEqual(names(startCommands(exchange, at('2026-12-26T12:00:00Z'), true)), ['SessionClose', 'EndOfDay(20261224)'], 'skips the holiday');
  assert.deepEqual(names(startCommands(DEFAULT_CALENDAR, monday, true)), [], '24x7 has no days');
  assert.equal(previousTradingDay(exchange, at('2026-11-30T10:00:00Z')), 20261127);
  const demo = { ...DEFAULT_CALENDAR, mode: 'demo' as const, demoDayMinutes: 10 };
  const t = 1_800_000_000_000;
  assert.equal(previousTradingDay(demo, t), momentAt(demo, t).day - 1);
});
