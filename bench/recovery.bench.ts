/**
 * Recovery benchmark (`npm run bench:recovery`).
 *
 *   cut        cutImage on books of 100K and 1M resting orders (risk off and on): the part
 *              that runs on the matcher thread. Median of CUT_RUNS after a warm-up.
 *   encode     compression + checksum of the 1M-order image under each codec, decode time,
 *              size; store (write + fsync + rename) time; the writer worker end to end.
 *   recovery   a journal written by the real engine (risk on, seeded flow, records built by
 *              RecordBuilder, sqlite durability 'none' to build it fast): a snapshot at S,
 *              then a tail of >= 1M events. Timed: open the journal (verifyOnOpen 'tail'),
 *              load + verify + restore the snapshot, replay the tail (chain verified,
 *              commands re-executed, events compared). Then a full replay from sequence 1.
 *   breakdown  the replay's parts: read+decode only, + chain verification, + re-execution.
 *
 * The machine header is printed first; the last line is one JSON object of headline figures.
 * RECOVERY_BENCH_SCALE=0.1 scales every count for a smoke run.
 */
import { gc, median } from './stats';
import * as os from 'node:os';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Matcher } from '../core/matcher';
import { RiskEngine } from '../core/risk-engine';
import { encodeCommand } from '../core/record-objects';
import { cutImage, stateHash, StateImage } from '../core/state-image';
import { ControlBlock } from '../core/runtime/control-block';
import { ImageArena } from '../core/runtime/image-arena';
import { AccountAction, AccountType, OrderType, Side, TimeInForce } from '../core/codes';
import { packSymbol } from '../core/schema';
import { RecordBuilder } from '../journal/record-builder';
import { SqliteJournal } from '../journal/sqlite-journal';
import { GENESIS_HASH } from '../journal/hash-chain';
import { JournalRecord } from '../journal/journal-record';
import { CompressionOptions, decodeSnapshot, DEFAULT_COMPRESSION, encodeSnapshot } from '../snapshots/snapshot-format';
import { SnapshotStore } from '../snapshots/snapshot-store';
import { SnapshotWriter } from '../snapshots/snapshot-writer';
import { recover, RecoveryResult } from '../snapshots/recovery';
import { ReplayChecker } from '../snapshots/replay-checker';
import { ReplayPage } from '../snapshots/replay-page';
import { SqliteReplayFeed } from '../snapshots/sqlite-replay-feed';

const SCALE = Number(process.env.RECOVERY_BENCH_SCALE ?? '1');
const BOOK_SIZES = [100_000, 1_000_000].map((n) => Math.max(1000, Math.round(n * SCALE)));
const TAIL_EVENTS = Math.max(10_000, Math.round(1_000_000 * SCALE));
const PREFIX_COMMANDS = Math.max(5_000, Math.round(200_000 * SCALE));
const CUT_RUNS = 9;
const RECOVERY_RUNS = 3;
const APPEND_BATCH = 2048;
const SEED = 20240611;
const ACCOUNTS = 200;
/** Accounts allowed to sell short (market makers); the others are cash accounts that sell what they bought. */
const MARGIN_ACCOUNTS = 20;
const INSTRUMENTS = 4;
const REFERENCE_PRICE = 100_000;

const TARGET_CUT_MS_PER_100K = 1;
const TARGET_RECOVERY_MS = 1000;
const TARGET_REPLAY_EVENTS_PER_SEC = 2_000_000;

const ms = (x: number) => `${x.toFixed(2)} ms`;
const mib = (x: number) => `${(x / 2 ** 20).toFixed(1)} MiB`;
const rate = (x: number) => `${(x / 1e6).toFixed(2)}M`;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function printMachine(): Record<string, unknown> {
  const cpus = os.cpus();
  const info = {
    cpu: (cpus[0]?.model ?? 'unknown').trim(),
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
  console.log(`machine  ${info.cpu}, ${info.cores} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM`);
  console.log(`runtime  Node ${info.node}, ${info.os}`);
  console.log(`load     ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} (1/5/15 min) at start`);
  return info;
}

// ------------------------------------------------------------------ engines and flows

function engineLimits(maxOrders: number) {
  return { maxOrders, maxPriceLevels: 1 << 16, maxLevelsPerSide: 8192, maxInstruments: 16, maxAccounts: 1024, maxPositions: 1 << 14, clientOrderIdWindow: maxOrders, cashReferenceWindow: 1 << 12};
}

/** Writes commands into `words` and runs them through `matcher` one by one. */
class Driver {
  readonly words = new Float64Array(16);
  time = 1_000_000;
  constructor(readonly matcher: Matcher, readonly after: () => void = () => {}) {}
  send(name: Parameters<typeof encodeCommand>[0], fields: Record<string, number>): void {
    encodeCommand(name, fields as never, ++this.time, 0, this.words);
    this.matcher.process(this.words, 0);
    this.matcher.flush();
    this.after();
  }
}

/** Instruments, and with risk on ACCOUNTS funded accounts of which the first `marginAccounts` may sell short. */
function setup(driver: Driver, risk: boolean, marginAccounts = ACCOUNTS): void {
  for (let i = 1; i <= INSTRUMENTS; i++) {
    const [symbolHead, symbolTail] = packSymbol(`SYM${i}`);
    driver.send('AddInstrument', { instrument: i, symbolHead, symbolTail, tickSize: 1, lotSize: 1, bandBasisPoints: 2000, maxOrderQuantity: 1e6, maxOrderNotional: 1e15, referencePrice: REFERENCE_PRICE, settlementDays: 1 });
  }
  if (!risk) return;
  for (let a = 1; a <= ACCOUNTS; a++) {
    const margin = a <= marginAccounts;
    driver.send('OpenAccount', { account: a, accountType: margin ? AccountType.Margin : AccountType.Cash });
    driver.send('SetAccountStatus', { account: a, action: AccountAction.ApproveKyc });
    driver.send('Deposit', { account: a, amount: 2 ** 40, reference: a });
    driver.send('SetAccountLimits', { account: a, maxOpenOrders: 4_000_000, maxShortQuantity: margin ? 1e9 : 0 });
  }
}

/** A book of `orders` resting orders that never cross (buys below, sells above the reference). */
function restingBook(orders: number, risk: boolean): Matcher {
  const matcher = new Matcher({ limits: engineLimits(orders + 16), risk: risk ? new RiskEngine() : null });
  const driver = new Driver(matcher);
  setup(driver, risk);
  const rnd = mulberry32(SEED);
  for (let i = 0; i < orders; i++) {
    const buy = (i & 1) === 0;
    const distance = 1 + Math.floor(rnd() * 4000);
    driver.send('NewOrder', {
      account: 1 + (i % ACCOUNTS), instrument: 1 + (i % INSTRUMENTS), clientOrderId: i + 1, side: buy ? Side.Buy : Side.Sell,
      orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, price: REFERENCE_PRICE + (buy ? -distance : distance), quantity: 1 + Math.floor(rnd() * 20),
    });
  }
  if (matcher.orders.used !== orders) throw new Error(`book holds ${matcher.orders.used} orders, expected ${orders}`);
  return matcher;
}

/** A mixed trading flow: passive limits, marketable IOCs, markets, cancels and replaces of recent orders. */
class TradingFlow {
  private readonly rnd = mulberry32(SEED + 1);
  private readonly mid = new Float64Array(INSTRUMENTS + 1).fill(REFERENCE_PRICE);
  private issued = 0;
  constructor(private readonly driver: Driver) {}
  next(): void {
    const rnd = this.rnd;
    const instrument = 1 + Math.floor(rnd() * INSTRUMENTS);
    this.mid[instrument] = Math.max(REFERENCE_PRICE * 0.95, Math.min(REFERENCE_PRICE * 1.05, this.mid[instrument]! + Math.round((rnd() - 0.5) * 4)));
    const mid = this.mid[instrument]!;
    const account = 1 + Math.floor(rnd() * ACCOUNTS);
    const buy = rnd() < 0.5;
    const r = rnd();
    if (r < 0.7 || this.issued < 100) {
      const through = r < 0.55 ? -(1 + Math.floor(-Math.log(1 - rnd()) * 8)) : 1 + Math.floor(rnd() * 3);
      const orderType = r > 0.65 && r < 0.7 ? OrderType.Market : OrderType.Limit;
      this.issued++;
      this.driver.send('NewOrder', {
        account, instrument, clientOrderId: this.issued, side: buy ? Side.Buy : Side.Sell, orderType,
        timeInForce: r < 0.55 ? TimeInForce.GTC : TimeInForce.IOC, price: orderType === OrderType.Market ? 0 : mid + (buy ? through : -through),
        quantity: 1 + Math.floor(-Math.log(1 - rnd()) * 6),
      });
    } else {
      const orderId = this.issued - Math.floor(rnd() * Math.min(this.issued - 1, 400));
      if (r < 0.95) this.driver.send('CancelOrder', { account: 0, orderId });
      else this.driver.send('ReplaceOrder', { account: 0, orderId, price: mid + (buy ? -2 : 2), quantity: 1 + Math.floor(rnd() * 10) });
    }
  }
}

// ------------------------------------------------------------------ sections

/**
 * Median cut time into the matcher thread's reused arena (what the running exchange does,
 * core/runtime/image-arena.ts) and, as the baseline of the previous design, into a fresh buffer.
 */
function timeCut(matcher: Matcher): { medianMs: number; freshMs: number; bytes: number; image: StateImage } {
  const control = ControlBlock.create();
  const arena = new ImageArena(control);
  const intoArena = () => {
    control.imageArenaBusy = false; // the previous image was "stored"
    return cutImage(matcher, (size) => arena.take(size));
  };
  let image = intoArena();
  intoArena();
  const times: number[] = [];
  const fresh: number[] = [];
  for (let i = 0; i < CUT_RUNS; i++) {
    gc();
    let t0 = performance.now();
    image = intoArena();
    times.push(performance.now() - t0);
    gc();
    t0 = performance.now();
    cutImage(matcher);
    fresh.push(performance.now() - t0);
  }
  return { medianMs: median(times), freshMs: median(fresh), bytes: image.bytes.length, image };
}

interface CutRow { orders: number; risk: boolean; cutMs: number; freshCutMs: number; imageBytes: number; msPer100K: number; memcpyMs: number; allocCopyMs: number }

/** The floor for a cut of `bytes`: one memcpy into a reused buffer, and a fresh allocation + memcpy (what cutImage does). */
function memcpyFloor(source: Uint8Array): { memcpyMs: number; allocCopyMs: number } {
  const target = new Uint8Array(source.length);
  target.set(source);
  const reused: number[] = [];
  const fresh: number[] = [];
  for (let i = 0; i < CUT_RUNS; i++) {
    let t0 = performance.now();
    target.set(source);
    reused.push(performance.now() - t0);
    gc();
    t0 = performance.now();
    const copy = new Uint8Array(source.length);
    copy.set(source);
    fresh.push(performance.now() - t0);
  }
  return { memcpyMs: median(reused), allocCopyMs: median(fresh) };
}

function cutSection(): { rows: CutRow[]; bigImage: StateImage; bigHash: string } {
  console.log('\n== cut (cutImage on the matcher thread, into its reused arena) ==');
  const rows: CutRow[] = [];
  let bigImage: StateImage | undefined;
  let bigHash = '';
  for (const risk of [false, true]) {
    for (const orders of BOOK_SIZES) {
      gc();
      const matcher = restingBook(orders, risk);
      const { medianMs, freshMs, bytes, image } = timeCut(matcher);
      const floor = memcpyFloor(image.bytes);
      const row = { orders, risk, cutMs: medianMs, freshCutMs: freshMs, imageBytes: bytes, msPer100K: (medianMs * 100_000) / orders, ...floor };
      rows.push(row);
      console.log(`risk ${risk ? 'on ' : 'off'} ${orders.toLocaleString('en-US').padStart(9)} resting orders: cut ${ms(medianMs).padStart(10)}  image ${mib(bytes).padStart(9)}  = ${ms(row.msPer100K)} per 100K orders (${(bytes / orders).toFixed(0)} B/order, ${((bytes / 2 ** 30) / (medianMs / 1000)).toFixed(1)} GiB/s)`);
      console.log(`${''.padStart(36)}baseline (fresh buffer per cut, the previous design): ${ms(freshMs)} (${(freshMs / medianMs).toFixed(1)}x the arena cut)`);
      console.log(`${''.padStart(36)}floor: memcpy into a reused buffer ${ms(floor.memcpyMs)}, fresh allocation + memcpy ${ms(floor.allocCopyMs)}`);
      if (risk && orders === BOOK_SIZES[BOOK_SIZES.length - 1]) {
        bigImage = image;
        bigHash = stateHash(matcher);
      }
    }
  }
  return { rows, bigImage: bigImage!, bigHash };
}

interface CodecRow { codec: string; encodeMs: number; decodeMs: number; bytes: number; ratio: number }

async function encodeSection(image: StateImage, dir: string): Promise<{ codecs: CodecRow[]; storeMs: number; writerMs: number; writerMatcherThreadMs: number }> {
  console.log(`\n== compress + checksum + store (1M-order image, risk on, ${mib(image.bytes.length)}) ==`);
  const codecs: CodecRow[] = [];
  const options: CompressionOptions[] = [
    { compression: 'none', level: 0 }, { compression: 'gzip', level: 1 }, { compression: 'gzip', level: 6 },
    { compression: 'brotli', level: 1 }, { compression: 'brotli', level: 4 },
  ];
  const chainHash = new Uint8Array(32).fill(1);
  const sequence = image.header.sequence;
  let stored: Uint8Array = new Uint8Array(0);
  for (const option of options) {
    const t0 = performance.now();
    const encoded = encodeSnapshot({ image, sequence, chainHash }, option);
    const t1 = performance.now();
    decodeSnapshot(encoded);
    const t2 = performance.now();
    const row = { codec: `${option.compression}${option.compression === 'none' ? '' : `-${option.level}`}`, encodeMs: t1 - t0, decodeMs: t2 - t1, bytes: encoded.length, ratio: image.bytes.length / encoded.length };
    codecs.push(row);
    console.log(`${row.codec.padEnd(9)} encode ${ms(row.encodeMs).padStart(10)}  decode+verify ${ms(row.decodeMs).padStart(10)}  ${mib(row.bytes).padStart(9)}  ratio ${row.ratio.toFixed(1)}`);
    if (option.compression === DEFAULT_COMPRESSION.compression && option.level === DEFAULT_COMPRESSION.level) stored = encoded;
  }
  const store = new SnapshotStore(path.join(dir, 'store-bench'));
  const t0 = performance.now();
  store.save(sequence, stored);
  const storeMs = performance.now() - t0;
  console.log(`store (write ${mib(stored.length)} + fsync + rename + dir fsync): ${ms(storeMs)}`);
  const writer = SnapshotWriter.start({ directory: path.join(dir, 'writer-bench') });
  const copy: StateImage = { header: image.header, bytes: new Uint8Array(image.bytes) };
  const w0 = performance.now();
  const pending = writer.requestSnapshot(copy, sequence, chainHash);
  const writerMatcherThreadMs = performance.now() - w0;
  const info = await pending;
  const writerMs = performance.now() - w0;
  await writer.close();
  console.log(`writer: requestSnapshot returns in ${ms(writerMatcherThreadMs)} on the calling thread (transfer, no copy); stored after ${ms(writerMs)} (worker: encode ${ms(info.encodeMillis)}, store ${ms(info.storeMillis)})`);
  return { codecs, storeMs, writerMs, writerMatcherThreadMs };
}

interface BuiltJournal { journalPath: string; store: SnapshotStore; snapshotSequence: number; lastSequence: number; records: number; finalHash: string; buildMs: number }

function buildJournal(dir: string): BuiltJournal {
  const t0 = performance.now();
  const journalPath = path.join(dir, 'journal.db');
  const journal = SqliteJournal.open({ path: journalPath, durability: 'none', packRows: true }); // rows as the journal thread writes them
  const store = SnapshotStore.forJournal(journalPath);
  const builder = new RecordBuilder();
  let pending: JournalRecord[] = [];
  let records = 0;
  let lastHash = new Uint8Array(GENESIS_HASH);
  const flushRecords = () => {
    if (pending.length === 0) return;
    journal.appendSync(pending);
    records += pending.length;
    lastHash = new Uint8Array(pending[pending.length - 1]!.hash);
    pending = [];
  };
  const matcher = new Matcher({ limits: engineLimits(1 << 20), risk: new RiskEngine(), echoCommands: true, sink: { onEvents: (w, c) => builder.consume(w, c) } });
  const driver = new Driver(matcher, () => {
    builder.finishCurrent();
    for (const r of builder.take()) pending.push(r);
    if (pending.length >= APPEND_BATCH) flushRecords();
  });
  setup(driver, true, MARGIN_ACCOUNTS);
  const flow = new TradingFlow(driver);
  for (let i = 0; i < PREFIX_COMMANDS; i++) flow.next();
  flushRecords();
  const snapshotSequence = matcher.out.sequence;
  store.save(snapshotSequence, encodeSnapshot({ image: cutImage(matcher), sequence: snapshotSequence, chainHash: lastHash }));
  while (matcher.out.sequence < snapshotSequence + TAIL_EVENTS) flow.next();
  flushRecords();
  void journal.close();
  // Durability 'none' left ~300 MiB of dirty pages: flush them now so the kernel's writeback
  // does not run during the timed recoveries (the file stays in the page cache: warm reads).
  for (const file of [journalPath, `${journalPath}-wal`]) {
    if (!fs.existsSync(file)) continue;
    const fd = fs.openSync(file, 'r+');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  }
  return { journalPath, store, snapshotSequence, lastSequence: matcher.out.sequence, records, finalHash: stateHash(matcher), buildMs: performance.now() - t0 };
}

/** Recovery as the exchange runs it (core/runtime/recover-engine.ts: open, checkpoint, recover); readPages false = the previous design's reader. */
async function timedRecovery(built: BuiltJournal, useStore: boolean, readerThread = true, readPages = true): Promise<{ openMs: number; result: RecoveryResult; totalMs: number }> {
  gc();
  const t0 = performance.now();
  const journal = SqliteJournal.open({ path: built.journalPath, durability: 'none', verifyOnOpen: 'tail' });
  journal.checkpoint();
  const openMs = performance.now() - t0;
  try {
    const result = await recover({
      journal, journalPath: readerThread ? built.journalPath : undefined, store: useStore ? built.store : null, risk: true, limits: engineLimits(1 << 20), readPages,
    });
    const totalMs = performance.now() - t0;
    if (stateHash(result.matcher) !== built.finalHash) throw new Error('recovered state differs from the live engine');
    return { openMs, result, totalMs };
  } finally {
    await journal.close();
  }
}

/** The replay's two halves measured apart: the reader (read + verify) and the re-execution (execute + compare). */
async function breakdown(built: BuiltJournal): Promise<Record<string, number>> {
  const anchor = { firstSequence: 1, previousHash: new Uint8Array(GENESIS_HASH) };
  const out: Record<string, number> = { events: built.lastSequence, records: built.records };
  gc();
  let t0 = performance.now();
  const pages: ReplayPage[] = [];
  const feed = new SqliteReplayFeed({ path: built.journalPath, anchor, toSequence: built.lastSequence, readAhead: 1 << 20 });
  if (!feed.readsPages) console.log('(the reader reads rows through sqlite: the journal file has write-ahead log frames)');
  for (let page = await feed.next(); page !== null; page = await feed.next()) pages.push(page);
  await feed.close();
  out.readerMs = performance.now() - t0;
  gc();
  const matcher = new Matcher({ limits: engineLimits(1 << 20), risk: new RiskEngine(), echoCommands: true });
  const checker = new ReplayChecker(matcher);
  t0 = performance.now();
  for (const page of pages) checker.applyPage(page);
  out.executeCompareMs = performance.now() - t0;
  if (stateHash(matcher) !== built.finalHash) throw new Error('breakdown replay differs from the live engine');
  pages.length = 0;
  gc();
  const bare = new Matcher({ limits: engineLimits(1 << 20), risk: new RiskEngine() });
  const commands: Float64Array[] = [];
  const journal = SqliteJournal.open({ path: built.journalPath, durability: 'none', verifyOnOpen: 'tail' });
  for await (const record of journal.readFrom(1)) if (record.command[0] !== 0) commands.push(record.command);
  await journal.close();
  gc();
  t0 = performance.now();
  for (const command of commands) bare.process(command, 0);
  bare.flush();
  out.executeOnlyMs = performance.now() - t0;
  return out;
}

async function main(): Promise<void> {
  console.log('recovery bench — snapshots cut, encoded, stored; snapshot + tail and full replay');
  const machine = printMachine();
  const loadStart = +os.loadavg()[0]!.toFixed(2);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recovery-bench-'));
  try {
    const { rows, bigImage } = cutSection();
    const enc = await encodeSection(bigImage, dir);

    console.log(`\n== journal (risk on, ${ACCOUNTS} accounts of which ${MARGIN_ACCOUNTS} margin, ${INSTRUMENTS} instruments; prefix ${PREFIX_COMMANDS.toLocaleString('en-US')} commands, snapshot, tail >= ${TAIL_EVENTS.toLocaleString('en-US')} events) ==`);
    const built = buildJournal(dir);
    const tailEvents = built.lastSequence - built.snapshotSequence;
    console.log(`built in ${(built.buildMs / 1000).toFixed(1)} s: ${built.records.toLocaleString('en-US')} records, ${built.lastSequence.toLocaleString('en-US')} events (${(built.lastSequence / built.records).toFixed(2)} events/record), snapshot at ${built.snapshotSequence.toLocaleString('en-US')}, tail ${tailEvents.toLocaleString('en-US')} events; journal ${mib(fs.statSync(built.journalPath).size)}`);

    console.log('\n== recovery: open + newest snapshot + replay of the tail (state hash checked against the live engine) ==');
    const snapRuns: Array<{ openMs: number; result: RecoveryResult; totalMs: number }> = [];
    for (let i = 0; i < RECOVERY_RUNS; i++) {
      const run = await timedRecovery(built, true);
      snapRuns.push(run);
      const r = run.result;
      console.log(`run ${i + 1}: total ${ms(run.totalMs)} = open ${ms(run.openMs)} + snapshot load/verify/restore ${ms(r.millis.snapshot)} + replay ${ms(r.millis.replay)} (${r.replayedEvents.toLocaleString('en-US')} events, ${rate((r.replayedEvents / r.millis.replay) * 1000)} events/s)`);
    }
    const snapMedian = median(snapRuns.map((r) => r.totalMs));
    const snapBest = Math.min(...snapRuns.map((r) => r.totalMs));
    const tailRate = median(snapRuns.map((r) => (r.result.replayedEvents / r.result.millis.replay) * 1000));

    console.log('\n== full replay from sequence 1 (reader thread) ==');
    const fullRuns: number[] = [];
    for (let i = 0; i < RECOVERY_RUNS; i++) {
      const run = await timedRecovery(built, false);
      const eps = (run.result.replayedEvents / run.result.millis.replay) * 1000;
      fullRuns.push(eps);
      console.log(`run ${i + 1}: ${run.result.replayedEvents.toLocaleString('en-US')} events, ${run.result.replayedRecords.toLocaleString('en-US')} records in ${ms(run.result.millis.replay)}: ${rate(eps)} events/s`);
    }
    const fullRate = median(fullRuns);
    const fullBest = Math.max(...fullRuns);
    const viaRows = await timedRecovery(built, false, true, false);
    const viaRowsRate = (viaRows.result.replayedEvents / viaRows.result.millis.replay) * 1000;
    console.log(`baseline, reader threads reading rows through better-sqlite3 (the previous design): ${ms(viaRows.result.millis.replay)}: ${rate(viaRowsRate)} events/s (leaf pages: ${(fullRate / viaRowsRate).toFixed(2)}x)`);
    const generic = await timedRecovery(built, false, false);
    const genericRate = (generic.result.replayedEvents / generic.result.millis.replay) * 1000;
    console.log(`same, through journal.readFrom in one thread (any backend): ${ms(generic.result.millis.replay)}: ${rate(genericRate)} events/s`);

    console.log('\n== where replay time goes (whole journal, each half alone) ==');
    const b = await breakdown(built);
    const per = (x: number) => `${((x * 1e6) / b.events!).toFixed(0)} ns/event, ${((x * 1e3) / b.records!).toFixed(2)} µs/record, ${rate((b.events! / x) * 1000)} events/s`;
    console.log(`reader thread: leaf pages + parse + SHA-256 chain + pack pages  ${ms(b.readerMs!).padStart(11)}  ${per(b.readerMs!)}`);
    console.log(`replaying thread: re-execute + compare (pages in memory)         ${ms(b.executeCompareMs!).padStart(11)}  ${per(b.executeCompareMs!)}`);
    console.log(`re-execute only (commands in memory, output discarded)           ${ms(b.executeOnlyMs!).padStart(11)}  ${per(b.executeOnlyMs!)}`);

    const big = rows.filter((r) => r.orders === BOOK_SIZES[1]);
    const cutPer100K = Math.max(...rows.map((r) => r.msPer100K));
    const gzip1 = enc.codecs.find((c) => c.codec === 'gzip-1')!;
    const brotli1 = enc.codecs.find((c) => c.codec === 'brotli-1')!;
    const headline = {
      bench: 'recovery',
      scale: SCALE,
      machine,
      cut_ms_per_100k_orders_max: +cutPer100K.toFixed(3),
      cut_ms_100k_risk_on: +rows.find((r) => r.risk && r.orders === BOOK_SIZES[0])!.cutMs.toFixed(3),
      cut_ms_1m_risk_on: +big.find((r) => r.risk)!.cutMs.toFixed(3),
      cut_ms_1m_risk_off: +big.find((r) => !r.risk)!.cutMs.toFixed(3),
      fresh_buffer_cut_ms_1m_risk_on: +big.find((r) => r.risk)!.freshCutMs.toFixed(3),
      memcpy_reused_ms_1m_risk_on: +big.find((r) => r.risk)!.memcpyMs.toFixed(3),
      alloc_memcpy_ms_1m_risk_on: +big.find((r) => r.risk)!.allocCopyMs.toFixed(3),
      image_mib_1m_risk_on: +(big.find((r) => r.risk)!.imageBytes / 2 ** 20).toFixed(1),
      encode_brotli1_ms_1m: +brotli1.encodeMs.toFixed(1),
      decode_brotli1_ms_1m: +brotli1.decodeMs.toFixed(1),
      encode_gzip1_ms_1m: +gzip1.encodeMs.toFixed(1),
      decode_gzip1_ms_1m: +gzip1.decodeMs.toFixed(1),
      snapshot_mib_1m: +(brotli1.bytes / 2 ** 20).toFixed(1),
      store_ms_1m: +enc.storeMs.toFixed(1),
      writer_calling_thread_ms_1m: +enc.writerMatcherThreadMs.toFixed(2),
      tail_events: tailEvents,
      recovery_snapshot_plus_tail_ms: +snapMedian.toFixed(0),
      recovery_snapshot_plus_tail_best_ms: +snapBest.toFixed(0),
      tail_replay_events_per_s: Math.round(tailRate),
      full_replay_events_per_s: Math.round(fullRate),
      full_replay_best_events_per_s: Math.round(fullBest),
      full_replay_readfrom_events_per_s: Math.round(genericRate),
      full_replay_sqlite_rows_events_per_s: Math.round(viaRowsRate),
      reader_only_events_per_s: Math.round((b.events! / b.readerMs!) * 1000),
      execute_compare_only_events_per_s: Math.round((b.events! / b.executeCompareMs!) * 1000),
      execute_only_events_per_s: Math.round((b.events! / b.executeOnlyMs!) * 1000),
      events_per_record: +(built.lastSequence / built.records).toFixed(2),
      target_cut_ms_per_100k: TARGET_CUT_MS_PER_100K,
      target_recovery_ms: TARGET_RECOVERY_MS,
      target_replay_events_per_s: TARGET_REPLAY_EVENTS_PER_SEC,
      cut_target_met: cutPer100K < TARGET_CUT_MS_PER_100K,
      recovery_target_met: snapMedian < TARGET_RECOVERY_MS,
      replay_target_met: fullRate >= TARGET_REPLAY_EVENTS_PER_SEC,
      load_average_start: loadStart,
      load_average_end: +os.loadavg()[0]!.toFixed(2),
    };
    console.log(JSON.stringify(headline));
  } finally {
    if (process.env.RECOVERY_BENCH_KEEP === '1') console.error(`kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
