/**
 * `npm run bench:audit`: how fast the auditor checks a large journal.
 *
 * 1. Generates (once, cached under the temp dir) a journal of --events N events (default 10M)
 *    produced by the real engine with the risk layer on: 4 instruments, 100 margin accounts,
 *    passive and crossing limit orders, IOCs and cancels of live orders, fees. The journal is
 *    written by SqliteJournal (durability none) from RecordBuilder records, like the exchange.
 * 2. Measures `verify` (every core, piscina, and one thread for comparison) and `reexecute`
 *    in events per second, through the same functions the CLI runs: best of 3 runs (the
 *    machine is shared), with events per CPU-second alongside.
 *
 * Options: --events N, --dir PATH (cache directory), --threads N, --regenerate.
 * Ends with ONE line of JSON holding the headline figures.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { Matcher } from '../core/matcher';
import { RiskEngine } from '../core/risk-engine';
import { encodeCommand } from '../core/record-objects';
import { Events, EVENT_WORDS, packSymbol } from '../core/schema';
import { AccountAction, AccountType, OrderType, Side, TimeInForce } from '../core/codes';
import { RecordBuilder } from '../journal/record-builder';
import { SqliteJournal } from '../journal/sqlite-journal';
import { JournalRecord } from '../journal/journal-record';
import { reexecuteJournal } from '../journal/audit/reexecute';
import { SqliteSource } from '../journal/audit/source';
import { verifyJournal } from '../journal/audit/verify';

const TARGET_VERIFY = 3_000_000;
const TARGET_REEXECUTE = 1_000_000;
const GENERATOR_VERSION = 2; // 2: packed rows

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index < 0 ? undefined : process.argv[index + 1];
}

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

/** Live GTC orders, kept from the events so that cancels hit live orders (swap-remove set). */
class LiveOrders {
  readonly ids: number[] = [];
  private readonly index = new Map<number, number>();
  add(id: number): void {
    this.index.set(id, this.ids.length);
    this.ids.push(id);
  }
  remove(id: number): void {
    const at = this.index.get(id);
    if (at === undefined) return;
    const last = this.ids.pop()!;
    if (last !== id) {
      this.ids[at] = last;
      this.index.set(last, at);
    }
    this.index.delete(id);
  }
}

interface Generated {
  events: number;
  records: number;
  commands: number;
  seconds: number;
  headHash: string;
  version: number;
  /** SHA-256 of the compiled engine (dist/core): a journal is only reused by the engine that wrote it. */
  engine: string;
}

/** Hash of the compiled engine files this bench runs with. */
function engineHash(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.js')) hash.update(name).update(readFileSync(path));
    }
  };
  walk(join(__dirname, '..', 'core'));
  return hash.digest('hex').slice(0, 16);
}

function generate(path: string, targetEvents: number): Generated {
  const started = performance.now();
  const builder = new RecordBuilder();
  const live = new LiveOrders();
  const E = Events;
  const watch = (words: Float64Array, count: number) => {
    for (let i = 0; i < count; i++) {
      const o = i * EVENT_WORDS;
      const type = words[o];
      if (type === E.OrderAccepted.code) {
        if (words[o + E.OrderAccepted.at.timeInForce] === TimeInForce.GTC) live.add(words[o + E.OrderAccepted.at.orderId]!);
      } else if (type === E.OrderCanceled.code) {
        live.remove(words[o + E.OrderCanceled.at.orderId]!);
      } else if (type === E.Trade.code) {
        if (words[o + E.Trade.at.makerLeaves] === 0) live.remove(words[o + E.Trade.at.makerOrderId]!);
        if (words[o + E.Trade.at.takerLeaves] === 0) live.remove(words[o + E.Trade.at.takerOrderId]!);
      }
    }
    builder.consume(words, count);
  };
  const matcher = new Matcher({ echoCommands: true, risk: new RiskEngine(), sink: { onEvents: watch } });
  rmSync(path, { force: true });
  rmSync(`${path}-wal`, { force: true });
  rmSync(`${path}-shm`, { force: true });
  const journal = SqliteJournal.open({ path, durability: 'none', packRows: true }); // rows as the journal thread writes them
  const command = new Float64Array(16);
  let time = Date.parse('2024-03-15T13:30:00Z') * 1000;
  let commands = 0;
  let records = 0;
  let events = 0;
  let pending: JournalRecord[] = [];
  let last: JournalRecord | undefined;
  const send = (name: Parameters<typeof encodeCommand>[0], fields: Record<string, number>) => {
    time += 1 + (commands % 7);
    encodeCommand(name, fields as never, time, 0, command);
    matcher.process(command, 0);
    commands++;
    if ((commands & 255) === 0) {
      matcher.flush();
      builder.finishCurrent();
      for (const record of builder.take()) pending.push(record);
      if (pending.length >= 4096) {
        journal.appendSync(pending);
        records += pending.length;
        last = pending[pending.length - 1]!;
        events = last.lastSequence;
        pending = [];
      }
    }
  };
  const instruments = 4;
  const accounts = 100;
  const mid = [0, 10_000, 25_000, 4_000, 60_000];
  for (let i = 1; i <= instruments; i++) {
    const [symbolHead, symbolTail] = packSymbol(`SYM${i}`);
    send('AddInstrument', {
      instrument: i, symbolHead, symbolTail, tickSize: 1, lotSize: 1, bandBasisPoints: 0, maxOrderQuantity: 1_000_000,
      maxOrderNotional: 1e15, referencePrice: mid[i]!, settlementDays: 1, initialState: 0,
    });
  }
  for (let a = 1; a <= accounts; a++) {
    send('OpenAccount', { account: a, accountType: AccountType.Margin });
    send('SetAccountStatus', { account: a, action: AccountAction.ApproveKyc });
    send('Deposit', { account: a, amount: 1e14, reference: a });
    send('SetAccountLimits', { account: a, maxShortQuantity: 1e12, maxOpenOrders: 100_000 });
  }
  send('SetFeeSchedule', { makerFeeBasisPoints: 1, takerFeeBasisPoints: 2, feeAccount: accounts });
  const rnd = mulberry32(20240315);
  let clientOrderId = 0;
  let lastReport = performance.now();
  while (events < targetEvents) {
    const r = rnd();
    const instrument = 1 + Math.floor(rnd() * instruments);
    const account = 1 + Math.floor(rnd() * (accounts - 1));
    if (rnd() < 0.01) mid[instrument] = Math.max(100, mid[instrument]! + Math.round((rnd() - 0.5) * 20));
    const side = rnd() < 0.5 ? Side.Buy : Side.Sell;
    const sign = side === Side.Buy ? -1 : 1;
    if (r < 0.45 || live.ids.length < 200) {
      // Passive: rests 1..20 ticks away from mid on its own side.
      send('NewOrder', {
        account, instrument, clientOrderId: ++clientOrderId, side, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC,
        price: mid[instrument]! + sign * (1 + Math.floor(rnd() * 20)), quantity: 1 + Math.floor(rnd() * 100),
      });
    } else if (r < 0.65) {
      // Aggressive: crosses a few ticks into the other side.
      send('NewOrder', {
        account, instrument, clientOrderId: ++clientOrderId, side, orderType: OrderType.Limit, timeInForce: rnd() < 0.5 ? TimeInForce.IOC : TimeInForce.GTC,
        price: mid[instrument]! - sign * (1 + Math.floor(rnd() * 6)), quantity: 1 + Math.floor(rnd() * 150),
      });
    } else {
      // Cancel a live order (its own account's: cancels by others are rejected NOT_AUTHORIZED, which is fine too).
      const id = live.ids[Math.floor(rnd() * live.ids.length)]!;
      send('CancelOrder', { account: matcher.orders.account[matcher.orderIndex.get(id)] ?? account, orderId: id });
    }
    if (performance.now() - lastReport > 5000) {
      lastReport = performance.now();
      process.stderr.write(`  generating: ${events} events (${((100 * events) / targetEvents).toFixed(0)}%), ${live.ids.length} live orders\n`);
    }
  }
  matcher.flush();
  builder.finishCurrent();
  for (const record of builder.take()) pending.push(record);
  if (pending.length > 0) {
    journal.appendSync(pending);
    records += pending.length;
    last = pending[pending.length - 1]!;
  }
  void journal.close();
  return {
    events: last!.lastSequence,
    records,
    commands,
    seconds: (performance.now() - started) / 1000,
    headHash: Buffer.from(last!.hash).toString('hex'),
    version: GENERATOR_VERSION,
    engine: engineHash(),
  };
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: (cpus[0]?.model ?? 'unknown').trim(),
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

const rate = (perSecond: number) => `${(perSecond / 1e6).toFixed(2)}M events/s`;

async function main(): Promise<void> {
  const targetEvents = Number(argument('events') ?? 10_000_000);
  if (!Number.isSafeInteger(targetEvents) || targetEvents < 1000) throw new Error('--events must be an integer >= 1000');
  const dir = argument('dir') ?? join(os.tmpdir(), 'exchange-audit-bench');
  const threads = argument('threads') === undefined ? undefined : Number(argument('threads'));
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `journal-${targetEvents}.db`);
  const marker = `${path}.json`;
  const m = machine();
  console.log(`audit bench — CPU ${m.cpu} × ${m.cores} cores, node ${m.node}, ${m.os}`);
  console.log(`load average at start ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`targets: verify >= ${rate(TARGET_VERIFY)}, reexecute >= ${rate(TARGET_REEXECUTE)}`);

  let generated: Generated | undefined;
  let cached = false;
  if (!process.argv.includes('--regenerate') && existsSync(path) && existsSync(marker)) {
    const saved = JSON.parse(readFileSync(marker, 'utf8')) as Generated;
    if (saved.version === GENERATOR_VERSION && saved.engine === engineHash()) {
      generated = saved;
      cached = true;
    } else {
      console.log('the cached journal was written by another engine build or generator: regenerating');
    }
  }
  if (generated === undefined) {
    console.log(`generating a journal of ${targetEvents} events at ${path} (real engine, risk on) ...`);
    generated = generate(path, targetEvents);
    writeFileSync(marker, JSON.stringify(generated));
  }
  console.log(`journal: ${generated.events} events, ${generated.records} records (${(generated.events / generated.records).toFixed(2)} events/record), `
    + `${generated.commands} commands; generation took ${generated.seconds.toFixed(1)} s${cached ? ' (cached from an earlier run, not regenerated)' : ''}`);
  if (generated.events < 10_000_000) console.log(`NOTE: measured on ${generated.events} events, not the 10M default (--events ${targetEvents})`);

  const source = SqliteSource.open(path);
  try {
    // Each figure: the best of REPEATS runs (the machine is shared; the spread is printed), plus
    // events per CPU-second (process CPU time, worker threads included): what one idle core does.
    const verifyRuns: Measured[] = [];
    for (let run = 0; run < REPEATS; run++) {
      verifyRuns.push(await measure(async () => {
        const report = await verifyJournal(source, { threads });
        if (!report.ok || report.headHash !== generated!.headHash) throw new Error(`verify failed: ${JSON.stringify(report.fault)} head ${report.headHash}`);
        return { events: report.events, detail: `${report.threads} threads, ${report.chunks} chunks, ${report.reader} reader` };
      }));
    }
    const verify = best(verifyRuns);
    console.log(`verify (${verify.detail})  ${summary(verifyRuns)}  ${verify.rate >= TARGET_VERIFY ? 'target met' : 'TARGET NOT MET'}`);
    const oneRuns = [await measure(async () => {
      const report = await verifyJournal(source, { threads: 1 });
      return { events: report.events, detail: `1 thread, ${report.reader} reader` };
    })];
    const one = best(oneRuns);
    console.log(`verify (${one.detail})  ${summary(oneRuns)}`);
    const replayRuns: Measured[] = [];
    for (let run = 0; run < REPEATS; run++) {
      replayRuns.push(await measure(async () => {
        const report = await reexecuteJournal(source, { risk: true });
        if (!report.ok) throw new Error(`reexecute diverged: ${JSON.stringify(report.divergence)}`);
        return { events: report.events, detail: 'risk on, read-ahead worker' };
      }));
    }
    const replay = best(replayRuns);
    console.log(`reexecute (${replay.detail})  ${summary(replayRuns)}  ${replay.rate >= TARGET_REEXECUTE ? 'target met' : 'TARGET NOT MET'}`);
    console.log(`load average at end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log(JSON.stringify({
      bench: 'audit',
      events: generated.events,
      records: generated.records,
      events_per_record: Number((generated.events / generated.records).toFixed(2)),
      generation_s: Number(generated.seconds.toFixed(1)),
      generation_cached: cached,
      verify_events_per_s: Math.round(verify.rate),
      verify_events_per_cpu_s: Math.round(verify.perCpuSecond),
      verify_1_thread_events_per_s: Math.round(one.rate),
      reexecute_events_per_s: Math.round(replay.rate),
      reexecute_events_per_cpu_s: Math.round(replay.perCpuSecond),
      target_verify_events_per_s: TARGET_VERIFY,
      target_reexecute_events_per_s: TARGET_REEXECUTE,
      verify_target_met: verify.rate >= TARGET_VERIFY,
      reexecute_target_met: replay.rate >= TARGET_REEXECUTE,
      cpu: m.cpu,
      cores: m.cores,
      node: m.node,
      load_average_end: Number(os.loadavg()[0]!.toFixed(2)),
    }));
  } finally {
    await source.close();
  }
}

const REPEATS = 3;

interface Measured {
  rate: number;
  perCpuSecond: number;
  seconds: number;
  detail: string;
}

async function measure(run: () => Promise<{ events: number; detail: string }>): Promise<Measured> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const { events, detail } = await run();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { rate: events / seconds, perCpuSecond: events / ((used.user + used.system) / 1e6), seconds, detail };
}

const best = (runs: Measured[]) => runs.reduce((a, b) => (b.rate > a.rate ? b : a));

function summary(runs: Measured[]): string {
  const top = best(runs);
  const all = runs.map((r) => (r.rate / 1e6).toFixed(2)).join(' / ');
  return `${rate(top.rate)} best of [${all}]M  (${top.seconds.toFixed(2)} s; ${rate(top.perCpuSecond)} per CPU-second)`;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
