/**
 * The trading calendar driven through a running exchange, on a clock the test moves:
 * closed in pre-open, open at the open, DAY orders expire at the close, one dated
 * EndOfDay per trading day — also across a restart inside the end-of-day window (the
 * resent EndOfDay is rejected, the trade date does not advance twice) and across a
 * weekend (no EndOfDay on Saturday, Sunday or Monday morning).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { startTestExchange, TestExchange } from './helpers/test-exchange';
import { readJournalFile } from '../journal/sqlite-journal';
import { decodeEvent, EventObject } from '../core/record-objects';
import { Commands } from '../core/schema';
import { CancelReason, OrderType, RejectReason, Side, TimeInForce } from '../core/codes';
import { DEFAULT_CALENDAR } from '../core/runtime/trading-calendar';

const calendar = { ...DEFAULT_CALENDAR, mode: 'exchange' as const, holidays: [] };
const TICK_MS = 20;

async function journalEvents(exchange: TestExchange): Promise<EventObject[]> {
  const events: EventObject[] = [];
  for await (const record of readJournalFile(path.join(exchange.config.dataDirectory, 'journal.db'))) {
    for (let offset = 0; offset < record.events.length; offset += 16) events.push(decodeEvent(record.events, offset));
  }
  return events;
}

const dayEnds = (events: EventObject[]) => events.filter((e) => e.type === 'TradingDayEnded').map((e) => e.tradeDate);
const endRejections = (events: EventObject[]) => events
  .filter((e) => e.type === 'CommandRejected' && e.commandType === Commands.EndOfDay.code)
  .map((e) => [e.reason, e.reference]);

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, TICK_MS));
  }
}

test('the calendar through a running exchange: open, DAY expiry at the close, one EndOfDay per trading day across a restart and a weekend', async () => {
  const dataDirectory = mkdtempSync(path.join(os.tmpdir(), 'calendar-exchange-'));
  let clock = Date.parse('2026-11-27T14:00:00Z'); // Friday, pre-open
  const now = () => clock;
  const overrides = { calendar, clockIntervalMs: TICK_MS };
  let exchange = await startTestExchange(overrides, dataDirectory, { now });
  try {
    const client = exchange.client(4);
    await client.connect();
    const order = (clientOrderId: number) => client.send('NewOrder', {
      account: 4, instrument: 1, clientOrderId, side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.DAY, price: 9_000, quantity: 1,
    });
    order(1);
    assert.equal((await client.next((m) => m.type === 'OrderRejected')).reason, RejectReason.INSTRUMENT_CLOSED, 'closed before the open');

    clock = Date.parse('2026-11-27T14:31:00Z');
    const accepted = await until('the open', async () => {
      order(client.received.length + 100);
      const reply = await client.next((m) => m.type === 'OrderAccepted' || m.type === 'OrderRejected');
      return reply.type === 'OrderAccepted' ? reply : undefined;
    });

    clock = Date.parse('2026-11-27T21:01:00Z');
    const expired = await client.next((m) => m.type === 'OrderCanceled' && m.orderId === accepted.orderId);
    assert.equal(expired.reason, CancelReason.EXPIRED, 'the DAY order expired at the close');

    clock = Date.parse('2026-11-27T22:01:00Z');
    await until('Friday\'s end of day', async () => ((dayEnds(await journalEvents(exchange))).length === 1 ? true : undefined));
    await client.close();
    await exchange.stop();

    // Restart inside Friday's end-of-day window: the start commands resend EndOfDay for Thursday and Friday.
    clock = Date.parse('2026-11-27T22:30:00Z');
    exchange = await startTestExchange(overrides, dataDirectory, { now });
    const rejected = await until('the resent EndOfDays', async () => {
      const found = endRejections(await journalEvents(exchange));
      return found.length === 2 ? found : undefined;
    });
    assert.deepEqual(rejected, [
      [RejectReason.TRADING_DAY_ALREADY_ENDED, 20261126],
      [RejectReason.TRADING_DAY_ALREADY_ENDED, 20261127],
    ]);
    assert.deepEqual(dayEnds(await journalEvents(exchange)), [2], 'Friday ended once: trade date 1 -> 2');

    // The weekend and Monday morning end nothing; Monday's end of day ends Monday.
    for (const instant of ['2026-11-28T12:00:00Z', '2026-11-29T12:00:00Z', '2026-11-30T10:00:00Z', '2026-11-30T15:00:00Z']) {
      clock = Date.parse(instant);
      await new Promise((resolve) => setTimeout(resolve, 5 * TICK_MS));
    }
    assert.deepEqual(dayEnds(await journalEvents(exchange)), [2], 'no EndOfDay over the weekend');
    clock = Date.parse('2026-11-30T22:05:00Z');
    assert.deepEqual(await until('Monday\'s end of day', async () => {
      const ends = dayEnds(await journalEvents(exchange));
      return ends.length === 2 ? ends : undefined;
    }), [2, 3]);
  } finally {
    await exchange.stop();
    rmSync(dataDirectory, { recursive: true, force: true });
  }
});
