import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CALENDAR, phaseAt, transitionCommands } from '../core/runtime/trading-calendar';

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

test('transitions send the session commands in order (DAY orders expire at close, settlement at end of day)', () => {
  assert.deepEqual(transitionCommands('pre-open', 'open'), ['SessionOpen']);
  assert.deepEqual(transitionCommands('open', 'closed'), ['SessionClose']);
  assert.deepEqual(transitionCommands('closed', 'end-of-day'), ['EndOfDay']);
  assert.deepEqual(transitionCommands('open', 'end-of-day'), ['SessionClose', 'EndOfDay']);
  assert.deepEqual(transitionCommands('end-of-day', 'pre-open'), []);
  assert.deepEqual(transitionCommands('closed', 'pre-open'), ['EndOfDay']);
  assert.deepEqual(transitionCommands('open', 'open'), []);
});
