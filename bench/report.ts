/**
 * Renders benchmark results into ONE static HTML file (`npm run bench:report`),
 * readable from disk without a server or network: every chart is an inline SVG
 * generated here, no scripts, no CDN.
 *
 *   npm run bench:report                       latest and previous run in bench/results/
 *   npm run bench:report -- latest.json [previous.json] [--out file.html]
 *
 * Contents: run headers; every benchmark's headline figures next to the previous
 * run's with the change and bench:compare's verdict; end to end: ack and fill
 * latency percentile curves per offered rate (previous run dashed), durability and
 * gateway-count comparisons, achieved vs offered throughput and p99 vs offered load,
 * and the per-step table with CPU attribution.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { compareResults, Comparison } from './compare';
import { e2eOf, e2eSteps, loadResult } from './e2e/summary';
import { formatMicros } from './e2e/histogram';
import type { CurvePoint, E2eHeadline, StepResult } from './e2e/types';
import type { SuiteResult } from './suite';

const ROOT = path.resolve(__dirname, '..', '..');
const RESULTS = path.join(ROOT, 'bench', 'results');
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const kRate = (n: number) => (n >= 1000 ? `${Math.round(n / 100) / 10}K` : String(n));

// ------------------------------------------------------------------ charts

interface Series {
  label: string;
  color: string;
  dashed?: boolean;
  points: Array<[number, number]>;
  markers?: boolean;
}

interface Axis {
  kind: 'linear' | 'log';
  min: number;
  max: number;
  ticks: Array<[number, string]>;
  label: string;
}

interface Chart {
  title: string;
  x: Axis;
  y: Axis;
  series: Series[];
  /** Extra reference lines: [x1, y1, x2, y2, label]. */
  guides?: Array<[number, number, number, number, string]>;
}

function scale(axis: Axis, value: number, from: number, to: number): number {
  const f = axis.kind === 'log'
    ? (Math.log10(Math.max(value, axis.min)) - Math.log10(axis.min)) / (Math.log10(axis.max) - Math.log10(axis.min))
    : (value - axis.min) / (axis.max - axis.min || 1);
  return from + Math.min(1.05, Math.max(-0.05, f)) * (to - from);
}

function svgChart(chart: Chart, width = 760, height = 380): string {
  const m = { left: 70, right: 170, top: 34, bottom: 48 };
  const x0 = m.left, x1 = width - m.right, y0 = height - m.bottom, y1 = m.top;
  const sx = (v: number) => scale(chart.x, v, x0, x1);
  const sy = (v: number) => scale(chart.y, v, y0, y1);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(chart.title)}">`);
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#fff"/>`);
  parts.push(`<text x="${x0}" y="20" font-size="14" font-weight="bold">${esc(chart.title)}</text>`);
  for (const [v, label] of chart.x.ticks) {
    const x = sx(v).toFixed(1);
    parts.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y1}" stroke="#e5e5e5"/><text x="${x}" y="${y0 + 16}" font-size="11" text-anchor="middle">${esc(label)}</text>`);
  }
  for (const [v, label] of chart.y.ticks) {
    const y = sy(v).toFixed(1);
    parts.push(`<line x1="${x0}" y1="${y}" x2="${x1}" y2="${y}" stroke="#e5e5e5"/><text x="${x0 - 6}" y="${Number(y) + 4}" font-size="11" text-anchor="end">${esc(label)}</text>`);
  }
  parts.push(`<rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}" fill="none" stroke="#999"/>`);
  parts.push(`<text x="${(x0 + x1) / 2}" y="${height - 8}" font-size="12" text-anchor="middle">${esc(chart.x.label)}</text>`);
  parts.push(`<text x="14" y="${(y0 + y1) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${(y0 + y1) / 2})">${esc(chart.y.label)}</text>`);
  for (const [gx1, gy1, gx2, gy2, label] of chart.guides ?? []) {
    parts.push(`<line x1="${sx(gx1).toFixed(1)}" y1="${sy(gy1).toFixed(1)}" x2="${sx(gx2).toFixed(1)}" y2="${sy(gy2).toFixed(1)}" stroke="#444" stroke-dasharray="2 4"/>`);
    if (label) parts.push(`<text x="${(sx(gx2) - 4).toFixed(1)}" y="${(sy(gy2) - 5).toFixed(1)}" font-size="11" text-anchor="end" fill="#444">${esc(label)}</text>`);
  }
  chart.series.forEach((s, i) => {
    if (s.points.length === 0) return;
    const d = s.points.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.dashed ? 1.5 : 2}"${s.dashed ? ' stroke-dasharray="6 4" opacity="0.75"' : ''}/>`);
    if (s.markers) for (const [x, y] of s.points) parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${s.color}"/>`);
    const ly = y1 + 6 + i * 17;
    parts.push(`<line x1="${x1 + 12}" y1="${ly}" x2="${x1 + 36}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/><text x="${x1 + 42}" y="${ly + 4}" font-size="11">${esc(s.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

const DECADE_LABELS: Record<number, string> = {
  1: '1 µs', 10: '10 µs', 100: '100 µs', 1000: '1 ms', 10000: '10 ms', 100000: '100 ms', 1000000: '1 s', 10000000: '10 s', 100000000: '100 s', 1000000000: '1000 s',
};

/** Log ticks 1, 10, 100 µs ... inside [min, max]. */
function microsTicks(min: number, max: number): Array<[number, string]> {
  const ticks: Array<[number, string]> = [];
  for (let v = 1; v <= max * 1.0001; v *= 10) if (v >= min * 0.9999) ticks.push([v, DECADE_LABELS[v] ?? formatMicros(v)]);
  return ticks;
}

function logRange(values: number[]): [number, number] {
  const positive = values.filter((v) => v > 0);
  if (positive.length === 0) return [1, 1000];
  const lo = 10 ** Math.floor(Math.log10(Math.min(...positive)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...positive)));
  return [lo, hi === lo ? hi * 10 : hi];
}

/** x position of a percentile: log10(1 / (1 - p)); the max sits half a decade past 99.999%. */
const percentileX = (p: number) => (p >= 100 ? 5.5 : Math.log10(1 / (1 - p / 100)));
const PERCENTILE_TICKS: Array<[number, string]> = [[0, '0%'], [1, '90%'], [2, '99%'], [3, '99.9%'], [4, '99.99%'], [5, '99.999%'], [5.5, 'max']];

function percentileChart(title: string, groups: Array<{ label: string; curve: CurvePoint[]; dashed?: boolean; color: string }>): string {
  const all = groups.flatMap((g) => g.curve.map(([, v]) => v));
  if (all.length === 0) return `<p><em>${esc(title)}: no samples.</em></p>`;
  const [lo, hi] = logRange(all);
  return svgChart({
    title,
    x: { kind: 'linear', min: 0, max: 5.5, ticks: PERCENTILE_TICKS, label: 'percentile' },
    y: { kind: 'log', min: lo, max: hi, ticks: microsTicks(lo, hi), label: 'latency (from intended send time)' },
    series: groups.map((g) => ({ label: g.label, color: g.color, dashed: g.dashed, points: g.curve.map(([p, v]): [number, number] => [percentileX(p), Math.max(v, lo)]) })),
  });
}

function curvesFor(steps: StepResult[], previous: StepResult[], which: 'ackCurve' | 'fillCurve', labelOf: (s: StepResult) => string) {
  const groups: Array<{ label: string; curve: CurvePoint[]; dashed?: boolean; color: string }> = [];
  steps.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    groups.push({ label: `${labelOf(s)}${s.saturated ? ' (sat.)' : ''}`, curve: s[which], color });
    const old = previous.find((p) => p.label === s.label);
    if (old !== undefined) groups.push({ label: `${labelOf(s)} prev`, curve: old[which], color, dashed: true });
  });
  return groups;
}

function throughputCharts(latest: E2eHeadline, previous: E2eHeadline | undefined): string {
  const sweep = latest.sweep;
  const prev = previous?.sweep ?? [];
  const maxRate = Math.max(...sweep.map((s) => Math.max(s.offeredRate, s.achievedRate)), ...prev.map((s) => s.offeredRate), 1);
  const rateTicks: Array<[number, string]> = [];
  const step = maxRate > 400_000 ? 100_000 : maxRate > 100_000 ? 50_000 : maxRate > 40_000 ? 10_000 : 5_000;
  for (let v = 0; v <= maxRate * 1.05; v += step) rateTicks.push([v, kRate(v)]);
  const series: Series[] = [{ label: 'achieved (latest)', color: PALETTE[0], markers: true, points: sweep.map((s) => [s.offeredRate, s.achievedRate]) }];
  if (prev.length > 0) series.push({ label: 'achieved (previous)', color: PALETTE[1], dashed: true, markers: true, points: prev.map((s) => [s.offeredRate, s.achievedRate]) });
  const throughput = svgChart({
    title: 'Achieved vs offered rate (orders/s)',
    x: { kind: 'linear', min: 0, max: maxRate * 1.05, ticks: rateTicks, label: 'offered orders/s' },
    y: { kind: 'linear', min: 0, max: maxRate * 1.05, ticks: rateTicks, label: 'achieved answers/s' },
    series,
    guides: [[0, 0, maxRate, maxRate, 'ideal'], [0, 0, maxRate, maxRate * 0.9, '90%']],
  });
  const p99s = [...sweep, ...prev].flatMap((s) => [s.ack.p50, s.ack.p99, s.ack.p999]);
  const [lo, hi] = logRange(p99s);
  const latencySeries: Series[] = [
    { label: 'ack p50', color: PALETTE[2], markers: true, points: sweep.map((s) => [s.offeredRate, Math.max(lo, s.ack.p50)]) },
    { label: 'ack p99', color: PALETTE[0], markers: true, points: sweep.map((s) => [s.offeredRate, Math.max(lo, s.ack.p99)]) },
    { label: 'ack p99.9', color: PALETTE[3], markers: true, points: sweep.map((s) => [s.offeredRate, Math.max(lo, s.ack.p999)]) },
  ];
  if (prev.length > 0) latencySeries.push({ label: 'ack p99 (previous)', color: PALETTE[0], dashed: true, markers: true, points: prev.map((s) => [s.offeredRate, Math.max(lo, s.ack.p99)]) });
  const latency = svgChart({
    title: 'Order-to-ack latency vs offered rate',
    x: { kind: 'linear', min: 0, max: maxRate * 1.05, ticks: rateTicks, label: 'offered orders/s' },
    y: { kind: 'log', min: lo, max: hi, ticks: microsTicks(lo, hi), label: 'latency' },
    series: latencySeries,
    guides: [[0, 1000, maxRate, 1000, 'target p99 1 ms'], [0, 5000, maxRate, 5000, 'target p99.9 5 ms']].filter(([, y]) => (y as number) >= lo && (y as number) <= hi) as Array<[number, number, number, number, string]>,
  });
  return `<div class="charts">${throughput}${latency}</div>`;
}

// ------------------------------------------------------------------ tables

function stepTable(steps: StepResult[], previous: StepResult[]): string {
  const head = '<tr><th>step</th><th>offered/s</th><th>achieved/s</th><th>ack p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>p99.99</th><th>max</th><th>fill p50</th><th>fill p99</th><th>fill p99.9</th><th>cancel p99</th><th>send lag p99</th><th>server CPU by thread</th><th>client CPU</th><th>others CPU</th><th>notes</th></tr>';
  const rows = steps.map((s) => {
    const old = previous.find((p) => p.label === s.label);
    const cell = (v: number, o: number | undefined) => `<td>${formatMicros(v)}${o !== undefined ? `<br><small>prev ${formatMicros(o)}</small>` : ''}</td>`;
    const threads = s.cpu.serverThreads.filter((t) => t.user + t.system >= 0.02).map((t) => `${t.role} ${(t.user + t.system).toFixed(2)}`).join(', ');
    return `<tr${s.saturated ? ' class="sat"' : ''}><td>${esc(s.label)}</td><td>${kRate(s.offeredRate)}</td><td>${kRate(s.achievedRate)}</td>${cell(s.ack.p50, old?.ack.p50)}${cell(s.ack.p90, old?.ack.p90)}${cell(s.ack.p99, old?.ack.p99)}${cell(s.ack.p999, old?.ack.p999)}${cell(s.ack.p9999, old?.ack.p9999)}${cell(s.ack.max, old?.ack.max)}${cell(s.fill.p50, old?.fill.p50)}${cell(s.fill.p99, old?.fill.p99)}${cell(s.fill.p999, old?.fill.p999)}${cell(s.cancel.p99, old?.cancel.p99)}${cell(s.sendLag.p99, old?.sendLag.p99)}<td>${esc(threads)} (total ${s.cpu.serverProcess.toFixed(2)})</td><td>${s.cpu.clientProcess.toFixed(2)}</td><td${s.contended ? ' class="bad"' : ''}>${(s.cpu.others ?? 0).toFixed(2)}${s.contended ? ' contended' : ''}</td><td>${esc(s.saturationReasons.join('; '))}</td></tr>`;
  });
  return `<table>${head}${rows.join('')}</table>`;
}

function comparisonTable(comparisons: Comparison[], bench: string): string {
  const rows = comparisons.filter((c) => c.name.startsWith(`${bench}.`) && !(bench === 'e2e'));
  if (rows.length === 0) return '';
  const fmt = (x: number) => (Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en-US') : String(Math.round(x * 1000) / 1000));
  return `<table><tr><th>figure</th><th>kind</th><th>previous</th><th>latest</th><th>change</th><th>verdict</th></tr>${rows.map((c) => `<tr class="${c.verdict.replace(' ', '-')}"><td>${esc(c.name.slice(bench.length + 1))}</td><td>${c.kind}</td><td>${fmt(c.baseline)}</td><td>${fmt(c.candidate)}</td><td>${Number.isFinite(c.change) ? `${c.change >= 0 ? '+' : ''}${(c.change * 100).toFixed(1)}%` : ''}</td><td>${c.verdict}${c.threshold ? ` (limit ${Math.round(c.threshold * 100)}%)` : ''}</td></tr>`).join('')}</table>`;
}

function figuresTable(json: Record<string, unknown>): string {
  const rows: string[] = [];
  const walk = (prefix: string, v: unknown, depth: number) => {
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') rows.push(`<tr><td>${esc(prefix)}</td><td>${esc(typeof v === 'number' ? v.toLocaleString('en-US') : String(v))}</td></tr>`);
    else if (v !== null && typeof v === 'object' && !Array.isArray(v) && depth < 3) for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(prefix ? `${prefix}.${k}` : k, x, depth + 1);
  };
  walk('', json, 0);
  return `<table><tr><th>figure</th><th>value</th></tr>${rows.join('')}</table>`;
}

// ------------------------------------------------------------------ page

function runHeader(label: string, r: SuiteResult, file: string): string {
  const m = r.machine;
  return `<tr><th>${label}</th><td>${esc(path.basename(file))}</td><td>${esc(r.generatedAt)}</td><td>${esc(r.commit)}</td><td>${esc(`${m?.cpuModel ?? '?'}, ${m?.cores ?? '?'} cores, Node ${m?.node ?? '?'}, ${m?.os ?? ''}`)}</td><td>${esc(r.loadAverage.start.join(' '))} → ${esc(r.loadAverage.end.join(' '))}</td></tr>`;
}

export function renderReport(latest: SuiteResult, latestFile: string, previous?: SuiteResult, previousFile?: string): string {
  const comparisons = previous !== undefined ? compareResults(previous, latest) : [];
  const e2e = e2eOf(latest);
  const e2ePrev = previous !== undefined ? e2eOf(previous) : undefined;
  const sections: string[] = [];
  if (e2e !== undefined) {
    const prevSteps = e2ePrev !== undefined ? e2eSteps(e2ePrev) : [];
    const sweepLabel = (s: StepResult) => `${kRate(s.offeredRate)}/s`;
    const regressions = comparisons.filter((c) => c.name.startsWith('e2e.') && c.verdict === 'regression');
    sections.push(`<h2 id="e2e">End to end</h2>
<p>${e2e.config.sessions} sessions on ${e2e.config.loadWorkers} load-generator threads, exchange in a child process; ${e2e.config.warmupSeconds} s warm-up excluded, ${e2e.config.measureSeconds} s measured per step, fresh exchange per step. Mix: ${esc(e2e.config.mix)}. Latency = receive time − <b>intended</b> send time (open loop, coordinated omission corrected). Knee: <b>${e2e.kneeRate === null ? 'below the lowest rate' : `${kRate(e2e.kneeRate)} orders/s`}</b>${e2ePrev !== undefined ? ` (previous ${e2ePrev.kneeRate === null ? 'below the lowest rate' : kRate(e2ePrev.kneeRate)})` : ''}. Targets at 100K fsync: p99 &lt; 1 ms <b>${e2e.targets.p99Met === null ? 'not measured' : e2e.targets.p99Met ? 'met' : 'missed'}</b>, p99.9 &lt; 5 ms <b>${e2e.targets.p999Met === null ? 'not measured' : e2e.targets.p999Met ? 'met' : 'missed'}</b>, knee &gt; 200K <b>${e2e.targets.kneeAbove200k ? 'met' : 'missed'}</b>.${e2ePrev !== undefined ? ` Compared with the previous run: ${regressions.length === 0 ? 'no regression beyond the noise thresholds' : `<b class="bad">${regressions.length} regression(s)</b>: ${regressions.map((r) => esc(r.name)).join(', ')}`}.` : ''}</p>
<div class="charts">${percentileChart('Order-to-ack latency by offered rate (fsync, 2 gateways)', curvesFor(e2e.sweep, prevSteps, 'ackCurve', sweepLabel))}${percentileChart('Order-to-fill latency (crossing IOC → first Trade)', curvesFor(e2e.sweep, prevSteps, 'fillCurve', sweepLabel))}</div>
${throughputCharts(e2e, e2ePrev)}
<div class="charts">${e2e.durability.length > 0 ? percentileChart(`Durability at ${kRate(e2e.compareRate)}/s: order-to-ack`, curvesFor(e2e.durability, prevSteps, 'ackCurve', (s) => s.durability)) : ''}${e2e.gateways.length > 0 ? percentileChart(`Gateway workers at ${kRate(e2e.compareRate)}/s: order-to-ack`, curvesFor(e2e.gateways, prevSteps, 'ackCurve', (s) => `${s.gatewayWorkers} gateway${s.gatewayWorkers > 1 ? 's' : ''}`)) : ''}</div>
<h3>Every step</h3>${stepTable(e2eSteps(e2e), prevSteps)}`);
  }
  for (const [name, outcome] of Object.entries(latest.benchmarks)) {
    if (name === 'e2e') continue;
    const body = outcome.status !== 'ok' || outcome.json === undefined
      ? `<p>${outcome.status}${outcome.note ? `: ${esc(outcome.note)}` : ''}</p>`
      : previous?.benchmarks[name]?.json !== undefined ? comparisonTable(comparisons, name) : figuresTable(outcome.json);
    sections.push(`<h2 id="${esc(name)}">${esc(name)}</h2><p><small>${outcome.command ? esc(outcome.command) : ''} ${outcome.seconds ? `— ${outcome.seconds} s` : ''}</small></p>${body}`);
  }
  const regressions = comparisons.filter((c) => c.verdict === 'regression');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>exchange-core benchmarks ${esc(latest.generatedAt.slice(0, 10))}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1600px}
table{border-collapse:collapse;margin:8px 0 20px;font-size:13px}th,td{border:1px solid #ddd;padding:3px 7px;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}th{background:#f4f4f4}
tr.sat td{background:#fff3f0}tr.regression td{background:#ffe5e5}tr.improved td{background:#e8f7e8}
.charts{display:flex;flex-wrap:wrap;gap:12px}.bad{color:#b00}small{color:#666}
</style></head><body>
<h1>exchange-core benchmark report</h1>
<table>${runHeader('latest', latest, latestFile)}${previous !== undefined ? runHeader('previous', previous, previousFile ?? '') : ''}</table>
<p>${previous === undefined ? 'No previous run to compare with.' : `Compared with the previous run (bench/compare.ts thresholds): <b${regressions.length ? ' class="bad"' : ''}>${regressions.length} regression(s)</b>, ${comparisons.filter((c) => c.verdict === 'improved').length} improved, ${comparisons.filter((c) => c.verdict === 'same').length} within noise.`} Figures come from a shared 2-core VM: read them with the load and "others CPU" columns in mind.</p>
<p>${Object.keys(latest.benchmarks).map((n) => `<a href="#${esc(n)}">${esc(n)}</a>`).join(' · ')}</p>
${sections.join('\n')}
<p><small>Generated by bench/report.ts from ${esc(path.basename(latestFile))}${previousFile ? ` and ${esc(path.basename(previousFile))}` : ''}.</small></p>
</body></html>
`;
}

/** Result files in bench/results, oldest first (by generatedAt, then name). */
export function resultFiles(dir = RESULTS): Array<{ file: string; result: SuiteResult }> {
  if (!existsSync(dir)) return [];
  const out: Array<{ file: string; result: SuiteResult }> = [];
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.json')) continue;
    try {
      const result = loadResult(path.join(dir, name));
      out.push({ file: path.join(dir, name), result });
    } catch {
      // not a result file
    }
  }
  return out.sort((a, b) => (a.result.generatedAt || '').localeCompare(b.result.generatedAt || '') || a.file.localeCompare(b.file));
}

function main(): number {
  const args = process.argv.slice(2);
  let out = path.join(RESULTS, 'report.html');
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--out') out = args[++i];
    else files.push(args[i]);
  }
  let latest: { file: string; result: SuiteResult };
  let previous: { file: string; result: SuiteResult } | undefined;
  if (files.length > 0) {
    latest = { file: files[0], result: loadResult(files[0]) };
    if (files[1] !== undefined) previous = { file: files[1], result: loadResult(files[1]) };
  } else {
    const all = resultFiles();
    if (all.length === 0) {
      console.error(`no result files in ${path.relative(ROOT, RESULTS)}: run npm run bench (or npm run bench:report -- <file.json>)`);
      return 2;
    }
    latest = all[all.length - 1];
    previous = all.length > 1 ? all[all.length - 2] : undefined;
  }
  writeFileSync(out, renderReport(latest.result, latest.file, previous?.result, previous?.file));
  console.log(`report: ${out} (latest ${path.basename(latest.file)}${previous ? `, previous ${path.basename(previous.file)}` : ''})`);
  return 0;
}

if (require.main === module) process.exitCode = main();
