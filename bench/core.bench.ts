/**
 * Core benchmark (`npm run bench:core`): the matcher alone, replaying a realistic
 * seeded order flow (bench/order-flow.ts), against the peer library
 * nodejs-order-book on the same logical flow.
 *
 *   throughput  the whole flow (4M commands) through matcher.process(words, offset),
 *               events written to the engine's output buffer (default sink: the
 *               4096-event batch is discarded when full); JIT warm-up run first,
 *               then ENGINE_RUNS timed runs, each on a fresh matcher whose memory
 *               is pre-faulted (untimed), median reported;
 *   latency     a separate pass, each command timed on its own with
 *               process.hrtime.bigint() (the timer pair costs ~30-50 ns and is
 *               INCLUDED in every sample; its own cost is measured and printed),
 *               recorded in an HdrHistogram; also batches of 64 timed and divided;
 *   peer        a 200K-command prefix of the same flow through one OrderBook per
 *               symbol, timed the same way (the engine is also timed on that same
 *               prefix so the ratio compares like with like);
 *   risk        the same flow with 500 funded margin accounts and the accounts-and-risk
 *               layer on, alternating with runs without it: the cost of risk per command;
 *               with a floor under it, the skeleton layer (bench/skeleton-risk.ts: cash,
 *               holds and positions with none of the rules), with and without its events.
 *
 * The machine header is printed first; the last line is one JSON object with the
 * headline figures. CORE_BENCH_SCALE=0.1 scales every count for a smoke run.
 */
import { gc, median } from './stats';
import * as hdr from 'hdr-histogram-js';
import { Matcher } from '../core/matcher';
import { RiskEngine } from '../core/risk-engine';
import type { RiskLayer } from '../core/risk-layer';
import { encodeCommand } from '../core/record-objects';
import { AccountAction, AccountType } from '../core/codes';
import { COMMAND_WORDS } from '../core/schema';
import { FLOW_KIND_NAMES, OrderFlow, generateOrderFlow } from './order-flow';
import { machineInfo, printMachine } from './machine';
import { SkeletonRisk } from './skeleton-risk';
import { PeerOps, applyPeerOp, checkPeer, newPeerBooks, preparePeerOps, timePeer } from './peer-order-book';

const SCALE = Number(process.env.CORE_BENCH_SCALE ?? '1');
/** Accounts of the risk-on runs: the flow's account ids are 1..500. */
const RISK_ACCOUNTS = 500;
const FLOW_COMMANDS = Math.max(10_000, Math.round(4_000_000 * SCALE));
const PEER_COMMANDS = Math.max(2_000, Math.round(200_000 * SCALE));
const SEED = Number(process.env.CORE_BENCH_SEED ?? '20240611');
const ENGINE_RUNS = 5;
const ENGINE_PREFIX_RUNS = 7;
const PEER_RUNS = 5;
const LATENCY_BATCH = 64;

const TARGET_COMMANDS_PER_SEC = 5_000_000;
const TARGET_RATIO = 50;

// ------------------------------------------------------------------ helpers

const fmt = (x: number, digits = 0): string => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const mega = (x: number): string => `${(x / 1e6).toFixed(2)}M`;

function newHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: 3 });
}

interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

function percentiles(h: hdr.Histogram): Percentiles {
  return {
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
    mean: Math.round(h.mean),
  };
}

function formatPercentiles(p: Percentiles): string {
  return `p50 ${fmt(p.p50)}  p90 ${fmt(p.p90)}  p99 ${fmt(p.p99)}  p99.9 ${fmt(p.p999)}  max ${fmt(p.max)}  (mean ${fmt(p.mean)}) ns`;
}

// ------------------------------------------------------------------ engine

/**
 * Commits every page of every typed array reachable from `root` by writing each
 * page's first element back to itself (contents unchanged). A fresh matcher's
 * tables are lazily mapped zero pages; without this, a short run pays one page
 * fault per first touch (the 2M-entry client-order-id window alone is ~64 MB), which
 * a long-running engine never does. Returns the pages touched.
 */
function prefault(root: unknown): number {
  const seen = new Set<unknown>();
  let pages = 0;
  const visit = (x: unknown, depth: number): void => {
    if (x === null || typeof x !== 'object' || seen.has(x) || depth > 4) return;
    seen.add(x);
    if (ArrayBuffer.isView(x) && !(x instanceof DataView)) {
      const a = x as unknown as { length: number; BYTES_PER_ELEMENT: number; [i: number]: number };
      const step = Math.max(1, 4096 / a.BYTES_PER_ELEMENT);
      for (let i = 0; i < a.length; i += step) {
        a[i] = a[i];
        pages++;
      }
      return;
    }
    if (Array.isArray(x)) {
      for (const y of x) visit(y, depth + 1);
      return;
    }
    for (const key of Object.keys(x)) visit((x as Record<string, unknown>)[key], depth + 1);
  };
  visit(root, 0);
  return pages;
}

/** A fresh matcher with the flow's instruments added and its memory committed (none of it timed). */
function newEngine(flow: OrderFlow): Matcher {
  const m = new Matcher({ limits: flow.limits });
  for (let c = 0; c < flow.setupCount; c++) m.process(flow.words, c * COMMAND_WORDS);
  m.flush();
  prefault(m);
  return m;
}

interface EngineRun {
  ns: number;
  events: number;
  matcher: Matcher;
  /** CPU time the process got during the run / wall time (below ~0.9: other load took the core). */
  cpuShare: number;
}

/** CPU time (user + system) since `start`, in ns, over a wall time in ns. */
function cpuShareSince(start: NodeJS.CpuUsage, wallNs: number): number {
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / wallNs;
}

/**
 * A fresh matcher WITH the accounts-and-risk layer: every flow account opened as a
 * margin account, approved, funded and allowed to short, so the same flow is
 * accepted and every order pays for its pre-trade checks, holds, positions, P&L,
 * settlement buckets and incremental margin.
 */
function newRiskEngine(flow: OrderFlow, accounts: number, risk: RiskLayer = new RiskEngine()): Matcher {
  const m = new Matcher({ limits: { ...flow.limits, maxAccounts: Math.max(flow.limits.maxAccounts ?? 0, accounts + 1) }, risk });
  for (let c = 0; c < flow.setupCount; c++) m.process(flow.words, c * COMMAND_WORDS);
  for (let a = 1; a <= accounts; a++) {
    m.process(encodeCommand('OpenAccount', { account: a, accountType: AccountType.Margin }), 0);
    m.process(encodeCommand('SetAccountStatus', { account: a, action: AccountAction.ApproveKyc }), 0);
    m.process(encodeCommand('Deposit', { account: a, amount: 2 ** 48, reference: a }), 0);
    m.process(encodeCommand('SetAccountLimits', { account: a, maxOpenOrders: 1_000_000, maxShortQuantity: 2 ** 40, maxPositionQuantity: 2 ** 40 }), 0);
  }
  m.flush();
  prefault(m);
  return m;
}

/** Replays flow commands [setup, setup + commands) through a fresh matcher (risk on: with accounts), timed as one block. */
function timeEngine(flow: OrderFlow, commands: number, riskAccounts = 0, risk?: RiskLayer): EngineRun {
  const m = riskAccounts > 0 ? newRiskEngine(flow, riskAccounts, risk) : newEngine(flow);
  const words = flow.words;
  const start = flow.setupCount * COMMAND_WORDS;
  const end = (flow.setupCount + commands) * COMMAND_WORDS;
  const eventsBefore = m.out.sequence;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let o = start; o < end; o += COMMAND_WORDS) m.process(words, o);
  m.flush();
  const ns = Number(process.hrtime.bigint() - t0);
  return { ns, events: m.out.sequence - eventsBefore, matcher: m, cpuShare: cpuShareSince(cpu0, ns) };
}

/** Per-command latency: each process() call between two hrtime readings. */
function engineLatencyPerCommand(flow: OrderFlow, commands: number): hdr.Histogram {
  const h = newHistogram();
  const m = newEngine(flow);
  const words = flow.words;
  const start = flow.setupCount * COMMAND_WORDS;
  const end = (flow.setupCount + commands) * COMMAND_WORDS;
  for (let o = start; o < end; o += COMMAND_WORDS) {
    const t0 = process.hrtime.bigint();
    m.process(words, o);
    const t1 = process.hrtime.bigint();
    h.recordValue(Number(t1 - t0));
  }
  m.flush();
  return h;
}

/** Batch latency: LATENCY_BATCH commands per timing, the mean recorded once per command. */
function engineLatencyBatched(flow: OrderFlow, commands: number): hdr.Histogram {
  const h = newHistogram();
  const m = newEngine(flow);
  const words = flow.words;
  const start = flow.setupCount * COMMAND_WORDS;
  const end = (flow.setupCount + commands) * COMMAND_WORDS;
  const step = LATENCY_BATCH * COMMAND_WORDS;
  for (let b = start; b < end; b += step) {
    const stop = Math.min(end, b + step);
    const t0 = process.hrtime.bigint();
    for (let o = b; o < stop; o += COMMAND_WORDS) m.process(words, o);
    const t1 = process.hrtime.bigint();
    const n = (stop - b) / COMMAND_WORDS;
    h.recordValueWithCount(Math.max(1, Math.round(Number(t1 - t0) / n)), n);
  }
  m.flush();
  return h;
}

/** Cost of the timing itself: two back-to-back hrtime.bigint() readings. */
function timerOverhead(samples: number): Percentiles {
  const h = newHistogram();
  for (let i = 0; i < samples; i++) {
    const t0 = process.hrtime.bigint();
    const t1 = process.hrtime.bigint();
    h.recordValue(Math.max(1, Number(t1 - t0)));
  }
  return percentiles(h);
}

/** Resting [bid volume, ask volume] per instrument. */
function engineVolumes(m: Matcher, instruments: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const ins = m.instruments;
  const sum = (ladderIndex: number, side: 'bids' | 'asks') => {
    const ladder = ins[side][ladderIndex];
    let total = 0;
    for (let i = 0; i < ladder.count; i++) total += m.levels.quantity[ladder.levels[i]];
    return total;
  };
  for (let i = 1; i <= instruments; i++) out.push([sum(i, 'bids'), sum(i, 'asks')]);
  return out;
}

// ------------------------------------------------------------------ peer

function peerLatency(ops: PeerOps): hdr.Histogram {
  const h = newHistogram();
  const books = newPeerBooks(ops);
  let sink = 0;
  for (let i = 0; i < ops.count; i++) {
    const t0 = process.hrtime.bigint();
    sink += applyPeerOp(books, ops, i);
    const t1 = process.hrtime.bigint();
    h.recordValue(Math.max(1, Number(t1 - t0)));
  }
  if (sink < 0) console.log(sink);
  return h;
}

// ------------------------------------------------------------------ main

function main(): void {
  const began = performance.now();
  const machine = machineInfo();
  console.log('== core benchmark: matcher vs nodejs-order-book ==');
  printMachine(machine);
  console.log(`command  npm run bench:core   (CORE_BENCH_SCALE=${SCALE}, seed ${SEED})`);
  console.log('');

  // --- flow
  const flow = generateOrderFlow({ commands: FLOW_COMMANDS, seed: SEED });
  const st = flow.stats;
  const total = FLOW_COMMANDS;
  console.log(`flow     ${fmt(total)} commands + ${flow.setupCount} AddInstrument, ${flow.instruments.length} symbols, 500 accounts, generated in ${fmt(st.generationMs / 1000, 1)} s (untimed)`);
  console.log(`         mix: ${FLOW_KIND_NAMES.slice(1).map((k, i) => `${k} ${(100 * st.byKind[i + 1] / total).toFixed(1)}%`).join(', ')} (fallbacks ${st.fallbacks})`);
  console.log(`         symbol activity: ${st.bySymbol.map((c, i) => `${flow.instruments[i].symbol} ${(100 * c / total).toFixed(1)}%`).join(', ')}`);
  console.log(`         events ${fmt(st.totalEvents)} (${(st.totalEvents / total).toFixed(2)}/command): ${Object.entries(st.eventsByName).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
  console.log(`         book: peak ${fmt(st.peakLiveOrders)} live orders, peak ${fmt(st.peakPriceLevels)} price levels, ${fmt(st.finalLiveOrders)} live at end`);
  const rejected = (st.eventsByName.OrderRejected ?? 0) + (st.eventsByName.CancelRejected ?? 0) + (st.eventsByName.CommandRejected ?? 0);
  const expectedEvents = st.totalEvents - (st.eventsByName.InstrumentAdded ?? 0);
  console.log('');

  // --- engine throughput
  gc();
  timeEngine(flow, FLOW_COMMANDS); // JIT warm-up (the generator's oracle pass warmed it too)
  const rates: number[] = [];
  const eventRates: number[] = [];
  const cpuShares: number[] = [];
  for (let r = 0; r < ENGINE_RUNS; r++) {
    gc();
    const run = timeEngine(flow, FLOW_COMMANDS);
    if (run.events !== expectedEvents) {
      throw new Error(`engine run ${r} emitted ${run.events} events, the generation pass ${expectedEvents}: the replay is not deterministic`);
    }
    rates.push(FLOW_COMMANDS / (run.ns / 1e9));
    cpuShares.push(run.cpuShare);
    eventRates.push(run.events / (run.ns / 1e9));
  }
  const engineRate = median(rates);
  const engineEventRate = median(eventRates);
  console.log(`engine   throughput, ${ENGINE_RUNS} runs of ${fmt(FLOW_COMMANDS)} commands after 1 warm-up run (fresh matcher per run):`);
  console.log(`         runs: ${rates.map((x) => mega(x)).join(', ')} commands/s`);
  console.log(`         median ${fmt(engineRate)} commands/s, ${fmt(engineEventRate)} events/s  [target >= ${fmt(TARGET_COMMANDS_PER_SEC)}: ${engineRate >= TARGET_COMMANDS_PER_SEC ? 'MET' : 'MISSED'}]`);
  console.log(`         rejections in the flow: ${rejected}; replay event count identical to the generation pass on every run`);
  const cpuShare = Math.min(...cpuShares);
  const enginePerCpuSecond = median(rates.map((x, i) => x / Math.min(1, cpuShares[i])));
  console.log(`         CPU share of the timed runs (process CPU time / wall time): ${cpuShares.map((x) => x.toFixed(2)).join(', ')}` +
    (cpuShare < 0.9 ? `\n         WARNING: other load took the CPU during timing, figures are pessimistic; per CPU-second: ${fmt(enginePerCpuSecond)} commands` : ''));

  // --- cost of risk: the same flow with accounts, holds, positions and margin
  // and, as a floor under it, the skeleton layer (bench/skeleton-risk.ts) with and without its events.
  const riskRates: number[] = [];
  const plainRates: number[] = [];
  const skeletonRates: number[] = [];
  const bareRates: number[] = [];
  const perCpuSecond = (run: EngineRun): number => FLOW_COMMANDS / (run.ns / 1e9) / Math.min(1, run.cpuShare);
  timeEngine(flow, FLOW_COMMANDS, RISK_ACCOUNTS); // warm-up
  timeEngine(flow, FLOW_COMMANDS, RISK_ACCOUNTS, new SkeletonRisk(true));
  timeEngine(flow, FLOW_COMMANDS, RISK_ACCOUNTS, new SkeletonRisk(false));
  // Every layer must accept every order of the flow (same matching), or it would be timed doing less.
  const acceptedOrders = (run: EngineRun): EngineRun => {
    const accepted = run.matcher.nextOrderId - 1;
    if (accepted !== plainAccepted) throw new Error(`a risk layer accepted ${accepted} orders of the flow, the matcher alone ${plainAccepted}`);
    return run;
  };
  let plainAccepted = -1;
  for (let r = 0; r < 3; r++) {
    gc();
    const plain = timeEngine(flow, FLOW_COMMANDS);
    plainAccepted = plain.matcher.nextOrderId - 1;
    plainRates.push(perCpuSecond(plain));
    gc();
    riskRates.push(perCpuSecond(acceptedOrders(timeEngine(flow, FLOW_COMMANDS, RISK_ACCOUNTS))));
    gc();
    skeletonRates.push(perCpuSecond(acceptedOrders(timeEngine(flow, FLOW_COMMANDS, RISK_ACCOUNTS, new SkeletonRisk(true)))));
    gc();
    bareRates.push(perCpuSecond(acceptedOrders(timeEngine(flow, FLOW_COMMANDS, RISK_ACCOUNTS, new SkeletonRisk(false)))));
  }
  const riskRate = median(riskRates);
  const plainRate = median(plainRates);
  const riskCost = plainRate / riskRate - 1;
  const skeletonCost = plainRate / median(skeletonRates) - 1;
  const bareCost = plainRate / median(bareRates) - 1;
  const nsAdded = (rate: number): string => (1e9 / rate - 1e9 / plainRate).toFixed(0);
  console.log(`risk     same flow with ${RISK_ACCOUNTS} margin accounts (pre-trade checks, holds, positions, P&L, settlement, incremental margin):`);
  console.log(`         ${fmt(riskRate)} commands per CPU-second vs ${fmt(plainRate)} without (alternating runs): risk adds ${(riskCost * 100).toFixed(0)}% per command (${nsAdded(riskRate)} ns)  [target <= 30%: ${riskCost <= 0.3 ? 'MET' : 'MISSED'}]`);
  console.log(`         floor: the skeleton layer (cash, holds and positions with none of the rules, bench/skeleton-risk.ts) adds ${(skeletonCost * 100).toFixed(0)}% (${nsAdded(median(skeletonRates))} ns),`);
  console.log(`         ${(bareCost * 100).toFixed(0)}% (${nsAdded(median(bareRates))} ns) without its events`);

  // --- engine latency
  gc();
  const overhead = timerOverhead(1_000_000);
  gc();
  const perCommand = percentiles(engineLatencyPerCommand(flow, FLOW_COMMANDS));
  gc();
  const batched = percentiles(engineLatencyBatched(flow, FLOW_COMMANDS));
  console.log(`engine   latency per command, ${fmt(FLOW_COMMANDS)} commands each timed alone (includes the timer pair):`);
  console.log(`         ${formatPercentiles(perCommand)}`);
  console.log(`         timer pair alone (hrtime.bigint x2): p50 ${fmt(overhead.p50)} ns, p99 ${fmt(overhead.p99)} ns`);
  console.log(`engine   latency, batches of ${LATENCY_BATCH} commands timed and divided (mean per command within a batch):`);
  console.log(`         ${formatPercentiles(batched)}`);
  console.log('');

  // --- same prefix: engine and peer
  const ops = preparePeerOps(flow, PEER_COMMANDS);
  gc();
  const check = checkPeer(ops); // untimed: parity check, and warms the peer up
  const engineVol = engineVolumes(timeEngine(flow, ops.count).matcher, flow.instruments.length);
  const volumeMatches = engineVol.filter(([b, a], i) => b === check.volumes[i][0] && a === check.volumes[i][1]).length;
  const prefixRates: number[] = [];
  for (let r = 0; r < ENGINE_PREFIX_RUNS; r++) {
    gc();
    prefixRates.push(ops.count / (timeEngine(flow, ops.count).ns / 1e9));
  }
  const enginePrefixRate = median(prefixRates);

  gc();
  timePeer(ops); // warm-up
  const peerRates: number[] = [];
  const peerCpuShares: number[] = [];
  for (let r = 0; r < PEER_RUNS; r++) {
    gc();
    const cpu0 = process.cpuUsage();
    const ns = timePeer(ops).ns;
    peerRates.push(ops.count / (ns / 1e9));
    peerCpuShares.push(cpuShareSince(cpu0, ns));
  }
  const peerRate = median(peerRates);
  gc();
  const peerLat = percentiles(peerLatency(ops));
  const ratio = enginePrefixRate / peerRate;
  const ratioFullFlow = engineRate / peerRate;

  console.log(`peer     nodejs-order-book, first ${fmt(ops.count)} commands of the same flow, one OrderBook per symbol:`);
  console.log(`         runs: ${peerRates.map((x) => fmt(x)).join(', ')} commands/s; median ${fmt(peerRate)} commands/s`);
  console.log(`         CPU share of the timed runs: ${peerCpuShares.map((x) => x.toFixed(2)).join(', ')}`);
  console.log(`         latency per command: ${formatPercentiles(peerLat)}`);
  console.log(`         parity: resting bid/ask volume equal to the engine's on ${volumeMatches}/${flow.instruments.length} books; ` +
    `cancel misses ${check.cancelMisses}, modify errors ${check.modifyErrors}`);
  console.log(`engine   same ${fmt(ops.count)}-command prefix: median ${fmt(enginePrefixRate)} commands/s (${ENGINE_PREFIX_RUNS} runs)`);

  // --- cross-check: without quantity-down replaces (the one rule the two books
  // implement differently) the engine and the peer must end with identical books.
  const exactFlow = generateOrderFlow({ commands: PEER_COMMANDS, seed: SEED, quantityDownShare: 0 });
  const exactOps = preparePeerOps(exactFlow, PEER_COMMANDS);
  const exactPeer = checkPeer(exactOps);
  const exactEngine = engineVolumes(timeEngine(exactFlow, exactOps.count).matcher, exactFlow.instruments.length);
  const exactBooks = exactEngine.filter(([b, a], i) => b === exactPeer.volumes[i][0] && a === exactPeer.volumes[i][1]).length;
  console.log(`check    same seed without quantity-down replaces: resting volume identical on ${exactBooks}/${exactFlow.instruments.length} books, ` +
    `peer cancel misses ${exactPeer.cancelMisses}, modify errors ${exactPeer.modifyErrors} (independent check of the matching)`);
  console.log('');
  console.log('== summary ==');
  console.log(`engine   ${fmt(engineRate)} commands/s, ${fmt(engineEventRate)} events/s   target >= ${fmt(TARGET_COMMANDS_PER_SEC)} commands/s: ${engineRate >= TARGET_COMMANDS_PER_SEC ? 'MET' : 'MISSED'}`);
  console.log(`peer     ${fmt(peerRate)} commands/s`);
  console.log(`ratio    ${ratio.toFixed(1)}x on the same prefix (${ratioFullFlow.toFixed(1)}x full-flow engine vs peer prefix)   target >= ${TARGET_RATIO}x: ${ratio >= TARGET_RATIO ? 'MET' : 'MISSED'}`);
  console.log(`latency  engine ${formatPercentiles(perCommand)}`);
  console.log(`         peer   ${formatPercentiles(peerLat)}`);
  console.log(`elapsed  ${fmt((performance.now() - began) / 1000, 1)} s`);

  const round = (x: number) => Math.round(x);
  const summary = {
    bench: 'core',
    machine,
    flow: { commands: FLOW_COMMANDS, peerCommands: ops.count, seed: SEED, symbols: flow.instruments.length, mix: flow.mix, eventsPerCommand: +(st.totalEvents / total).toFixed(3) },
    engineCommandsPerSec: round(engineRate),
    engineEventsPerSec: round(engineEventRate),
    enginePrefixCommandsPerSec: round(enginePrefixRate),
    peerCommandsPerSec: round(peerRate),
    ratio: +ratio.toFixed(1),
    ratioFullFlow: +ratioFullFlow.toFixed(1),
    latencyNs: { p50: perCommand.p50, p99: perCommand.p99, p999: perCommand.p999, max: perCommand.max },
    latencyBatch64Ns: { p50: batched.p50, p99: batched.p99, p999: batched.p999, max: batched.max },
    timerOverheadNs: overhead.p50,
    engineCpuShareMin: +cpuShare.toFixed(2),
    riskCommandsPerCpuSec: round(riskRate),
    riskCostPct: +(riskCost * 100).toFixed(1),
    riskFloorPct: { skeleton: +(skeletonCost * 100).toFixed(1), skeletonWithoutEvents: +(bareCost * 100).toFixed(1) },
    engineCommandsPerCpuSec: round(enginePerCpuSecond),
    peerCpuShareMin: +Math.min(...peerCpuShares).toFixed(2),
    peerLatencyNs: { p50: peerLat.p50, p99: peerLat.p99, p999: peerLat.p999, max: peerLat.max },
    parity: { booksIdentical: exactBooks, books: exactFlow.instruments.length, peerCancelMisses: exactPeer.cancelMisses },
    targets: {
      commandsPerSec: TARGET_COMMANDS_PER_SEC, commandsPerSecMet: engineRate >= TARGET_COMMANDS_PER_SEC,
      ratio: TARGET_RATIO, ratioMet: ratio >= TARGET_RATIO,
      riskCostPct: 30, riskCostMet: riskCost <= 0.3,
    },
  };
  console.log(JSON.stringify(summary));
}

main();
