/**
 * Compares two benchmark result files and flags regressions beyond the noise
 * (`npm run bench:compare -- baseline.json candidate.json`).
 *
 * Inputs: suite results (bench/results/*.json) or a bare benchmark JSON line saved to
 * a file (e.g. the e2e headline). Every comparable figure is classified by name
 * (bench/e2e/summary.ts): throughput (higher is better); median latency, tail latency
 * and CPU per order (lower is better); or info (context, peer/baseline figures, ratios
 * to a peer, single-sample maxima: printed with --all, never judged).
 *
 * A figure regresses when it is worse than the baseline by more than its threshold:
 *
 *   threshold = max(class threshold, 3 x the noise measured inside either file)
 *
 * Class thresholds are the largest change measured between runs of the SAME code on
 * the shared 2-core VM, rounded up (docs/performance.md, "Comparing runs"):
 * micro-benchmarks per benchmark (BENCH_THRESHOLDS; default throughput -15%, median
 * +30%, tail +100%), e2e median +200% (3x), e2e tail +250% (3.5x), e2e knee -45%, e2e
 * server CPU per order +40%. The in-file noise is the spread of an e2e step's 5 sub-window percentiles.
 * e2e latency differences under --floor-us (200 µs) are never regressions. A step that
 * saturated only in the candidate is a regression when its rate is below (1 - knee
 * threshold) x the baseline knee; a saturated step's latencies are not judged.
 *
 * Exit code: 0 no regression, 1 regression(s), 2 usage or input error.
 * Options: --throughput --median --tail (override every benchmark's), --e2e-median,
 * --e2e-tail, --knee, --cpu (fractions), --floor-us, --all (print every figure).
 */
import { e2eOf, extractMetrics, loadResult, Metric, MetricKind } from './e2e/summary';
import type { SuiteResult } from './suite';

export interface Thresholds {
  /** Throughput figures of the micro-benchmarks and e2e achieved rates: fraction lower. */
  throughput: number;
  /** Median latencies of the micro-benchmarks: fraction higher. */
  median: number;
  /** p99 and beyond of the micro-benchmarks: fraction higher. */
  tail: number;
  /** e2e median latencies (p50): fraction higher. */
  e2eMedian: number;
  /** e2e tail latencies (p99, p99.9): fraction higher. */
  e2eTail: number;
  /** e2e saturation knee: fraction lower. */
  knee: number;
  /** CPU per unit of work (e2e server CPU per order): fraction higher. */
  cpu: number;
  /** e2e latency differences below this (µs) are never regressions. */
  floorUs: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { throughput: 0.15, median: 0.3, tail: 1.0, e2eMedian: 2.0, e2eTail: 2.5, knee: 0.45, cpu: 0.4, floorUs: 200 };

/**
 * Per-benchmark (or per-figure) class thresholds: the largest change seen between two runs of the SAME
 * code on the shared 2-core VM (docs/performance.md, "Comparing runs"), rounded up.
 * A command-line threshold overrides these for its class.
 */
export const BENCH_THRESHOLDS: Readonly<Record<string, Partial<Pick<Thresholds, 'throughput' | 'median' | 'tail'>>>> = {
  core: { throughput: 0.15, median: 0.3, tail: 0.6 },
  ring: { throughput: 0.7, median: 0.5, tail: 1.0 },
  journal: { throughput: 0.25, tail: 0.5 },
  recovery: { throughput: 0.55, median: 0.5, tail: 0.6 },
  codec: { throughput: 0.5 },
  audit: { throughput: 0.25 },
  // a 200K-command timing, a few tens of ms: far noisier than the whole-flow figure
  'core.enginePrefixCommandsPerSec': { throughput: 0.45 },
  // a ring hop's p99 jumped 13 -> 212 µs between two runs of the same build: only a breakdown shows
  'ring.latencyP99Us': { tail: 20 },
  // a sub-millisecond timing on the calling thread: 0.32 -> 1.29 ms between runs of the same build
  'recovery.writer_calling_thread_ms_1m': { median: 4 },
};

export type Verdict = 'regression' | 'improved' | 'same' | 'info' | 'not judged';

export interface Comparison {
  name: string;
  kind: MetricKind;
  baseline: number;
  candidate: number;
  /** (candidate - baseline) / baseline */
  change: number;
  threshold: number;
  verdict: Verdict;
  note?: string;
}

function relative(a: number, b: number): number {
  if (a === 0) return b === 0 ? 0 : Infinity;
  return (b - a) / Math.abs(a);
}

export function compareResults(a: SuiteResult, b: SuiteResult, t: Thresholds = DEFAULT_THRESHOLDS, overridden: ReadonlySet<string> = new Set()): Comparison[] {
  const base = new Map(extractMetrics(a).map((m) => [m.name, m]));
  const baselineKnee = base.get('e2e.kneeRate')?.value ?? 0;
  const out: Comparison[] = [];
  for (const m of extractMetrics(b)) {
    const old = base.get(m.name);
    if (old === undefined) continue;
    const perBench = { ...(BENCH_THRESHOLDS[m.bench] ?? {}), ...(BENCH_THRESHOLDS[m.name] ?? {}) };
    const effective = { ...t };
    for (const key of ['throughput', 'median', 'tail'] as const) if (perBench[key] !== undefined && !overridden.has(key)) effective[key] = perBench[key]!;
    const c = judge(old, m, effective);
    // Newly saturated near the baseline's knee is the knee's noise (judged by e2e.kneeRate).
    if (c.note === 'saturated in the candidate only' && (m.rate ?? 0) > (1 - t.knee) * baselineKnee) {
      out.push({ ...c, verdict: 'not judged', note: 'saturated in the candidate only, within the knee threshold of the baseline knee' });
    } else out.push(c);
  }
  return out;
}

function judge(a: Metric, b: Metric, t: Thresholds): Comparison {
  const change = relative(a.value, b.value);
  const noise = Math.max(a.noise, b.noise);
  const c: Comparison = { name: b.name, kind: b.kind, baseline: a.value, candidate: b.value, change, threshold: 0, verdict: 'info' };
  if (b.kind === 'info') return c;
  const e2e = b.bench === 'e2e';
  if (b.name === 'e2e.kneeRate') {
    c.threshold = t.knee;
  } else if (a.saturated === true || b.saturated === true) {
    if (b.name.endsWith('.achievedRate') && b.saturated === true && a.saturated !== true) return { ...c, verdict: 'regression', note: 'saturated in the candidate only' };
    return { ...c, verdict: 'not judged', note: 'saturated step' };
  } else if (b.kind === 'throughput') {
    c.threshold = Math.max(t.throughput, 3 * noise);
  } else if (b.kind === 'cpu') {
    c.threshold = t.cpu;
  } else {
    const base = b.kind === 'tail' ? (e2e ? t.e2eTail : t.tail) : e2e ? t.e2eMedian : t.median;
    c.threshold = Math.max(base, 3 * noise);
  }
  const higherIsBetter = b.kind === 'throughput';
  const worse = higherIsBetter ? -change : change;
  const belowFloor = e2e && (b.kind === 'median' || b.kind === 'tail') && Math.abs(b.value - a.value) < t.floorUs;
  if (worse > c.threshold + 1e-9 && !belowFloor) return { ...c, verdict: 'regression' };
  // Improvement: the mirror image of the threshold (x(1 + t) worse <-> /(1 + t) better; -t lower <-> x1/(1 - t) higher).
  const mirror = higherIsBetter ? (c.threshold < 1 ? c.threshold / (1 - c.threshold) : Infinity) : c.threshold / (1 + c.threshold);
  if (-worse > mirror && !belowFloor) return { ...c, verdict: 'improved' };
  return { ...c, verdict: 'same' };
}

/** Other processes' CPU during the e2e steps: a run on a busy shared machine is not trustworthy. */
export function contamination(result: SuiteResult): number {
  const e2e = e2eOf(result);
  if (e2e === undefined) return 0;
  const others = e2e.sweep.map((s) => s.cpu.others ?? 0);
  return others.length === 0 ? 0 : Math.max(...others);
}

const pct = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%` : 'n/a');
const num = (x: number) => (Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en-US') : String(Math.round(x * 1000) / 1000));

function parseArgs(argv: string[]): { files: string[]; thresholds: Thresholds; overridden: Set<string>; all: boolean } {
  const thresholds = { ...DEFAULT_THRESHOLDS };
  const overridden = new Set<string>();
  const files: string[] = [];
  let all = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) throw new Error(`${arg} needs a non-negative number`);
      return v;
    };
    if (arg === '--throughput') thresholds.throughput = value();
    else if (arg === '--median') thresholds.median = value();
    else if (arg === '--tail') thresholds.tail = value();
    else if (arg === '--e2e-median') thresholds.e2eMedian = value();
    else if (arg === '--e2e-tail') thresholds.e2eTail = value();
    else if (arg === '--knee') thresholds.knee = value();
    else if (arg === '--cpu') thresholds.cpu = value();
    else if (arg === '--floor-us') thresholds.floorUs = value();
    else if (arg === '--all') all = true;
    else if (arg.startsWith('--')) throw new Error(`unknown option ${arg}`);
    else files.push(arg);
    if (['--throughput', '--median', '--tail'].includes(arg)) overridden.add(arg.slice(2));
  }
  return { files, thresholds, overridden, all };
}

function main(): number {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  if (args.files.length !== 2) {
    console.error('usage: npm run bench:compare -- <baseline.json> <candidate.json> [--throughput 0.15] [--median 0.3] [--tail 1.0] [--e2e-median 1.5] [--e2e-tail 2.0] [--knee 0.3] [--cpu 0.4] [--floor-us 200] [--all]');
    return 2;
  }
  let a: SuiteResult;
  let b: SuiteResult;
  try {
    a = loadResult(args.files[0]);
    b = loadResult(args.files[1]);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const t = args.thresholds;
  console.log(`baseline  ${args.files[0]} (${a.generatedAt || 'no date'}, commit ${a.commit || '?'})`);
  console.log(`candidate ${args.files[1]} (${b.generatedAt || 'no date'}, commit ${b.commit || '?'})`);
  const p = (x: number) => `${Math.round(x * 100)}%`;
  const per = Object.entries(BENCH_THRESHOLDS).filter(([name]) => !name.includes('.')).map(([name, v]) => `${name} ${Object.entries(v).filter(([k]) => !args.overridden.has(k)).map(([k, x]) => `${k} ${p(x)}`).join('/')}`).join(', ');
  console.log(`thresholds: throughput -${p(t.throughput)}, median +${p(t.median)}, tail +${p(t.tail)} (per benchmark: ${per}); e2e: median +${p(t.e2eMedian)}, tail +${p(t.e2eTail)}, knee -${p(t.knee)}, server CPU per order +${p(t.cpu)}, latency floor ${t.floorUs} µs (or 3x the in-file noise if larger)`);
  if (a.machine?.cpuModel !== b.machine?.cpuModel || a.machine?.cores !== b.machine?.cores) {
    console.log(`WARNING: different machines (${a.machine?.cpuModel} x${a.machine?.cores} vs ${b.machine?.cpuModel} x${b.machine?.cores}): figures are not comparable`);
  }
  for (const [label, r] of [['baseline', a], ['candidate', b]] as const) {
    const others = contamination(r);
    if (others > 0.25) console.log(`WARNING: other processes used up to ${others.toFixed(2)} cores during the ${label}'s e2e steps: re-run on a quiet machine before trusting a regression`);
  }
  const results = compareResults(a, b, t, args.overridden);
  const shown = results.filter((r) => args.all || r.verdict === 'regression' || r.verdict === 'improved');
  const width = Math.max(20, ...shown.map((r) => r.name.length));
  if (shown.length > 0) console.log(`\n${'figure'.padEnd(width)} ${'kind'.padEnd(10)} ${'baseline'.padStart(14)} ${'candidate'.padStart(14)} ${'change'.padStart(9)} ${'limit'.padStart(7)}  verdict`);
  for (const r of shown) {
    console.log(`${r.name.padEnd(width)} ${r.kind.padEnd(10)} ${num(r.baseline).padStart(14)} ${num(r.candidate).padStart(14)} ${pct(r.change).padStart(9)} ${(r.threshold ? `${Math.round(r.threshold * 100)}%` : '').padStart(7)}  ${r.verdict.toUpperCase()}${r.note ? ` (${r.note})` : ''}`);
  }
  const count = (v: Verdict) => results.filter((r) => r.verdict === v).length;
  const missing = extractMetrics(a).filter((m) => m.kind !== 'info' && !results.some((r) => r.name === m.name)).length;
  console.log(`\n${results.length} figures in both files: ${count('regression')} regression(s), ${count('improved')} improved, ${count('same')} within noise, ${count('not judged')} not judged (saturated), ${count('info')} informational${missing ? `; ${missing} baseline figure(s) absent from the candidate` : ''}`);
  return count('regression') > 0 ? 1 : 0;
}

if (require.main === module) process.exitCode = main();
