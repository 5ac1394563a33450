/**
 * Reading suite result files: the markdown summary the suite writes next to its
 * JSON, and the flat list of comparable metrics that bench/compare.ts and
 * bench/report.ts share (name, value, which direction is better, how noisy).
 */
import { readFileSync } from 'node:fs';
import type { E2eHeadline, StepResult } from './types';
import { formatMicros } from './histogram';
import type { SuiteResult } from '../suite';

/** cpu: CPU cost per unit of work (lower is better), e.g. server CPU µs per order. */
export type MetricKind = 'throughput' | 'median' | 'tail' | 'cpu' | 'info';

export interface Metric {
  /** e.g. "core.engine.throughputCommandsPerSec" or "e2e.fsync gw2 @100K.ack.p99". */
  name: string;
  bench: string;
  value: number;
  kind: MetricKind;
  /** Relative noise measured inside the file itself (e2e sub-windows), 0 when unknown. */
  noise: number;
  /** A figure of a step that was saturated: reported, never judged. */
  saturated?: boolean;
  /** e2e: the step's offered rate. */
  rate?: number;
}

// ------------------------------------------------------------------ loading

/** Loads a suite result, or a bare benchmark JSON line (e.g. the e2e headline saved alone). */
export function loadResult(file: string): SuiteResult {
  const text = readFileSync(file, 'utf8').trim();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // a captured log: its last JSON line
    const line = text.split('\n').reverse().find((l) => l.trim().startsWith('{'));
    if (line === undefined) throw new Error(`${file}: no JSON found`);
    parsed = JSON.parse(line);
  }
  const value = parsed as Record<string, unknown>;
  if (value.suite !== undefined && value.benchmarks !== undefined) return value as unknown as SuiteResult;
  if (typeof value.bench === 'string') {
    return {
      suite: 'exchange-core bench', version: 1, generatedAt: '', hostname: '', commit: '', machine: value.machine as SuiteResult['machine'],
      loadAverage: { start: [], end: [] }, seconds: 0, benchmarks: { [value.bench]: { status: 'ok', seconds: 0, json: value } },
    };
  }
  throw new Error(`${file}: neither a suite result nor a benchmark JSON line`);
}

export function e2eOf(result: SuiteResult): E2eHeadline | undefined {
  const json = result.benchmarks.e2e?.json as unknown as E2eHeadline | undefined;
  return json?.bench === 'e2e' ? json : undefined;
}

/** Every distinct step of an e2e run (sweep, then comparisons not already in the sweep). */
export function e2eSteps(e2e: E2eHeadline): StepResult[] {
  const seen = new Set<string>();
  const steps: StepResult[] = [];
  for (const step of [...e2e.sweep, ...e2e.durability, ...e2e.gateways]) {
    if (seen.has(step.label)) continue;
    seen.add(step.label);
    steps.push(step);
  }
  return steps;
}

// ------------------------------------------------------------------ metrics

/** Path segments whose whole subtree is context, not a figure. */
const INFO_SECTIONS = /(^|\.)(machine|config|flow|targets?|parity|mix)\.|peer|baseline|naive|msgpackr|postMessage|ratio/i;
/** Last key segments that are context or a baseline, not a figure of ours (ratios to a peer move with the peer: the engine's own figures are judged instead). */
const INFO_KEY = /^(bench|file|version|seed|scale|cores|cpu|node|os|arch|kernel|v8|commands|events|records|symbols|books|tail_events|generation_s|events_per_record|eventsPerCommand|events_per_command)$|count|bytes|mib|cached|load|target|met$|Met$|share|timer|overhead|peer|naive|baseline|msgpackr|postMessage|max$|Max$/i;
const THROUGHPUT = /per_?s(ec)?\b|PerSec|perSec|_per_s$|per_cpu_s$|PerCpuSec$|rate|throughput|speedup|ratio|ops/i;
const LATENCY = /(_|[a-z])(us|ns|ms)$|Us$|Ns$|Ms$|_us_|_ms_|latency|p50|p90|p99|p999|median|mean/i;
const TAIL = /p99|p999|p9999/i;

/** Classifies a generic benchmark's key by name (the suite's benchmarks name their figures consistently). */
export function classify(key: string): MetricKind {
  const last = key.split('.').pop() ?? key;
  if (INFO_SECTIONS.test(key) || INFO_KEY.test(last)) return 'info';
  if (THROUGHPUT.test(last)) return 'throughput';
  if (LATENCY.test(key)) return TAIL.test(key) ? 'tail' : 'median';
  return 'info';
}

function flatten(prefix: string, value: unknown, out: Array<[string, number]>, depth: number): void {
  if (typeof value === 'number' && Number.isFinite(value)) out.push([prefix, value]);
  else if (value !== null && typeof value === 'object' && !Array.isArray(value) && depth < 4) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatten(prefix ? `${prefix}.${k}` : k, v, out, depth + 1);
  }
}

/** Relative spread (max - min) / median of the sub-window p99s of a step: the noise inside one run. */
export function subWindowNoise(step: StepResult, field: 'p50' | 'p99'): number {
  const values = step.subWindows.filter((w) => w.count > 0).map((w) => w[field]).sort((a, b) => a - b);
  if (values.length < 2) return 0;
  const median = values[Math.floor(values.length / 2)];
  return median > 0 ? (values[values.length - 1] - values[0]) / median : 0;
}

export function e2eMetrics(e2e: E2eHeadline): Metric[] {
  const metrics: Metric[] = [];
  for (const step of e2eSteps(e2e)) {
    const base = `e2e.${step.label}`;
    const saturated = step.saturated;
    metrics.push({ name: `${base}.ack.p50`, bench: 'e2e', value: step.ack.p50, kind: 'median', noise: subWindowNoise(step, 'p50'), saturated });
    metrics.push({ name: `${base}.ack.p99`, bench: 'e2e', value: step.ack.p99, kind: 'tail', noise: subWindowNoise(step, 'p99'), saturated });
    metrics.push({ name: `${base}.ack.p99.9`, bench: 'e2e', value: step.ack.p999, kind: 'tail', noise: subWindowNoise(step, 'p99'), saturated });
    metrics.push({ name: `${base}.fill.p99`, bench: 'e2e', value: step.fill.p99, kind: 'tail', noise: subWindowNoise(step, 'p99'), saturated });
    metrics.push({ name: `${base}.achievedRate`, bench: 'e2e', value: step.achievedRate, kind: 'throughput', noise: 0, saturated, rate: step.offeredRate });
    // Server CPU per answered order: much less sensitive to other processes than latency.
    if (step.achievedRate > 0) {
      metrics.push({ name: `${base}.serverCpuUsPerOrder`, bench: 'e2e', value: Math.round((step.cpu.serverProcess / step.achievedRate) * 1e7) / 10, kind: 'cpu', noise: 0, saturated });
    }
  }
  metrics.push({ name: 'e2e.kneeRate', bench: 'e2e', value: e2e.kneeRate ?? 0, kind: 'throughput', noise: 0 });
  return metrics;
}

export function extractMetrics(result: SuiteResult): Metric[] {
  const metrics: Metric[] = [];
  for (const [bench, outcome] of Object.entries(result.benchmarks)) {
    if (outcome.status !== 'ok' || outcome.json === undefined) continue;
    if (bench === 'e2e') {
      const e2e = e2eOf(result);
      if (e2e !== undefined) metrics.push(...e2eMetrics(e2e));
      continue;
    }
    const flat: Array<[string, number]> = [];
    flatten('', outcome.json, flat, 0);
    for (const [key, value] of flat) metrics.push({ name: `${bench}.${key}`, bench, value, kind: classify(key), noise: 0 });
  }
  return metrics;
}

// ------------------------------------------------------------------ markdown

const fmt = (n: number) => (Number.isInteger(n) ? n.toLocaleString('en-US') : Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : String(Math.round(n * 1000) / 1000));
const kRate = (n: number) => (n >= 1000 ? `${Math.round(n / 100) / 10}K` : String(n));

export function e2eMarkdownTable(steps: StepResult[]): string {
  const rows = steps.map((s) => `| ${s.label} | ${kRate(s.offeredRate)} | ${kRate(s.achievedRate)} | ${[s.ack.p50, s.ack.p90, s.ack.p99, s.ack.p999, s.ack.p9999, s.ack.max].map(formatMicros).join(' | ')} | ${[s.fill.p50, s.fill.p99, s.fill.p999, s.fill.max].map(formatMicros).join(' | ')} | ${s.cpu.serverProcess.toFixed(2)} / ${s.cpu.clientProcess.toFixed(2)} / ${(s.cpu.others ?? 0).toFixed(2)}${s.contended ? ' (contended)' : ''} | ${s.saturated ? `**saturated**: ${s.saturationReasons.join('; ')}` : ''} |`);
  return [
    '| step | offered/s | achieved/s | ack p50 | p90 | p99 | p99.9 | p99.99 | max | fill p50 | p99 | p99.9 | max | CPU server / client / others | |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

export function renderMarkdown(result: SuiteResult): string {
  const m = result.machine;
  const lines: string[] = [
    `# Benchmark suite, ${result.generatedAt.slice(0, 19).replace('T', ' ')} UTC, ${result.hostname}`,
    '',
    `- commit: ${result.commit}`,
    `- machine: ${m?.cpuModel ?? '?'}, ${m?.cores ?? '?'} cores, Node ${m?.node ?? '?'}, ${m?.os ?? '?'} ${m?.arch ?? ''}`,
    `- load average: ${result.loadAverage.start.join(' ')} at start, ${result.loadAverage.end.join(' ')} at end`,
    `- total: ${result.seconds} s`,
    '',
    '| benchmark | status | seconds | headline figures |',
    '|---|---|---|---|',
  ];
  for (const [name, outcome] of Object.entries(result.benchmarks)) {
    let headline = outcome.note ?? '';
    if (outcome.status === 'ok' && outcome.json !== undefined && name !== 'e2e') {
      const flat: Array<[string, number]> = [];
      flatten('', outcome.json, flat, 0);
      headline = flat.filter(([k]) => classify(k) !== 'info').slice(0, 10).map(([k, v]) => `${k}=${fmt(v)}`).join(', ');
    }
    if (name === 'e2e') {
      const e2e = e2eOf(result);
      if (e2e !== undefined) {
        headline = `knee ${e2e.kneeRate === null ? 'below the lowest rate' : `${kRate(e2e.kneeRate)}/s`}; 100K fsync p99 ack ${e2e.targets.at100kFsyncP99AckUs === null ? 'n/a' : formatMicros(e2e.targets.at100kFsyncP99AckUs)}`;
      }
    }
    lines.push(`| ${name} | ${outcome.status} | ${outcome.seconds} | ${headline.replace(/\|/g, '/')} |`);
  }
  const e2e = e2eOf(result);
  if (e2e !== undefined) {
    lines.push('', '## End to end', '', `${e2e.config.sessions} sessions, ${e2e.config.loadWorkers} load threads, ${e2e.config.warmupSeconds} s warm-up + ${e2e.config.measureSeconds} s measured per step; latency from the intended send time (µs/ms).`, '');
    lines.push(e2eMarkdownTable(e2eSteps(e2e)));
    lines.push('', `Knee: ${e2e.kneeRate === null ? 'below the lowest offered rate' : `${kRate(e2e.kneeRate)} orders/s`}. Targets at 100K fsync: p99 < 1 ms ${e2e.targets.p99Met === null ? 'n/a' : e2e.targets.p99Met ? 'met' : 'missed'}, p99.9 < 5 ms ${e2e.targets.p999Met === null ? 'n/a' : e2e.targets.p999Met ? 'met' : 'missed'}, knee > 200K ${e2e.targets.kneeAbove200k ? 'met' : 'missed'}.`);
  }
  return `${lines.join('\n')}\n`;
}
