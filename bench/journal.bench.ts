/**
 * Journal append throughput and latency: `npm run bench:journal`.
 *
 * The sqlite journal at each durability level and group size (events per transaction), each
 * append timed into an HDR histogram; against a naive baseline in the same run (msgpackr +
 * createHash + one autocommit INSERT per record, i.e. one transaction per record); plus the
 * async append() path where many producers' appends meet in one group commit.
 * Prints a machine header, a table, then ONE line of JSON with the headline figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, release, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import * as hdr from 'hdr-histogram-js';
import Database from 'better-sqlite3';
import { Packr } from 'msgpackr';
import { SqliteJournal } from '../journal/sqlite-journal';
import { createRecord, JournalRecord, RECORD_FORMAT_VERSION, WORDS_PER_EVENT } from '../journal/journal-record';
import { EventHeader, EventName, Events } from '../core/schema';
import { encodeCommand } from '../core/record-objects';
import { Durability, DURABILITY_LEVELS } from '../journal/journal';
import { wordBytes } from '../journal/record-codec';

/** A typical command: an acknowledgement plus one trade. */
const EVENTS_PER_RECORD = 2;
/** Events per transaction (a group of EVENTS_PER_RECORD-event records). */
const GROUP_EVENTS = [2, 64, 512, 2048];
/** Measured time per configuration; the whole run stays well under a minute. */
const RUN_MS = 1200;
const ASYNC_PRODUCERS = 1024;
const TARGET_FSYNC_EVENTS_PER_S = 1_000_000;

interface Result {
  name: string;
  events: number;
  seconds: number;
  p99Micros: number;
  transactions: number;
}

function histogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
}

/** Words of one event as the matcher writes them: type, sequence, timestamp, origin, then fields by name. */
function eventWords(name: EventName, sequence: number, timestamp: number, origin: number, fields: Record<string, number>): number[] {
  const spec = Events[name];
  const words = new Array<number>(WORDS_PER_EVENT).fill(0);
  words[EventHeader.type] = spec.code;
  words[EventHeader.sequence] = sequence;
  words[EventHeader.timestamp] = timestamp;
  words[EventHeader.origin] = origin;
  for (const [key, value] of Object.entries(fields)) words[spec.fields.find((field) => field.name === key)!.word] = value;
  return words;
}

/**
 * Records shaped like the matcher's: a new order, its OrderAccepted, then Trades against resting
 * orders, with ids, prices and quantities that vary from record to record (what a real journal
 * holds; the packed format's size depends on it, so arbitrary bytes would measure something else).
 */
function makeRecords(count: number, eventsPerRecord: number, version: 1 | 2 = RECORD_FORMAT_VERSION): JournalRecord[] {
  return Array.from({ length: count }, (_, index) => {
    const timestamp = 1_700_000_000_000_000 + index * 7;
    const origin = 1 + (index % 64);
    const account = 1 + (index * 37) % 5000;
    const price = 10_000 + (index * 13) % 400;
    const quantity = 100 * (1 + index % 9);
    const orderId = 5_000_000 + index;
    const command = encodeCommand('NewOrder', { account, instrument: 1 + index % 8, clientOrderId: 70_000 + index, side: 1 + index % 2, orderType: 1, timeInForce: 1, price, quantity }, timestamp, origin);
    const first = 1 + index * eventsPerRecord;
    const words: number[] = eventWords('OrderAccepted', first, timestamp, origin, { orderId, account, instrument: 1 + index % 8, clientOrderId: 70_000 + index, side: 1 + index % 2, orderType: 1, timeInForce: 1, price, quantity });
    for (let e = 1; e < eventsPerRecord; e++) {
      words.push(...eventWords('Trade', first + e, timestamp, origin, {
        instrument: 1 + index % 8, makerOrderId: orderId - 1000 + e, takerOrderId: orderId, price, quantity: 100, aggressorSide: 1 + index % 2,
        makerAccount: 1 + (index * 53) % 5000, takerAccount: account, makerLeaves: 200, takerLeaves: quantity - 100 * e, makerFee: 3, takerFee: 5,
      }));
    }
    const record = createRecord(first, timestamp, command, Float64Array.from(words));
    record.version = version;
    return record;
  });
}

/** Renumbers reused records (and their events' sequence words) so they continue at `sequence`; returns the next sequence. */
function renumber(records: JournalRecord[], sequence: number): number {
  for (const record of records) {
    const events = record.lastSequence - record.firstSequence + 1;
    record.firstSequence = sequence;
    record.lastSequence = sequence + events - 1;
    for (let e = 0; e < events; e++) record.events[e * WORDS_PER_EVENT + EventHeader.sequence] = sequence + e;
    sequence += events;
  }
  return sequence;
}

function withTemporaryJournal<T>(durability: Durability, body: (journal: SqliteJournal) => T, packRows = false): T {
  const dir = mkdtempSync(join(tmpdir(), 'journal-bench-'));
  const journal = SqliteJournal.open({ path: join(dir, 'journal.db'), durability, verifyOnOpen: 'tail', packRows });
  try {
    return body(journal);
  } finally {
    void journal.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function benchAppendSync(durability: Durability, groupEvents: number, eventsPerRecord = EVENTS_PER_RECORD, version: 1 | 2 = RECORD_FORMAT_VERSION, packRows = false): Result {
  return withTemporaryJournal(durability, (journal) => {
    const records = makeRecords(Math.max(1, groupEvents / eventsPerRecord), eventsPerRecord, version);
    const latency = histogram();
    let sequence = 1;
    const started = process.hrtime.bigint();
    let now = started;
    while (now - started < BigInt(RUN_MS) * 1_000_000n) {
      sequence = renumber(records, sequence);
      const before = now;
      journal.appendSync(records);
      now = process.hrtime.bigint();
      latency.recordValue(Math.max(1, Number(now - before) / 1000));
    }
    const stats = journal.stats();
    const format = (version === 1 ? ', raw words (v1)' : '') + (packRows ? ', packed rows' : '');
    const name = `sqlite ${durability} appendSync ${records.length * eventsPerRecord} ev/tx (${eventsPerRecord} ev/record${format})`;
    return { name, events: stats.events, seconds: Number(now - started) / 1e9, p99Micros: latency.getValueAtPercentile(99), transactions: stats.transactions };
  }, packRows);
}

/** Many producers call append() in the same turn; group commit turns them into one transaction. */
async function benchAsyncGroup(durability: Durability): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'journal-bench-'));
  const journal = SqliteJournal.open({ path: join(dir, 'journal.db'), durability });
  const records = makeRecords(ASYNC_PRODUCERS, EVENTS_PER_RECORD);
  const latency = histogram();
  let sequence = 1;
  const started = process.hrtime.bigint();
  let now = started;
  while (now - started < BigInt(RUN_MS) * 1_000_000n) {
    sequence = renumber(records, sequence);
    const before = now;
    await Promise.all(records.map((record) => journal.append([record])));
    now = process.hrtime.bigint();
    latency.recordValue(Math.max(1, Number(now - before) / 1000));
  }
  const stats = journal.stats();
  await journal.close();
  rmSync(dir, { recursive: true, force: true });
  const name = `sqlite ${durability} append() × ${ASYNC_PRODUCERS} producers (group commit)`;
  return { name, events: stats.events, seconds: Number(now - started) / 1e9, p99Micros: latency.getValueAtPercentile(99), transactions: stats.transactions };
}

/** What one would write first: object → msgpackr, createHash, one autocommit INSERT (= one fsync) per record. */
function benchNaive(): Result {
  const dir = mkdtempSync(join(tmpdir(), 'journal-bench-'));
  const db = new Database(join(dir, 'naive.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE journal (first_seq INTEGER PRIMARY KEY, last_seq INTEGER, ts INTEGER, body BLOB)');
  const insert = db.prepare('INSERT INTO journal VALUES (?, ?, ?, ?)');
  const packr = new Packr();
  const [record] = makeRecords(1, EVENTS_PER_RECORD);
  const latency = histogram();
  let previous = Buffer.alloc(32);
  let sequence = 1;
  let transactions = 0;
  const started = process.hrtime.bigint();
  let now = started;
  while (now - started < BigInt(RUN_MS) * 1_000_000n) {
    renumber([record!], sequence);
    sequence += EVENTS_PER_RECORD;
    const before = now;
    const body = packr.pack({ ...record!, command: wordBytes(record!.command), events: wordBytes(record!.events), previousHash: previous });
    previous = createHash('sha256').update(previous).update(body).digest();
    insert.run(record!.firstSequence, record!.lastSequence, record!.timestampMicros, body);
    transactions++;
    now = process.hrtime.bigint();
    latency.recordValue(Math.max(1, Number(now - before) / 1000));
  }
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return { name: 'naive fsync: 1 transaction per record', events: transactions * EVENTS_PER_RECORD, seconds: Number(now - started) / 1e9, p99Micros: latency.getValueAtPercentile(99), transactions };
}

const rate = (result: Result) => Math.round(result.events / result.seconds);

function print(result: Result): void {
  const commits = Math.round(result.transactions / result.seconds);
  console.log(`${result.name.padEnd(62)} ${rate(result).toLocaleString('en-US').padStart(11)} ev/s  p99 ${String(result.p99Micros).padStart(7)} µs  ${String(commits).padStart(6)} commits/s`);
}

async function main(): Promise<void> {
  const cpu = cpus();
  console.log(`journal bench — CPU ${cpu[0]?.model ?? 'unknown'} × ${cpu.length} cores, node ${process.version}, ${platform()} ${release()}, data dir ${tmpdir()}`);
  // Other work on a 2-core machine moves these numbers a lot: say how busy it was.
  console.log(`load average at start ${loadavg().map((load) => load.toFixed(2)).join(' ')}`);
  console.log(`records shaped like the matcher's: a NewOrder, its OrderAccepted and ${EVENTS_PER_RECORD - 1} Trade(s); packed words (format v2) unless marked; ${RUN_MS} ms per row; latency = one append call (the whole group)\n`);
  const results = new Map<string, Result>();
  const naive = benchNaive();
  print(naive);
  for (const durability of DURABILITY_LEVELS) {
    for (const groupEvents of GROUP_EVENTS) {
      const result = benchAppendSync(durability, groupEvents);
      results.set(`${durability}:${groupEvents}`, result);
      print(result);
    }
  }
  // The previous design in the same run: records of raw float64 words (format v1).
  const rawWords = benchAppendSync('fsync', 2048, EVENTS_PER_RECORD, 1);
  print(rawWords);
  // The journal thread's layout: several records per SQLite row (journal/row-records.ts).
  const packedRows = benchAppendSync('fsync', 2048, EVENTS_PER_RECORD, RECORD_FORMAT_VERSION, true);
  print(packedRows);
  const oneEvent = benchAppendSync('fsync', 2048, 1);
  const eightEvents = benchAppendSync('fsync', 2048, 8);
  print(oneEvent);
  print(eightEvents);
  const asyncGroup = await benchAsyncGroup('fsync');
  print(asyncGroup);
  const fsyncBest = results.get('fsync:2048')!;
  console.log(JSON.stringify({
    bench: 'journal', events_per_record: EVENTS_PER_RECORD,
    fsync_2048_events_per_s: rate(fsyncBest), fsync_2048_p99_us: fsyncBest.p99Micros,
    fsync_2048_raw_words_events_per_s: rate(rawWords), packed_vs_raw_words: Number((rate(fsyncBest) / rate(rawWords)).toFixed(2)),
    fsync_2048_packed_rows_events_per_s: rate(packedRows),
    os_2048_events_per_s: rate(results.get('os:2048')!), none_2048_events_per_s: rate(results.get('none:2048')!),
    fsync_1_event_per_record_events_per_s: rate(oneEvent), fsync_8_events_per_record_events_per_s: rate(eightEvents),
    async_group_fsync_events_per_s: rate(asyncGroup), naive_fsync_events_per_s: rate(naive),
    speedup_vs_naive: Math.round(rate(fsyncBest) / rate(naive)), target_fsync_events_per_s: TARGET_FSYNC_EVENTS_PER_S,
    target_met: rate(fsyncBest) >= TARGET_FSYNC_EVENTS_PER_S, load_average_end: Number(loadavg()[0]!.toFixed(2)),
  }));
}

void main();
