/**
 * Session-sequence benchmark (`npm run bench:session-scan`): what a gateway's start-up
 * scan and a journal-served replay cost (gateway/order-entry/sequence-scan.ts,
 * journal-replay.ts).
 *
 * A synthetic journal (sqlite durability 'none' to build it fast) of SCAN_EVENTS events
 * in records shaped like real order flow: a NewOrder stamped with a key origin and a
 * client sequence, answered by OrderAccepted + CashReserved; every third command
 * crosses: Trade + two PositionChanged. KEYS keys, one account each.
 *
 *   scan     scanJournal over the whole file, all keys served (one gateway), with the
 *            gateway's AccountViews fed every event as the worker does; median of RUNS.
 *   replay   one key's whole stream read back from the journal from its first message.
 *
 * The last line is one JSON object of headline figures. SESSION_SCAN_BENCH_SCALE=0.1
 * scales the journal for a smoke run; SESSION_SCAN_BENCH_JOURNAL=file keeps the journal
 * there (and reuses it when it exists).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gc, median } from './stats';
import { machineInfo } from './machine';
import { EVENT_WORDS, Events } from '../core/schema';
import { encodeCommand } from '../core/record-objects';
import { Side, OrderType, TimeInForce } from '../core/codes';
import { readJournalFile, SqliteJournal } from '../journal/sqlite-journal';
import { createRecord, JournalRecord } from '../journal/journal-record';
import { COMMAND_CLIENT_SEQUENCE_WORD, keyOrigin } from '../gateway/order-entry/command-stamp';
import { KeyRouting } from '../gateway/order-entry/key-routing';
import { scanJournal } from '../gateway/order-entry/sequence-scan';
import { replayFromJournal } from '../gateway/order-entry/journal-replay';
import { AccountViews } from '../gateway/order-entry/account-view';
import { FrameEncoder } from '../gateway/protocol/encoder';

const SCALE = Number(process.env.SESSION_SCAN_BENCH_SCALE ?? '1');
const SCAN_EVENTS = Math.max(20_000, Math.round(3_000_000 * SCALE));
const KEYS = 1000;
const RUNS = 3;
const APPEND_BATCH = 4096;

function event(words: Float64Array, at: number, name: keyof typeof Events, sequence: number, origin: number, fields: Record<string, number>): void {
  const spec = Events[name];
  const o = at * EVENT_WORDS;
  words[o] = spec.code;
  words[o + 1] = sequence;
  words[o + 2] = 1_700_000_000_000_000;
  words[o + 3] = origin;
  for (const [field, value] of Object.entries(fields)) words[o + (spec.at as Record<string, number>)[field]] = value;
}

/** Writes the synthetic journal; returns its last sequence. */
async function buildJournal(path: string): Promise<number> {
  const journal = SqliteJournal.open({ path, durability: 'none', packRows: true }); // rows as the journal thread writes them
  let sequence = 0;
  let command = 0;
  const clientSequences = new Float64Array(KEYS + 1);
  let batch: JournalRecord[] = [];
  while (sequence < SCAN_EVENTS) {
    command++;
    const key = 1 + ((command * 7919) % KEYS);
    const origin = keyOrigin(1, key);
    const words = encodeCommand('NewOrder', {
      account: key, instrument: 1, clientOrderId: command, side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, price: 10_000, quantity: 1,
    }, 1_700_000_000_000_000, origin);
    words[COMMAND_CLIENT_SEQUENCE_WORD] = ++clientSequences[key];
    const crosses = command % 3 === 0;
    const events = new Float64Array((crosses ? 3 : 2) * EVENT_WORDS);
    const first = sequence + 1;
    if (crosses) {
      const maker = 1 + ((command * 104_729) % KEYS);
      event(events, 0, 'Trade', ++sequence, origin, { instrument: 1, makerOrderId: command - 1, takerOrderId: command, price: 10_000, quantity: 1, makerAccount: maker, takerAccount: key });
      event(events, 1, 'PositionChanged', ++sequence, origin, { account: maker, instrument: 1, quantity: -1 });
      event(events, 2, 'PositionChanged', ++sequence, origin, { account: key, instrument: 1, quantity: 1 });
    } else {
      event(events, 0, 'OrderAccepted', ++sequence, origin, { orderId: command, account: key, instrument: 1, clientOrderId: command, side: Side.Buy, price: 10_000, quantity: 1 });
      event(events, 1, 'CashReserved', ++sequence, origin, { account: key, orderId: command, amount: 10_000, reservedTotal: 10_000 });
    }
    batch.push(createRecord(first, 1_700_000_000_000_000, words, events));
    if (batch.length === APPEND_BATCH) {
      journal.appendSync(batch);
      batch = [];
    }
  }
  if (batch.length > 0) journal.appendSync(batch);
  await journal.close();
  return sequence;
}

async function main(): Promise<void> {
  const machine = machineInfo();
  console.log(`machine: ${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const kept = process.env.SESSION_SCAN_BENCH_JOURNAL;
  const dir = kept === undefined ? mkdtempSync(join(tmpdir(), 'session-scan-')) : undefined;
  const path = kept ?? join(dir!, 'journal.db');
  try {
    let started = performance.now();
    let last = 0;
    const reuse = kept !== undefined && existsSync(kept);
    if (reuse) {
      for await (const record of readJournalFile(path, 1)) last = record.lastSequence;
    } else last = await buildJournal(path);
    console.log(`journal: ${last} events, ${KEYS} keys, ${reuse ? 'read' : 'built'} in ${Math.round(performance.now() - started)} ms`);
    const keys = Array.from({ length: KEYS }, (_, i) => ({ keyId: i + 1, account: i + 1 }));
    const rates: number[] = [];
    let messages = 0;
    for (let run = 0; run < RUNS; run++) {
      gc();
      const routing = new KeyRouting(keys, () => true);
      const views = new AccountViews(() => true);
      const report = await scanJournal(path, last, routing, (w, o) => views.apply(w, o));
      rates.push(report.events / (report.millis / 1000));
      messages = report.messages;
      console.log(`scan run ${run + 1}: ${report.events} events, ${report.records} records, ${report.messages} messages in ${Math.round(report.millis)} ms`);
    }
    const scanEventsPerSecond = Math.round(median(rates));
    console.log(`scan: ${scanEventsPerSecond} events/s (median of ${RUNS}); ${Math.round(last / scanEventsPerSecond * 1000)} ms for this journal`);

    const routing = new KeyRouting(keys, () => true);
    await scanJournal(path, last, routing, () => {});
    const stream = routing.stream(1)!;
    const total = stream.nextServerSequence - 1;
    let sent = 0;
    let bytes = 0;
    started = performance.now();
    const result = await replayFromJournal(path, stream, stream.index, 1, total, new FrameEncoder(new Uint8Array(16_384)), {
      sendFrame: (frame) => { sent++; bytes += frame.length; },
      bufferedBytes: () => 0,
      open: () => true,
    });
    const replayMillis = performance.now() - started;
    console.log(`replay of key 1 (${result}): ${total} messages, ${sent} frames, ${bytes} bytes in ${Math.round(replayMillis)} ms (whole journal read: ${Math.round(last / (replayMillis / 1000))} events/s)`);
    console.log(JSON.stringify({
      bench: 'session-scan', events: last, keys: KEYS, messages, scanEventsPerSecond,
      replayMessages: total, replayMillis: Math.round(replayMillis), replayEventsPerSecond: Math.round(last / (replayMillis / 1000)),
    }));
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
