/**
 * End-to-end latency benchmark (`npm run bench:e2e`).
 *
 * The exchange runs as a child process (`node dist/bin/exchange.js --config <tmp>`,
 * temporary data directory, demo flow off); load-generator worker threads in this
 * process hold several logged-on order-entry sessions each and send an OPEN-LOOP
 * flow at a fixed offered rate (bench/e2e/load-generator.ts). Latency = receive
 * time - intended send time (coordinated-omission corrected), HdrHistogram in µs:
 *
 *   ack   NewOrder -> OrderAccepted (released only once the journal made it durable)
 *   fill  crossing IOC NewOrder -> its first Trade
 *   cancel CancelOrder -> OrderCanceled / CancelRejected
 *
 * Steps (each on a FRESH exchange, warm-up excluded, then the measured window):
 *   sweep        fsync, 2 gateway workers, offered 10K, 50K, 100K, 200K orders/s, then
 *                x1.5 until saturation, then E2E_REFINE (2) bisection steps between the
 *                last sustained rate and the first saturated one (the knee), and the
 *                100K point the targets are stated at if the sweep stopped below it
 *   durability   os and none at the comparison rate (fsync from the sweep)
 *   gateways     1 gateway worker at the comparison rate (2 from the sweep)
 * Saturated = achieved < 90% of offered, > 0.1% unanswered or busy/throttle-rejected,
 * p99 > 200 ms, p50 (> 5 ms) more than 10x the lowest rate's, or the p50 of the last
 * sub-window (> 5 ms) more than 5x the first's (a growing backlog).
 * Before each step the bench waits (bounded) for other processes to go quiet and
 * records how much CPU they took during the step ("others"; > 0.25 core = CONTENDED);
 * a contended step is measured again (E2E_RETRY_BUDGET, 3 per run), keeping the less
 * contended attempt.
 *
 * Environment: E2E_RATES (comma list), E2E_MAX_RATE, E2E_WARMUP_S (5), E2E_MEASURE_S (10),
 * E2E_DRAIN_S (5), E2E_SESSIONS (8), E2E_LOAD_WORKERS (2), E2E_INSTRUMENTS (2), E2E_REFINE (2),
 * E2E_COMPARE_RATE (default: 100K if sustained, else the lowest rate), E2E_SKIP_COMPARE=1,
 * E2E_SWEEP_DURABILITY / E2E_SWEEP_GATEWAYS (sweep another configuration),
 * E2E_QUIET_CORES (0.3) / E2E_QUIET_WAIT_S (15) / E2E_QUIET_BUDGET_S (60), E2E_RETRY_BUDGET (3),
 * E2E_TARGET_STEP=0 (skip the 100K point), E2E_VERBOSE=1
 * (per-250 ms server metrics), E2E_QUICK=1 (smoke: 1 s + 3 s, rates 10K and 50K),
 * E2E_PROFILE=<dir> (exchange runs with --cpu-prof into <dir>/<step>).
 *
 * Prints the machine header first; the last line is one JSON object (E2eHeadline).
 */
import path from 'node:path';
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { defaultConfig } from '../../core/runtime/config';
import { machineInfo, printMachine } from '../machine';
import { curve, formatMicros, merge, summarize } from './histogram';
import { machineTimes, round2, RunningExchange, sampleMetrics, startExchange, threadShares, threadTimes } from './exchange-process';
import type { E2eHeadline, GeneratorResult, GeneratorCounts, RunCommand, SessionSpec, StepResult } from './types';

const QUICK = process.env.E2E_QUICK === '1';
const envNumber = (name: string, fallback: number) => (process.env[name] !== undefined && process.env[name] !== '' ? Number(process.env[name]) : fallback);
const RATES = (process.env.E2E_RATES ?? (QUICK ? '10000,50000' : '10000,50000,100000,200000')).split(',').map(Number).filter((r) => r > 0);
const MAX_RATE = envNumber('E2E_MAX_RATE', QUICK ? 50_000 : 1_000_000);
const WARMUP_S = envNumber('E2E_WARMUP_S', QUICK ? 1 : 5);
const MEASURE_S = envNumber('E2E_MEASURE_S', QUICK ? 3 : 10);
const DRAIN_S = envNumber('E2E_DRAIN_S', 5);
const SESSIONS = envNumber('E2E_SESSIONS', 8);
const LOAD_WORKERS = Math.min(SESSIONS, envNumber('E2E_LOAD_WORKERS', 2));
const INSTRUMENTS = envNumber('E2E_INSTRUMENTS', 2);
const SUB_WINDOWS = 5;
const SKIP_COMPARE = process.env.E2E_SKIP_COMPARE === '1';
const PROFILE_DIR = process.env.E2E_PROFILE;
const SWEEP_DURABILITY = (process.env.E2E_SWEEP_DURABILITY ?? 'fsync') as 'fsync' | 'os' | 'none';
const SWEEP_GATEWAYS = envNumber('E2E_SWEEP_GATEWAYS', 2);
const VERBOSE = process.env.E2E_VERBOSE === '1';
/** Before each step, wait (bounded) for other processes to use at most this many cores. */
const QUIET_CORES = envNumber('E2E_QUIET_CORES', 0.3);
const QUIET_WAIT_S = envNumber('E2E_QUIET_WAIT_S', 15);
let quietBudgetS = envNumber('E2E_QUIET_BUDGET_S', 60);
/** A step during which other processes used more than this is flagged "contended". */
const CONTENDED_CORES = 0.25;
/** Contended steps re-run per bench run (the less contended attempt is kept). */
let retriesLeft = envNumber('E2E_RETRY_BUDGET', QUICK ? 0 : 3);

/** Targets (docs/performance.md): at 100K orders/s offered, fsync. */
const TARGET_P99_US = 1000;
const TARGET_P999_US = 5000;
const TARGET_KNEE = 200_000;
const TARGET_RATE = 100_000;
/** Measure the 100K point even when the sweep saturated below it (E2E_TARGET_STEP=0 skips it). */
const TARGET_STEP = process.env.E2E_TARGET_STEP !== undefined ? process.env.E2E_TARGET_STEP !== '0' : !QUICK;

/** Saturation rules (documented in docs/performance.md). */
const ACHIEVED_FLOOR = 0.9;
const MISSING_CEILING = 0.001;
/** p99 above this is saturation whatever the baseline. */
const P99_CEILING_US = 200_000;
/** p50 this many times the lowest rate's (and above the floor): requests queue. */
const GROWTH = 10;
const P50_FLOOR_US = 5_000;
/** p50 of the last sub-window this many times the first's (and above the floor): the backlog grows. */
const BACKLOG_GROWTH = 5;
/** Bisection steps between the last sustained rate and the first saturated one (E2E_REFINE). */
const REFINE = envNumber('E2E_REFINE', QUICK ? 0 : 2);

const MIX = '50% resting GTC limit 1-5 ticks behind the mid, 25% crossing IOC 10 ticks through, 25% cancel of the oldest live resting order (32..256 live per session)';

const instruments = defaultConfig().instruments;

function sessionSpecs(exchange: RunningExchange): SessionSpec[] {
  return Array.from({ length: SESSIONS }, (_, i) => {
    const keyId = 101 + i;
    const instrument = instruments[i % INSTRUMENTS];
    return {
      keyId, account: keyId, secret: secretOf(i), url: exchange.urlFor(keyId), instrument: instrument.id,
      referencePrice: instrument.referencePrice, seed: 1000 + i,
    };
  });
}

const secretOf = (i: number) => `bench-session-${String(i).padStart(3, '0')}-secret-0123456789abcdef`;

interface Generator {
  worker: Worker;
  ready: Promise<void>;
  result(): Promise<GeneratorResult>;
  logs: string[];
}

function startGenerator(workerIndex: number, sessions: SessionSpec[]): Generator {
  const worker = new Worker(path.join(__dirname, 'load-generator.js'), { workerData: { workerIndex, workerCount: LOAD_WORKERS, sessions } });
  const logs: string[] = [];
  let resolveResult: (r: GeneratorResult) => void = () => {};
  let rejectResult: (e: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (m: { type: string; message?: string; result?: GeneratorResult }) => {
      if (m.type === 'ready') resolve();
      else if (m.type === 'error') reject(new Error(m.message));
      else if (m.type === 'log') logs.push(String(m.message));
      else if (m.type === 'result') resolveResult(m.result!);
    });
    worker.on('error', (error) => {
      reject(error);
      rejectResult(error);
    });
  });
  return {
    worker, ready, logs,
    result: () => new Promise<GeneratorResult>((resolve, reject) => {
      resolveResult = resolve;
      rejectResult = reject;
    }),
  };
}

function addCounts(a: GeneratorCounts, b: GeneratorCounts): GeneratorCounts {
  const out = { ...a } as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(b)) {
    if (typeof value === 'number') out[key] = (out[key] as number) + value;
    else {
      const table = { ...(out[key] as Record<string, number>) };
      for (const [k, v] of Object.entries(value as Record<string, number>)) table[k] = (table[k] ?? 0) + v;
      out[key] = table;
    }
  }
  return out as unknown as GeneratorCounts;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Busy cores of the whole machine over `ms` (nothing of ours runs between steps). */
async function machineBusy(ms: number): Promise<number> {
  const a = machineTimes();
  await sleep(ms);
  const b = machineTimes();
  return b.total > a.total ? ((b.busy - a.busy) / (b.total - a.total)) * os.availableParallelism() : 0;
}

/** Waits (within the run's budget) until other processes leave the machine nearly idle; returns the last reading. */
async function waitQuiet(): Promise<number> {
  const started = Date.now();
  const deadline = started + Math.min(QUIET_WAIT_S, Math.max(0, quietBudgetS)) * 1000;
  let busy = await machineBusy(1000);
  while (busy > QUIET_CORES && Date.now() < deadline) busy = await machineBusy(1000);
  quietBudgetS -= Math.max(0, Date.now() - started - 1000) / 1000;
  return round2(busy);
}

async function runStep(label: string, durability: 'fsync' | 'os' | 'none', gatewayWorkers: number, rate: number): Promise<StepResult> {
  const backgroundBefore = await waitQuiet();
  const accounts = Array.from({ length: SESSIONS }, (_, i) => ({ account: 101 + i, keyId: 101 + i, apiSecret: secretOf(i) }));
  const exchange = await startExchange({
    durability, gatewayWorkers, accounts, throttlePerSecond: 1_000_000,
    nodeFlags: PROFILE_DIR !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${path.join(PROFILE_DIR, label.replace(/[^a-z0-9]+/gi, '-'))}`] : [],
  });
  const generators: Generator[] = [];
  try {
    const specs = sessionSpecs(exchange);
    const per = Math.ceil(SESSIONS / LOAD_WORKERS);
    for (let w = 0; w < LOAD_WORKERS; w++) generators.push(startGenerator(w, specs.slice(w * per, (w + 1) * per)));
    await Promise.all(generators.map((g) => g.ready));
    const results = generators.map((g) => g.result());
    const startEpochMs = Date.now() + 300;
    const command: RunCommand = {
      type: 'run', totalRate: rate, startEpochMs, warmupMs: WARMUP_S * 1000, measureMs: MEASURE_S * 1000, drainMs: DRAIN_S * 1000, subWindows: SUB_WINDOWS,
    };
    for (const g of generators) g.worker.postMessage(command);
    // CPU and metrics over the measured window.
    await sleep(startEpochMs + WARMUP_S * 1000 - Date.now());
    const server0 = threadTimes(exchange.pid);
    const client0 = process.cpuUsage();
    const machine0 = machineTimes();
    const t0 = process.hrtime.bigint();
    const metrics = sampleMetrics(exchange, 250);
    await sleep(MEASURE_S * 1000);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const server1 = threadTimes(exchange.pid);
    const client1 = process.cpuUsage(client0);
    const machine1 = machineTimes();
    const server = await metrics.stop();
    const all = await Promise.all(results);
    const counts = all.map((r) => r.counts).reduce(addCounts);
    const ack = merge(all.map((r) => r.histograms.ack));
    const fill = merge(all.map((r) => r.histograms.fill));
    const subWindows = Array.from({ length: SUB_WINDOWS }, (_, i) => {
      const h = merge(all.map((r) => r.histograms.subWindowAck[i]));
      return { p50: h.totalCount ? h.getValueAtPercentile(50) : 0, p99: h.totalCount ? h.getValueAtPercentile(99) : 0, count: h.totalCount };
    });
    const cores = os.availableParallelism();
    const step: StepResult = {
      label, durability, gatewayWorkers, offeredRate: rate,
      achievedRate: Math.round(counts.answersInWindow / MEASURE_S),
      sentRate: Math.round(counts.sentInWindow / MEASURE_S),
      warmupSeconds: WARMUP_S, measureSeconds: MEASURE_S, sessions: SESSIONS, loadWorkers: LOAD_WORKERS,
      ack: summarize(ack), fill: summarize(fill),
      cancel: summarize(merge(all.map((r) => r.histograms.cancel))),
      sendLag: summarize(merge(all.map((r) => r.histograms.sendLag))),
      ackFromSend: summarize(merge(all.map((r) => r.histograms.ackFromSend))),
      ackCurve: curve(ack), fillCurve: curve(fill), subWindows, counts,
      saturated: false, saturationReasons: [], contended: false,
      cpu: {
        serverProcess: round2((server1.total - server0.total) / seconds),
        serverThreads: threadShares(server0, server1, seconds, gatewayWorkers),
        clientProcess: round2((client1.user + client1.system) / 1e6 / seconds),
        clientWorkers: all.sort((a, b) => a.workerIndex - b.workerIndex).map((r) => round2(r.cpuSeconds / MEASURE_S)),
        machine: machine1.total > machine0.total ? round2(((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * cores) : 0,
        others: 0,
        backgroundBefore,
        loadAverage: round2(os.loadavg()[0]),
      },
      server,
    };
    step.cpu.others = round2(Math.max(0, step.cpu.machine - step.cpu.serverProcess - step.cpu.clientProcess));
    step.contended = step.cpu.others > CONTENDED_CORES;
    if (VERBOSE) console.log(`  series [s, durable lag, inbound, outbound, commands/s]: ${JSON.stringify(server.series)}`);
    const logs = generators.flatMap((g) => g.logs);
    if (logs.length > 0) console.log(`  client notes: ${logs.slice(0, 5).join(' | ')}${logs.length > 5 ? ` (+${logs.length - 5})` : ''}`);
    return step;
  } finally {
    for (const g of generators) g.worker.postMessage({ type: 'close' });
    await Promise.all(generators.map((g) => new Promise((resolve) => {
      const timer = setTimeout(() => void g.worker.terminate().then(resolve), 2000);
      g.worker.once('exit', () => {
        clearTimeout(timer);
        resolve(undefined);
      });
    })));
    const stopped = await exchange.stop();
    if (stopped.code !== 0) console.log(`  exchange stopped with ${stopped.code ?? stopped.signal} after ${stopped.ms} ms:\n    ${exchange.log.slice(-5).join('\n    ')}`);
  }
}

/** runStep, re-run once (within the retry budget) when other processes took the CPU meanwhile. */
async function measureStep(label: string, durability: 'fsync' | 'os' | 'none', gatewayWorkers: number, rate: number): Promise<StepResult> {
  const first = await runStep(label, durability, gatewayWorkers, rate);
  // A collapsed step (under half the offered rate answered) is not worth a second attempt.
  if (!first.contended || retriesLeft <= 0 || first.achievedRate < 0.5 * rate) return first;
  retriesLeft--;
  console.log(`  ${label}: other processes took ${first.cpu.others.toFixed(2)} cores during the window; measuring again`);
  const second = await runStep(label, durability, gatewayWorkers, rate);
  const kept = second.cpu.others < first.cpu.others ? second : first;
  kept.attempts = [first.cpu.others, second.cpu.others];
  return kept;
}

/** Applies the saturation rules; `baseline` is the sweep's first (lowest-rate) step. */
function judge(step: StepResult, baseline: StepResult | undefined): void {
  const reasons: string[] = [];
  if (step.achievedRate < ACHIEVED_FLOOR * step.offeredRate) reasons.push(`achieved ${step.achievedRate.toLocaleString('en-US')}/s < 90% of offered`);
  if (step.sentRate < ACHIEVED_FLOOR * step.offeredRate) reasons.push(`client wrote only ${step.sentRate.toLocaleString('en-US')}/s (client-bound)`);
  const missing = step.counts.unanswered / Math.max(1, step.counts.measuredScheduled);
  if (missing > MISSING_CEILING) reasons.push(`${step.counts.unanswered} requests unanswered after ${DRAIN_S} s`);
  const busy = Object.values(step.counts.sessionRejects).reduce((a, b) => a + b, 0);
  if (busy / Math.max(1, step.counts.measuredScheduled) > MISSING_CEILING) reasons.push(`${busy} session rejects ${JSON.stringify(step.counts.sessionRejects)}`);
  if (step.ack.p99 > P99_CEILING_US) reasons.push(`p99 ack ${formatMicros(step.ack.p99)} > ${formatMicros(P99_CEILING_US)}`);
  if (baseline !== undefined && baseline !== step && step.ack.p50 > P50_FLOOR_US && step.ack.p50 > GROWTH * baseline.ack.p50) {
    reasons.push(`p50 ack ${formatMicros(step.ack.p50)} > ${GROWTH}x the lowest rate's (queueing)`);
  }
  const windows = step.subWindows.filter((w) => w.count > 0);
  const first = windows[0];
  const last = windows[windows.length - 1];
  if (first !== undefined && last !== undefined && last !== first && last.p50 > P50_FLOOR_US && last.p50 > BACKLOG_GROWTH * first.p50) {
    reasons.push(`p50 grew from ${formatMicros(first.p50)} to ${formatMicros(last.p50)} over the window (backlog)`);
  }
  step.saturated = reasons.length > 0;
  step.saturationReasons = reasons;
}

const k = (n: number) => (n >= 1000 ? `${Math.round(n / 100) / 10}K`.replace('.0K', 'K') : String(n));
const pad = (s: string, n: number) => s.padStart(n);

function printHeaderRow(): void {
  console.log(`${'step'.padEnd(26)} ${pad('offered', 8)} ${pad('achieved', 9)} | ack ${['p50', 'p90', 'p99', 'p99.9', 'p99.99', 'max'].map((p) => pad(p, 8)).join('')} | fill ${['p50', 'p99', 'p99.9', 'max'].map((p) => pad(p, 8)).join('')} | ${pad('srv CPU', 7)} ${pad('cli CPU', 7)}`);
}

function printStep(step: StepResult): void {
  const a = step.ack;
  const f = step.fill;
  console.log(`${step.label.padEnd(26)} ${pad(k(step.offeredRate), 8)} ${pad(k(step.achievedRate), 9)} |     ${[a.p50, a.p90, a.p99, a.p999, a.p9999, a.max].map((v) => pad(formatMicros(v), 8)).join('')} |      ${[f.p50, f.p99, f.p999, f.max].map((v) => pad(formatMicros(v), 8)).join('')} | ${pad(step.cpu.serverProcess.toFixed(2), 7)} ${pad(step.cpu.clientProcess.toFixed(2), 7)}${step.saturated ? `  SATURATED: ${step.saturationReasons.join('; ')}` : ''}`);
  const c = step.counts;
  console.log(`${''.padEnd(26)} sent ${k(step.sentRate)}/s, send lag p50/p99 ${formatMicros(step.sendLag.p50)}/${formatMicros(step.sendLag.p99)}, ack from actual send p50/p99 ${formatMicros(step.ackFromSend.p50)}/${formatMicros(step.ackFromSend.p99)}, cancel p50/p99 ${formatMicros(step.cancel.p50)}/${formatMicros(step.cancel.p99)}; fills ${c.fills}, IOC unfilled ${c.iocUnfilled}, rejects ${c.orderRejected}${c.orderRejected ? ` ${JSON.stringify(c.orderRejectReasons)}` : ''}, cancel-rejected ${c.cancelRejected}, unanswered ${c.unanswered}; max durable lag ${step.server.maxDurableLagEvents} events, ${step.server.eventsPerCommand} events/command; CPU (cores): ${roles(step)}, client ${step.cpu.clientProcess.toFixed(2)}, other processes ${step.cpu.others.toFixed(2)} (${step.cpu.backgroundBefore.toFixed(2)} just before; load ${step.cpu.loadAverage})${step.contended ? ' CONTENDED' : ''}${step.attempts ? ` (kept the less contended of 2 attempts: others ${step.attempts.join(' / ')})` : ''}`);
}

/** Server CPU by inferred thread role, e.g. "gateway 0.28+0.27, journal 0.23, matcher 0.13". */
function roles(step: StepResult): string {
  const by = new Map<string, number[]>();
  for (const t of step.cpu.serverThreads) by.set(t.role, [...(by.get(t.role) ?? []), t.user + t.system]);
  const order = ['gateway', 'matcher', 'journal', 'journal?', 'main', 'other'];
  return order.filter((r) => by.has(r)).map((r) => `${r} ${by.get(r)!.map((v) => v.toFixed(2)).join('+')}`).join(', ');
}

async function main(): Promise<void> {
  const started = Date.now();
  const info = printMachine(machineInfo());
  console.log(`e2e bench: exchange in a child process, ${SESSIONS} sessions on ${LOAD_WORKERS} load-generator threads, ${INSTRUMENTS} instruments; ${WARMUP_S} s warm-up (excluded) + ${MEASURE_S} s measured per step, fresh exchange per step`);
  console.log(`mix: ${MIX}`);
  console.log(`latency = receive time - INTENDED send time (open loop, coordinated-omission corrected), µs; load average at start ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  printHeaderRow();

  const sweep: StepResult[] = [];
  const rates = [...RATES];
  const sweepStep = async (rate: number) => {
    const step = await measureStep(`${SWEEP_DURABILITY} gw${SWEEP_GATEWAYS} @${k(rate)}`, SWEEP_DURABILITY, SWEEP_GATEWAYS, rate);
    judge(step, sweep[0] ?? step);
    sweep.push(step);
    printStep(step);
    return step;
  };
  for (let i = 0; i < rates.length; i++) {
    const rate = rates[i];
    const step = await sweepStep(rate);
    if (step.saturated) break;
    if (i === rates.length - 1 && rate < MAX_RATE) rates.push(Math.min(MAX_RATE, Math.round((rate * 1.5) / 10_000) * 10_000));
  }
  // Locate the knee between the last sustained rate and the first saturated one.
  for (let r = 0; r < REFINE; r++) {
    const sustained = sweep.filter((s) => !s.saturated).map((s) => s.offeredRate);
    const saturated = sweep.filter((s) => s.saturated).map((s) => s.offeredRate);
    if (saturated.length === 0 || sustained.length === 0) break;
    const lo = Math.max(...sustained);
    const hi = Math.min(...saturated.filter((x) => x > lo));
    const mid = Math.round((lo + hi) / 2 / 5000) * 5000;
    if (!Number.isFinite(hi) || mid <= lo || mid >= hi) break;
    await sweepStep(mid);
  }
  // The targets are stated at 100K offered: measure that point even when the sweep saturated below it.
  if (TARGET_STEP && SWEEP_DURABILITY === 'fsync' && SWEEP_GATEWAYS === 2 && !sweep.some((s) => s.offeredRate === TARGET_RATE)) {
    console.log(`(the targets are stated at ${k(TARGET_RATE)} offered: measuring that point too)`);
    await sweepStep(TARGET_RATE);
  }
  sweep.sort((a, b) => a.offeredRate - b.offeredRate);
  let knee: number | null = null;
  for (const step of sweep) {
    if (step.saturated) break;
    knee = step.offeredRate;
  }
  const at100k = sweep.find((s) => s.offeredRate === TARGET_RATE);
  // Compare at 100K when sustained; otherwise at the lowest rate, well below the knee, where
  // the comparison measures the configuration and not queueing near saturation (and stays
  // the same rate from run to run, so bench:compare can match the steps).
  const defaultCompare = at100k !== undefined && !at100k.saturated ? TARGET_RATE : Math.min(...sweep.map((s) => s.offeredRate));
  const compareRate = envNumber('E2E_COMPARE_RATE', defaultCompare);
  const reuse = (durability: string, gw: number) => sweep.find((s) => s.offeredRate === compareRate && s.durability === durability && s.gatewayWorkers === gw);

  const durability: StepResult[] = [];
  const gateways: StepResult[] = [];
  if (!SKIP_COMPARE) {
    console.log(`\ncomparisons at ${k(compareRate)} orders/s offered`);
    printHeaderRow();
    for (const level of ['fsync', 'os', 'none'] as const) {
      let step = level === 'fsync' ? reuse('fsync', 2) : undefined;
      if (step === undefined) {
        step = await measureStep(`${level} gw2 @${k(compareRate)}`, level, 2, compareRate);
        judge(step, sweep[0]);
        printStep(step);
      } else console.log(`${step.label.padEnd(26)} (from the sweep, above)`);
      durability.push(step);
    }
    for (const gw of [1, 2]) {
      let step = reuse('fsync', gw) ?? durability.find((s) => s.durability === 'fsync' && s.gatewayWorkers === gw);
      if (step === undefined) {
        step = await measureStep(`fsync gw${gw} @${k(compareRate)}`, 'fsync', gw, compareRate);
        judge(step, sweep[0]);
        printStep(step);
      } else console.log(`${step.label.padEnd(26)} (from the sweep, above)`);
      gateways.push(step);
    }
  }

  const p99 = at100k?.ack.p99 ?? null;
  const p999 = at100k?.ack.p999 ?? null;
  console.log('\ntargets (100K orders/s offered, fsync, 2 gateway workers):');
  console.log(`  p99 order-to-ack   ${p99 === null ? 'not measured' : formatMicros(p99)}   target < 1 ms: ${p99 === null ? 'n/a' : p99 < TARGET_P99_US ? 'MET' : 'MISSED'}${at100k?.saturated ? ` (saturated: achieved ${k(at100k.achievedRate)}/s of ${k(at100k.offeredRate)}/s offered)` : ''}`);
  console.log(`  p99.9 order-to-ack ${p999 === null ? 'not measured' : formatMicros(p999)}   target < 5 ms: ${p999 === null ? 'n/a' : p999 < TARGET_P999_US ? 'MET' : 'MISSED'}`);
  const firstSaturated = sweep.find((s) => s.saturated);
  console.log(`  saturation knee    ${knee === null ? `below ${k(rates[0])}` : `${k(knee)} orders/s (highest offered rate sustained)`}${firstSaturated !== undefined ? `, saturated at ${k(firstSaturated.offeredRate)}` : ', no saturation up to the max rate'}   target > 200K: ${knee !== null && knee > TARGET_KNEE ? 'MET' : 'MISSED'}`);
  const headline: E2eHeadline = {
    bench: 'e2e', version: 1,
    machine: { cpu: info.cpuModel, cores: info.cores, node: info.node, os: `${info.os} ${info.arch}` },
    config: { warmupSeconds: WARMUP_S, measureSeconds: MEASURE_S, sessions: SESSIONS, loadWorkers: LOAD_WORKERS, instruments: INSTRUMENTS, mix: MIX },
    sweep, durability, gateways, kneeRate: knee, compareRate,
    targets: {
      at100kFsyncP99AckUs: p99, at100kFsyncP999AckUs: p999,
      p99Met: p99 === null ? null : p99 < TARGET_P99_US, p999Met: p999 === null ? null : p999 < TARGET_P999_US,
      kneeAbove200k: knee !== null && knee > TARGET_KNEE,
    },
    seconds: Math.round((Date.now() - started) / 1000),
  };
  console.log(JSON.stringify(headline));
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
