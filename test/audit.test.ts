/**
 * exchange-audit, run as a child process (node dist/bin/exchange-audit.js ...) on journals the
 * real engine produced from the scripted trading day (test/helpers/trading-day.ts): every
 * command's output against facts known independently of the auditor (record count, a head hash
 * recomputed here with node:crypto, the hand-worked trades and balances, an order's lifecycle),
 * then tampering: an altered price, a deleted record and two reordered records are each caught
 * by `verify` at the right sequence (sequentially and split across worker chunks), and an event
 * altered under a re-hashed chain passes `verify` but not `reexecute`. The EventStoreDB source
 * runs in process against an in-memory server (the CLI cannot inject a client).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { decodeRecord, encodeRecord } from '../journal/record-codec';
import { chainRecords, verifyChain } from '../journal/hash-chain';
import { createRecord, JournalRecord } from '../journal/journal-record';
import { EventStoreClientLike, EventStoreEvent, EventStoreJournal } from '../journal/eventstore-journal';
import { EsdbSource } from '../journal/audit/source';
import { verifyJournal } from '../journal/audit/verify';
import { reexecuteJournal } from '../journal/audit/reexecute';
import { SqliteJournal } from '../journal/sqlite-journal';
import { exportArchive } from '../journal/archive';
import {
  ALICE, BOB, CAROL, DAY_DEPOSITS, DAY_END_CASH, DAY_END_POSITIONS, DAY_SETTLEMENTS, DAY_TRADES, DAY_WITHDRAWALS, dayLedger, dayTime, FEES,
  TradingDay, writeTradingDay,
} from './helpers/trading-day';
import { writeEngineStream } from '../journal/eventstore-engine-stream';
import { declareEngine } from '../journal/engine-declaration';

const CLI = join(__dirname, '..', 'bin', 'exchange-audit.js');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function auditWith(env: Record<string, string>, ...args: string[]): Run {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, EXCHANGE_AUDIT_PROGRESS_MS: '0', ...env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const audit = (...args: string[]): Run => auditWith({}, ...args);

function json<T = Record<string, unknown>>(run: Run): T {
  assert.equal(run.status, 0, `exit ${run.status}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

function parseCsv(text: string): Array<Record<string, string>> {
  const [header, ...lines] = text.trim().split('\n');
  const columns = header!.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((cell, i) => [columns[i]!, cell])));
}

/** The head hash recomputed from the raw rows with node:crypto alone: SHA-256(prev || body − last 34 bytes). */
function independentHead(path: string): { head: string; rows: number } {
  const db = new Database(path, { readonly: true });
  try {
    let previous = Buffer.alloc(32);
    const rows = db.prepare('SELECT body FROM journal ORDER BY first_seq').pluck().all() as Buffer[];
    for (const body of rows) {
      assert.deepEqual(body.subarray(body.length - 66, body.length - 34), previous, 'each body holds its predecessor hash');
      const hash = createHash('sha256').update(previous).update(body.subarray(0, body.length - 34)).digest();
      assert.deepEqual(body.subarray(body.length - 32), hash);
      previous = hash;
    }
    return { head: previous.toString('hex'), rows: rows.length };
  } finally {
    db.close();
  }
}

/** Rewrites rows through a raw connection, as an intruder with file access would. */
function withRaw<T>(path: string, body: (db: Database.Database) => T): T {
  const db = new Database(path);
  try {
    return body(db);
  } finally {
    db.close();
  }
}

const readBody = (db: Database.Database, firstSequence: number) => db.prepare('SELECT body FROM journal WHERE first_seq = ?').pluck().get(firstSequence) as Buffer;
const writeBody = (db: Database.Database, firstSequence: number, body: Uint8Array) => db.prepare('UPDATE journal SET body = ? WHERE first_seq = ?').run(body, firstSequence);

/** Sets word `word` of event `sequence` (inside the record at firstSequence) to value; returns the record. */
function alterEvent(db: Database.Database, firstSequence: number, sequence: number, word: number, value: number): JournalRecord {
  const record = decodeRecord(readBody(db, firstSequence));
  record.events[(sequence - firstSequence) * 16 + word] = value;
  return record;
}

/** The library's own chain verdict over the stored rows (cross-check of the auditor's). */
function libraryVerdict(path: string) {
  const db = new Database(path, { readonly: true });
  try {
    const bodies = db.prepare('SELECT body FROM journal ORDER BY first_seq').pluck().all() as Buffer[];
    return verifyChain(bodies.map((body) => decodeRecord(body)));
  } finally {
    db.close();
  }
}

/** The slice of an EventStoreDB server the journal uses: exact expected revisions, reads both ways. */
class MemoryEventStore implements EventStoreClientLike {
  private readonly streams = new Map<string, Uint8Array[]>();

  async appendToStream(stream: string, events: EventStoreEvent[], options: { expectedRevision: bigint | 'no_stream' }): Promise<unknown> {
    const stored = this.streams.get(stream);
    const actual = stored === undefined ? 'no_stream' : BigInt(stored.length - 1);
    if (actual !== options.expectedRevision) throw Object.assign(new Error('wrong expected version'), { type: 'wrong-expected-version', actualVersion: actual });
    const list = stored ?? [];
    for (const event of events) list.push(event.data);
    this.streams.set(stream, list);
    return {};
  }

  async *readStream(stream: string, options: { fromRevision: bigint | 'start' | 'end'; direction: 'forwards' | 'backwards'; maxCount: number }) {
    const stored = this.streams.get(stream);
    if (stored === undefined) throw Object.assign(new Error('stream not found'), { type: 'stream-not-found' });
    const last = stored.length - 1;
    let at = options.fromRevision === 'start' ? 0 : options.fromRevision === 'end' ? last : Number(options.fromRevision);
    for (let n = 0; n < options.maxCount && at >= 0 && at <= last; n++) {
      yield { event: { revision: BigInt(at), data: stored[at] } };
      at += options.direction === 'forwards' ? 1 : -1;
    }
  }

  async dispose(): Promise<void> {}
}

const TRADE_PRICE_WORD = 4 + 3; // Trade fields: instrument, makerOrderId, takerOrderId, price

describe('exchange-audit on the scripted trading day', () => {
  let dir: string;
  let day: TradingDay;
  const fresh = (name: string, options: Parameters<typeof writeTradingDay>[1] = {}) => writeTradingDay(join(dir, `${name}.db`), options);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'exchange-audit-'));
    day = fresh('day');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('verify: intact, with the record count and the independently computed head hash', () => {
    const independent = independentHead(day.path);
    assert.equal(independent.rows, 33);
    assert.equal(independent.head, day.headHash, 'the writer and node:crypto agree');
    const text = audit('verify', day.path);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^records\s+33$/m);
    assert.match(text.stdout, /^events\s+68 \(sequences 1\.\.68\)$/m);
    assert.match(text.stdout, new RegExp(`^head hash\\s+${independent.head}$`, 'm'));
    assert.match(text.stdout, /^result\s+INTACT$/m);
    assert.match(text.stderr, /^verify: 68 events in /m, 'plain progress lines when stderr is not a TTY');
    // Across 2 worker threads: file pages read directly (one chunk per leaf page), and through sqlite in tiny chunks.
    // The day in raw-word records (format v1, as journals before packed words) spans 2 leaf pages.
    const rawDay = fresh('raw-words', { recordVersion: 1 });
    const rawHead = independentHead(rawDay.path).head;
    assert.notEqual(rawHead, independent.head, 'other bytes, other chain');
    // The day packed several records per row, as the journal thread writes: the same records, hence the same chain.
    const packedDay = fresh('packed', { packRows: true });
    const packedRows = new Database(packedDay.path, { readonly: true });
    assert.ok((packedRows.prepare('SELECT count(*) FROM journal').pluck().get() as number) < 10, 'several records per row');
    packedRows.close();
    for (const [path, head, reader, chunks] of [
      [rawDay.path, rawHead, 'pages', 2], [day.path, independent.head, 'pages', 1], [day.path, independent.head, 'sqlite', 8],
      [packedDay.path, independent.head, 'pages', 1], [packedDay.path, independent.head, 'sqlite', 1],
    ] as const) {
      const report = json(audit('verify', path, '--format', 'json', '--parallel-above', '0', '--chunk-events', '8', '--threads', '2', '--reader', reader));
      assert.deepEqual([report.ok, report.headHash, report.records, report.threads, report.reader], [true, head, 33, 2, reader]);
      assert.ok((report.chunks as number) >= chunks, `${reader}: split into worker chunks`);
    }
    // A live writer's un-checkpointed WAL: the file alone is stale, so verify reads through sqlite.
    const live = fresh('live');
    const writer = new Database(live.path);
    try {
      writer.pragma('wal_autocheckpoint = 0');
      writer.prepare("INSERT INTO journal_lease (id, pid, host, token, acquired_ms) VALUES (1, 1, 'elsewhere', 'live', 0)").run();
      const report = json(audit('verify', live.path, '--format', 'json'));
      assert.deepEqual([report.ok, report.reader, report.headHash], [true, 'sqlite', live.headHash]);
    } finally {
      writer.close();
    }
    const expected = audit('verify', day.path, '--expect-head', independent.head);
    assert.equal(expected.status, 0);
    const wrong = audit('verify', day.path, '--expect-head', 'ab'.repeat(32));
    assert.equal(wrong.status, 1);
    assert.match(wrong.stdout, /^reason\s+HEAD_MISMATCH$/m);
  });

  it('reexecute: byte-identical with the risk layer on; the first divergence named with it off', () => {
    const ok = audit('reexecute', day.path);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^events\s+68 identical$/m);
    assert.match(ok.stdout, /^result\s+IDENTICAL$/m);
    const packed = audit('reexecute', fresh('packed-reexecute', { packRows: true }).path); // several records per row
    assert.equal(packed.status, 0, packed.stderr);
    assert.match(packed.stdout, /^events\s+68 identical$/m);
    const off = json<{ divergence: Record<string, unknown> }>({ ...audit('reexecute', day.path, '--risk', 'off', '--format', 'json'), status: 0 });
    assert.deepEqual(
      { sequence: off.divergence.sequence, eventType: off.divergence.eventType, engineEventType: off.divergence.engineEventType, field: off.divergence.field },
      { sequence: 3, eventType: 'AccountOpened', engineEventType: 'CommandRejected', field: 'type' },
    );
    assert.equal(audit('reexecute', day.path, '--risk', 'off').status, 1);
  });

  it('reexecute takes the engine options the journal records; --risk overrides them', () => {
    const declared = writeTradingDay(join(dir, 'declared-risk-off.db'), { risk: false, declare: true });
    const ok = audit('reexecute', declared.path);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^risk layer\s+off \(engine options from journal\)$/m);
    assert.match(ok.stdout, /^result\s+IDENTICAL$/m);
    const overridden = audit('reexecute', declared.path, '--risk', 'on');
    assert.equal(overridden.status, 1, 'the override is obeyed: with the risk layer on the journal diverges');
    assert.match(overridden.stdout, /engine options from command line/);
    const undeclared = audit('reexecute', day.path);
    assert.match(undeclared.stdout, /^risk layer\s+on \(engine options from defaults \(the journal records none\)\)$/m);
  });

  it('export: a range into chained archive files that verify to the same head and re-execute with the recorded engine options', () => {
    const out = join(dir, 'archives');
    const exported = json<{ files: Array<{ firstSequence: number; lastSequence: number }>; headHash: string; lastSequence: number; engineRecorded: boolean }>(
      audit('export', day.path, '--dir', out, '--events-per-file', '20', '--format', 'json'));
    assert.ok(exported.files.length >= 3, `${exported.files.length} files`);
    exported.files.forEach((f, i) => { if (i > 0) assert.equal(f.firstSequence, exported.files[i - 1]!.lastSequence + 1, 'contiguous'); });
    assert.deepEqual([exported.lastSequence, exported.headHash, exported.engineRecorded], [68, day.headHash, false]);
    const verified = json(audit('verify', out, '--format', 'json'));
    assert.deepEqual([verified.ok, verified.headHash, verified.events], [true, day.headHash, 68]);
    assert.match(audit('reexecute', out).stdout, /^result\s+IDENTICAL$/m);
    // A range, and bad ranges.
    const part = json<{ files: Array<{ firstSequence: number }>; lastSequence: number }>(audit('export', day.path, '--dir', join(dir, 'part'), '--from', '11', '--to', '30', '--format', 'json'));
    assert.ok(part.files[0]!.firstSequence <= 11 && part.lastSequence >= 30);
    assert.match(audit('verify', join(dir, 'part')).stdout, /anchored\s+on the first archive's header/);
    assert.equal(audit('export', day.path, '--dir', join(dir, 'bad'), '--to', '69').status, 2, 'past the end');
    assert.equal(audit('export', out, '--dir', join(dir, 'bad')).status, 2, 'archives are not an embedded journal');
    // The engine options travel in the headers: a semantics-1 journal's archives re-execute without flags.
    const old = writeTradingDay(join(dir, 'export-semantics-1.db'), { declare: true, semantics: 1 });
    const oldOut = join(dir, 'archives-1');
    assert.equal(json<{ engineRecorded: boolean }>(audit('export', old.path, '--dir', oldOut, '--format', 'json')).engineRecorded, true);
    const run = audit('reexecute', oldOut);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^engine semantics\s+1$/m);
    assert.match(run.stdout, /engine options from journal/);
  });

  it('reexecute uses the engine semantics the journal records; other semantics diverge at PositionChanged.reservedTotal', () => {
    const old = writeTradingDay(join(dir, 'semantics-1.db'), { declare: true, semantics: 1 });
    const ok = audit('reexecute', old.path);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^engine semantics\s+1$/m);
    assert.match(ok.stdout, /^result\s+IDENTICAL$/m);
    const latest = audit('reexecute', old.path, '--semantics', '2', '--format', 'json');
    assert.equal(latest.status, 1, 'under semantics 2 the journal of semantics 1 diverges');
    const divergence = (JSON.parse(latest.stdout) as { divergence: { eventType: string; field: string } }).divergence;
    assert.deepEqual([divergence.eventType, divergence.field], ['PositionChanged', 'reservedTotal']);
    assert.match(audit('reexecute', old.path, '--semantics', '2').stderr, /try --semantics 1/);
    assert.match(audit('reexecute', old.path, '--semantics', '7').stderr, /--semantics must be one of 1\.\.2/);
    const current = writeTradingDay(join(dir, 'semantics-2.db'), { declare: true });
    assert.match(audit('reexecute', current.path).stdout, /^engine semantics\s+2$/m);
  });

  it('the read-ahead worker (used above 50K events) gives the same answers, and stops early cleanly', () => {
    const env = { EXCHANGE_AUDIT_READ_AHEAD_MIN_EVENTS: '0' };
    const run = auditWith(env, 'reexecute', day.path, '--format', 'json');
    assert.deepEqual([run.status, (JSON.parse(run.stdout) as { events: number }).events], [0, 68], run.stderr);
    const early = auditWith(env, 'replay', day.path, '--to', '26', 'book', 'AAPL', '--format', 'json');
    assert.equal(early.status, 0, early.stderr);
    assert.deepEqual((JSON.parse(early.stdout) as { bids: unknown }).bids, [{ price: 16950, quantity: 50, orders: 1 }]);
    const trail = auditWith(env, 'report', 'audit-trail', day.path);
    assert.equal(trail.stdout, audit('report', 'audit-trail', day.path).stdout);
  });

  it('replay account: end-of-day cash, positions and P&L of every account', () => {
    const ledger = dayLedger();
    for (const account of [ALICE, BOB, CAROL, FEES]) {
      const view = json<Record<string, unknown> & { positions: Array<Record<string, number | string>> }>(audit('replay', day.path, 'account', String(account), '--format', 'json'));
      assert.equal(view.cash, DAY_END_CASH[account], `account ${account} cash`);
      assert.equal(view.cash, ledger[account], `account ${account} cash vs the independent ledger`);
      // Only Carol's GTC short sale of MSFT (40 left) is open after the close: 50% initial margin of 40 × 40,000.
      assert.equal(view.heldCash, account === CAROL ? 800_000 : 0, `account ${account} holds`);
      const positions = Object.fromEntries(view.positions.map((p) => [p.symbol, { quantity: p.quantity, costBasis: p.costBasis, realizedPnl: p.realizedPnl }]));
      assert.deepEqual(positions, (DAY_END_POSITIONS as Record<number, object>)[account] ?? {}, `account ${account} positions`);
    }
    const alice = json(audit('replay', day.path, 'account', '1', '--format', 'json'));
    assert.equal(alice.unrealizedPnl, 180 * 16950 - 3_060_000); // marked at the last AAPL trade
    assert.equal(alice.realizedPnl, -6_000);
    const total = [ALICE, BOB, CAROL, FEES].reduce((sum, a) => sum + DAY_END_CASH[a]!, 0);
    assert.equal(total, 200_000_000 - 5_000_000, 'cash is conserved: deposits − withdrawals');
    const missing = audit('replay', day.path, 'account', '77');
    assert.equal(missing.status, 4);
  });

  it('replay book: L2 levels and order level at a time and at a sequence; empty at the close', () => {
    const atTime = json<Record<string, unknown> & { bidOrders: Array<Record<string, unknown>>; askOrders: Array<Record<string, unknown>> }>(
      audit('replay', day.path, '--to', '2024-03-15T14:02:30Z', 'book', 'AAPL', '--format', 'json'));
    assert.deepEqual(atTime.bids, [{ price: 16950, quantity: 50, orders: 1 }]);
    assert.deepEqual(atTime.asks, [{ price: 17000, quantity: 200, orders: 1 }]);
    assert.deepEqual(atTime.bidOrders.map((o) => [o.orderId, o.account, o.leavesQuantity, o.acceptedAt]), [[3, BOB, 50, '2024-03-15T14:02:00.000000Z']]);
    assert.deepEqual(atTime.askOrders.map((o) => [o.orderId, o.account, o.quantity, o.leavesQuantity]), [[1, CAROL, 300, 200]]);
    assert.equal((atTime.asOf as Record<string, unknown>).sequence, 26);
    const atSequence = json(audit('replay', day.path, '--to', '25', 'book', 'AAPL', '--format', 'json'));
    assert.deepEqual(atSequence.bids, atTime.bids, 'the command containing sequence 25 is replayed whole (25..26)');
    const closed = json(audit('replay', day.path, 'book', 'AAPL', '--format', 'json'));
    assert.deepEqual([closed.bids, closed.asks, closed.state, closed.lastPrice], [[], [], 'Closed', 16950]);
    const msft = json(audit('replay', day.path, 'book', 'MSFT', '--format', 'json'));
    assert.deepEqual(msft.asks, [{ price: 40000, quantity: 40, orders: 1 }], "Carol's GTC rest survives the close");
    assert.equal(audit('replay', day.path, 'book', 'GOOG').status, 4);
  });

  it('replay order: the full lifecycle of a replaced then canceled order, with timestamps', () => {
    const result = json<{ order: Record<string, unknown>; lifecycle: Array<Record<string, unknown>> }>(audit('replay', day.path, 'order', '7', '--format', 'json'));
    assert.deepEqual(result.lifecycle.map((e) => [e.event, e.time_utc]), [
      ['OrderAccepted', '2024-03-15T14:20:00.000000Z'],
      ['CashReserved', '2024-03-15T14:20:00.000000Z'],
      ['OrderReplaced', '2024-03-15T14:21:00.000000Z'],
      ['CashReserved', '2024-03-15T14:21:00.000000Z'],
      ['OrderCanceled', '2024-03-15T14:22:00.000000Z'],
      ['CashReleased', '2024-03-15T14:22:00.000000Z'],
    ]);
    assert.equal(result.lifecycle[0]!.timestamp_us, dayTime('14:20:00'));
    assert.deepEqual([result.lifecycle[2]!.price, result.lifecycle[2]!.quantity, result.lifecycle[4]!.reason], [16920, 150, 'USER']);
    assert.deepEqual([result.order.status, result.order.quantity, result.order.filledQuantity], ['CANCELED_USER', 150, 0]);
    const maker = json<{ order: Record<string, unknown>; lifecycle: Array<Record<string, unknown>> }>(audit('replay', day.path, 'order', '1', '--format', 'json'));
    assert.deepEqual(maker.lifecycle.filter((e) => e.event === 'Trade').map((e) => [e.quantity, e.role]), [[100, 'MAKER'], [200, 'MAKER']]);
    assert.equal(maker.lifecycle.at(-1)!.event, 'CancelRejected', "Bob's late cancel of Carol's filled order is on its record");
    assert.deepEqual([maker.order.status, maker.order.filledQuantity, maker.order.averageFillPrice], ['FILLED', 300, 17000]);
    const early = json<{ lifecycle: unknown[] }>(audit('replay', day.path, '--to', '2024-03-15T14:20:30Z', 'order', '7', '--format', 'json'));
    assert.equal(early.lifecycle.length, 2, 'only what happened up to --to');
    assert.equal(audit('replay', day.path, 'order', '99').status, 4);
  });

  it('replay trades and the blotter: the known trades, filters, CSV and JSON', () => {
    const trades = json<Array<Record<string, unknown>>>(audit('replay', day.path, 'trades', '--format', 'json'));
    assert.deepEqual(trades.map((t) => ({
      symbol: t.symbol, price: t.price, quantity: t.quantity, makerOrderId: t.maker_order_id, takerOrderId: t.taker_order_id,
      makerAccount: t.maker_account, takerAccount: t.taker_account, aggressorSide: t.aggressor_side, makerFee: t.maker_fee,
      takerFee: t.taker_fee, at: String(t.time_utc).slice(11, 19),
    })), DAY_TRADES);
    const bobs = json<Array<Record<string, unknown>>>(audit('replay', day.path, 'trades', '--account', '2', '--symbol', 'AAPL', '--format', 'json'));
    assert.deepEqual(bobs.map((t) => t.sequence), [46]);
    const window = json<Array<Record<string, unknown>>>(audit('replay', day.path, 'trades', '--from', '30', '--to', '2024-03-15T14:30:00Z', '--format', 'json'));
    assert.deepEqual(window.map((t) => t.sequence), [36, 46]);
    const out = join(dir, 'blotter.csv');
    const blotter = audit('report', 'blotter', day.path, '--date', '2024-03-15', '--out', out);
    assert.equal(blotter.status, 0, blotter.stderr);
    const rows = parseCsv(readFileSync(out, 'utf8'));
    assert.equal(rows.length, DAY_TRADES.length);
    assert.deepEqual(Object.keys(rows[0]!).slice(0, 8), ['sequence', 'timestamp_us', 'time_utc', 'trade_date', 'symbol', 'instrument', 'price', 'quantity']);
    assert.deepEqual(rows.map((r) => [r.symbol, Number(r.price), Number(r.quantity), Number(r.buy_account), Number(r.sell_account)]),
      DAY_TRADES.map((t) => [t.symbol, t.price, t.quantity, t.aggressorSide === 'Buy' ? t.takerAccount : t.makerAccount, t.aggressorSide === 'Buy' ? t.makerAccount : t.takerAccount]));
    assert.equal(parseCsv(audit('report', 'blotter', day.path, '--date', '2024-03-16').stdout).length, 0);
    assert.equal(json<unknown[]>(audit('report', 'blotter', day.path, '--trade-date', '1', '--format', 'json')).length, 5);
  });

  it('reports: order audit trail, settlement, account statements that reconcile', () => {
    const trail = parseCsv(audit('report', 'audit-trail', day.path).stdout);
    const count = (event: string) => trail.filter((r) => r.event === event).length;
    assert.deepEqual([count('OrderAccepted'), count('Trade'), count('OrderRejected'), count('OrderCanceled'), count('OrderReplaced'), count('CancelRejected')], [10, 10, 1, 2, 1, 1]);
    const expired = trail.find((r) => r.event === 'OrderCanceled' && r.reason === 'EXPIRED')!;
    assert.deepEqual([expired.order_id, expired.account, expired.symbol, expired.time_in_force, expired.time_utc], ['10', '2', 'MSFT', 'DAY', '2024-03-15T20:00:00.000000Z']);
    const rejected = trail.find((r) => r.event === 'OrderRejected')!;
    assert.deepEqual([rejected.account, rejected.client_order_id, rejected.reason], ['2', '110', 'INSUFFICIENT_POSITION']);

    const settled = json<Array<Record<string, unknown>>>(audit('report', 'settlement', day.path, '--format', 'json'));
    const key = (s: { account: unknown; symbol: unknown }) => `${s.account}:${s.symbol}`;
    assert.deepEqual(
      settled.map((s) => ({ account: s.account, symbol: s.symbol, quantity: s.quantity, cash: s.cash })).sort((a, b) => key(a).localeCompare(key(b))),
      [...DAY_SETTLEMENTS].sort((a, b) => key(a).localeCompare(key(b))),
    );
    assert.ok(settled.every((s) => s.trade_date === 2));

    for (const account of [ALICE, BOB, CAROL, FEES]) {
      const statement = json<{ summary: Record<string, unknown>; lines: Array<Record<string, unknown>> }>(audit('report', 'statement', day.path, '--account', String(account), '--format', 'json'));
      assert.equal(statement.summary.openingCash, 0);
      assert.equal(statement.summary.closingCash, DAY_END_CASH[account]);
      assert.equal(statement.summary.deposits, DAY_DEPOSITS[account]);
      assert.equal(statement.summary.withdrawals, DAY_WITHDRAWALS[account]);
      assert.equal(statement.summary.reconciled, true);
    }
    const fees = DAY_TRADES.reduce((sum, t) => sum + t.makerFee + t.takerFee, 0);
    const feeStatement = json<{ summary: Record<string, unknown> }>(audit('report', 'statement', day.path, '--account', String(FEES), '--format', 'json'));
    assert.equal(feeStatement.summary.feeIncome, fees);
    // Between two sequences: Alice from her first trade to her last.
    const between = json<{ summary: Record<string, unknown>; lines: Array<Record<string, unknown>> }>(audit('report', 'statement', day.path, '--account', '1', '--from', '20', '--to', '50', '--format', 'json'));
    assert.deepEqual(
      [between.summary.openingCash, between.summary.buys, between.summary.sells, between.summary.feesPaid, between.summary.closingCash, between.summary.trades],
      [100_000_000, 5_100_000, 2_034_000, 340 + 680 + 169 + 118, DAY_END_CASH[ALICE], 4],
    );
    assert.equal(audit('report', 'statement', day.path, '--account', '42').status, 4);
    assert.deepEqual(between.lines.map((l) => l.kind), ['OPENING_BALANCE', 'BUY', 'FEE', 'BUY', 'FEE', 'SELL', 'FEE', 'SELL', 'FEE', 'CLOSING_BALANCE']);
  });

  it('archives: verify and reexecute a journal exported to two archive files', async () => {
    const journal = SqliteJournal.open({ path: day.path });
    const first = join(dir, 'a-1.exja');
    const second = join(dir, 'a-2.exja');
    try {
      await exportArchive(journal, { fromSequence: 1, toSequence: 31, path: first });
      await exportArchive(journal, { fromSequence: 32, toSequence: 68, path: second });
    } finally {
      await journal.close();
    }
    const both = json(audit('verify', `${second},${first}`, '--format', 'json'));
    assert.deepEqual([both.ok, both.records, both.headHash, both.anchoredAtGenesis], [true, 33, day.headHash, true]);
    const tail = json(audit('verify', second, '--format', 'json'));
    assert.deepEqual([tail.ok, tail.firstSequence, tail.anchoredAtGenesis], [true, 32, false]);
    assert.equal(audit('reexecute', `${first},${second}`).status, 0);
    const alice = json(audit('replay', `${first},${second}`, 'account', '1', '--format', 'json'));
    assert.equal(alice.cash, DAY_END_CASH[ALICE]);
  });

  it('EventStoreDB: the same journal in a stream (in-memory server) verifies and re-executes', async () => {
    const client = new MemoryEventStore();
    const journal = await EventStoreJournal.open({ instanceId: 'audit', client, maxAppendBytes: 1 << 20 });
    const db = new Database(day.path, { readonly: true });
    try {
      const bodies = db.prepare('SELECT body FROM journal ORDER BY first_seq').pluck().all() as Buffer[];
      const records = bodies.map((body) => decodeRecord(body)).map((r) => createRecord(r.firstSequence, r.timestampMicros, r.command, r.events));
      await journal.append(records.slice(0, 20));
      await journal.append(records.slice(20));
    } finally {
      db.close();
    }
    assert.equal((await EsdbSource.fromJournal(journal)).engineDeclaration(), undefined, 'no engine stream: nothing declared');
    await writeEngineStream(client, 'audit', declareEngine(true, {}, 2));
    const source = await EsdbSource.fromJournal(journal);
    assert.equal(source.engineDeclaration()?.semantics, 2, 'the engine stream declares the options');
    await writeEngineStream(client, 'audit', declareEngine(true, {}, 2)); // the same again: a no-op
    await assert.rejects(writeEngineStream(client, 'audit', declareEngine(false)), /declares other engine options than the local journal: risk layer on/);
    const verified = await verifyJournal(source);
    assert.deepEqual([verified.ok, verified.records, verified.events, verified.headHash, verified.reader], [true, 33, 68, day.headHash, 'esdb']);
    const replayed = await reexecuteJournal(source, { risk: true });
    assert.deepEqual([replayed.ok, replayed.events], [true, 68]);
    await source.close();
  });

  describe('tampering', () => {
    /** verify's verdict must be the same sequentially, across 2 workers (file pages), and through sqlite in tiny chunks. */
    function verdicts(path: string): Array<{ status: number | null; sequence: unknown; reason: unknown }> {
      const parallel = ['--parallel-above', '0', '--chunk-events', '6', '--threads', '2'];
      return [[], [...parallel, '--reader', 'pages'], [...parallel, '--reader', 'sqlite']].map((extra) => {
        const run = audit('verify', path, '--format', 'json', ...extra);
        const report = JSON.parse(run.stdout) as { fault: { sequence: number; reason: string } | null };
        return { status: run.status, sequence: report.fault?.sequence, reason: report.fault?.reason };
      });
    }

    it("a trade's price edited inside the file (not re-hashed) breaks the chain at its record", () => {
      const tampered = fresh('price');
      const record = tampered.recordOf('14:03:00'); // Alice's buy: events 27..31, the trade is 29
      assert.deepEqual([record.firstSequence, record.lastSequence], [27, 31]);
      withRaw(tampered.path, (db) => writeBody(db, 27, encodeRecord(alterEvent(db, 27, 29, TRADE_PRICE_WORD, 17001))));
      for (const verdict of verdicts(tampered.path)) assert.deepEqual(verdict, { status: 1, sequence: 27, reason: 'HASH_MISMATCH' });
      const text = audit('verify', tampered.path);
      assert.match(text.stdout, /^first bad sequence\s+27$/m);
      assert.match(text.stderr, /first bad sequence 27/);
      const library = libraryVerdict(tampered.path);
      assert.deepEqual(library.ok ? null : [library.firstBadSequence, library.reason], [27, 'HASH_MISMATCH'], 'the journal library agrees');
    });

    it('a deleted record is a gap at its first sequence', () => {
      const tampered = fresh('delete');
      withRaw(tampered.path, (db) => db.prepare('DELETE FROM journal WHERE first_seq = ?').run(32));
      for (const verdict of verdicts(tampered.path)) assert.deepEqual(verdict, { status: 1, sequence: 32, reason: 'SEQUENCE_GAP' });
      const library = libraryVerdict(tampered.path);
      assert.deepEqual(library.ok ? null : [library.firstBadSequence, library.reason], [32, 'SEQUENCE_GAP']);
    });

    it('two reordered records are caught at the first displaced one', () => {
      const tampered = fresh('reorder');
      withRaw(tampered.path, (db) => {
        const a = readBody(db, 25);
        const b = readBody(db, 27);
        writeBody(db, 25, b);
        writeBody(db, 27, a);
      });
      for (const verdict of verdicts(tampered.path)) assert.deepEqual(verdict, { status: 1, sequence: 25, reason: 'SEQUENCE_GAP' });
      const library = libraryVerdict(tampered.path);
      assert.deepEqual(library.ok ? null : [library.firstBadSequence, library.reason], [25, 'SEQUENCE_GAP']);
    });

    it('an event altered under a re-hashed chain passes verify, and reexecute names it', () => {
      const tampered = fresh('rehash');
      withRaw(tampered.path, (db) => {
        const rows = db.prepare('SELECT first_seq, body FROM journal WHERE first_seq >= 27 ORDER BY first_seq').raw().all() as Array<[number, Buffer]>;
        const records = rows.map(([, body]) => decodeRecord(body));
        records[0] = alterEvent(db, 27, 29, TRADE_PRICE_WORD, 17001);
        chainRecords(records, records[0].previousHash); // recompute every hash from the altered record on
        for (const record of records) writeBody(db, record.firstSequence, encodeRecord(record));
      });
      const verify = json(audit('verify', tampered.path, '--format', 'json'));
      assert.equal(verify.ok, true, 'the chain itself is consistent again');
      assert.notEqual(verify.headHash, day.headHash);
      assert.equal(audit('verify', tampered.path, '--expect-head', day.headHash).status, 1, 'a known head hash still exposes the rewrite');
      const run = audit('reexecute', tampered.path, '--format', 'json');
      assert.equal(run.status, 1);
      const report = JSON.parse(run.stdout) as { divergence: Record<string, unknown> };
      assert.deepEqual(report.divergence, {
        sequence: 29, recordFirstSequence: 27, commandType: 'NewOrder', eventIndex: 2, eventType: 'Trade', engineEventType: 'Trade',
        field: 'price', journal: 17001, engine: 17000, detail: 'Trade.price: journal 17001, engine 17000',
      });
      assert.match(audit('reexecute', tampered.path).stderr, /divergence at sequence 29 .*Trade\.price: journal 17001, engine 17000/);
      assert.equal(audit('replay', tampered.path, 'account', '1').status, 1, 'state queries refuse a journal the engine disagrees with');
    });
  });

  it('usage and source errors have their own exit codes', () => {
    const cases: Array<[string[], number]> = [
      [['frobnicate'], 2],
      [['verify'], 2],
      [['reexecute', day.path, '--risk', 'maybe'], 2],
      [['replay', day.path, '--to', 'yesterday', 'book', 'AAPL'], 2],
      [['verify', join(dir, 'missing.db')], 3],
      [['verify', __filename], 3],
      [['--help'], 0],
    ];
    for (const [args, code] of cases) {
      const run = audit(...args);
      assert.equal(run.status, code, `${args.join(' ')}: ${run.stderr}`);
    }
  });
});
