/**
 * The whole benchmark suite (`npm run bench`): runs every sub-benchmark that exists
 * (core, ring, journal, recovery, codec, audit, any other `bench:<name>` script such as
 * pipeline, then e2e), each as its own child process
 * from dist/ (the path its npm script runs, or dist/bench/<name>.bench.js), streams
 * its output, captures its final JSON line, and writes
 *
 *   bench/results/<YYYY-MM-DD>-<hostname>.json   machine header + every benchmark's JSON
 *   bench/results/<YYYY-MM-DD>-<hostname>.md     a markdown summary
 *
 * (a second run on the same day gets -2, -3, ... so earlier runs stay comparable).
 * A missing benchmark is skipped with a note; a failing one is recorded as failed and
 * the suite goes on. Every sub-benchmark stays runnable alone (`npm run bench:<name>`).
 *
 * Environment: SUITE_ONLY=core,e2e (subset), SUITE_SKIP=audit, SUITE_TIMEOUT_S (per
 * benchmark, default 420), SUITE_RESULTS_DIR (default bench/results), SUITE_COMMIT (the
 * commit to record when running from a copy outside the repository).
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { machineInfo, printMachine, MachineInfo } from './machine';
import { renderMarkdown } from './e2e/summary';

/** Suite order: cheap and independent first, the end-to-end run last. */
export const BENCHMARKS: readonly string[] = ['core', 'ring', 'journal', 'recovery', 'codec', 'audit', 'e2e'];
/** npm scripts named bench:<x> that are tools, not benchmarks. */
const NOT_BENCHMARKS = new Set(['report', 'compare']);

export interface BenchmarkOutcome {
  status: 'ok' | 'failed' | 'skipped';
  seconds: number;
  exitCode?: number | null;
  /** The benchmark's final JSON line, parsed. */
  json?: Record<string, unknown>;
  note?: string;
  command?: string;
}

export interface SuiteResult {
  suite: 'exchange-core bench';
  version: 1;
  generatedAt: string;
  hostname: string;
  commit: string;
  machine: MachineInfo;
  loadAverage: { start: number[]; end: number[] };
  seconds: number;
  benchmarks: Record<string, BenchmarkOutcome>;
}

// dist/bench/suite.js -> repository root
const ROOT = path.resolve(__dirname, '..', '..');

function scripts(): Record<string, string> {
  try {
    return (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
  } catch {
    return {};
  }
}

/** The known benchmarks, plus any other `bench:<name>` script added since (run before e2e). */
export function benchmarkNames(): string[] {
  const extra = Object.keys(scripts())
    .filter((k) => k.startsWith('bench:'))
    .map((k) => k.slice('bench:'.length))
    .filter((name) => !NOT_BENCHMARKS.has(name) && !BENCHMARKS.includes(name));
  return [...BENCHMARKS.filter((n) => n !== 'e2e'), ...extra, 'e2e'];
}

function scriptPath(name: string): { file: string; via: string } {
  const script = scripts()[`bench:${name}`];
  const fromScript = script === undefined ? null : /node\s+(dist\/\S+\.js)/.exec(script)?.[1] ?? null;
  if (fromScript !== null) return { file: path.join(ROOT, fromScript), via: `npm run bench:${name}` };
  const fallback = name === 'e2e' ? 'dist/bench/e2e/e2e.bench.js' : `dist/bench/${name}.bench.js`;
  return { file: path.join(ROOT, fallback), via: `node ${fallback}` };
}

function lastJsonLine(lines: string[]): Record<string, unknown> | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i].trim();
    if (!line.startsWith('{')) continue;
    try {
      const value = JSON.parse(line) as unknown;
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // not JSON: keep looking
    }
  }
  return undefined;
}

function runOne(name: string, timeoutS: number): Promise<BenchmarkOutcome> {
  const { file, via } = scriptPath(name);
  if (!existsSync(file)) return Promise.resolve({ status: 'skipped', seconds: 0, note: `${path.relative(ROOT, file)} not found (no such benchmark in this tree)` });
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    const lines: string[] = [];
    const tail: string[] = [];
    const onLine = (stream: 'out' | 'err') => (line: string) => {
      if (stream === 'out') lines.push(line);
      tail.push(line);
      if (tail.length > 20) tail.shift();
      // The final JSON line can be long: print it shortened, it is in the result file.
      process.stdout.write(`  [${name}] ${line.length > 400 ? `${line.slice(0, 400)}...` : line}\n`);
    };
    createInterface({ input: child.stdout! }).on('line', onLine('out'));
    createInterface({ input: child.stderr! }).on('line', onLine('err'));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    }, timeoutS * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const seconds = Math.round((Date.now() - started) / 100) / 10;
      const json = lastJsonLine(lines);
      if (code === 0 && json !== undefined) resolve({ status: 'ok', seconds, exitCode: code, json, command: via });
      else {
        const why = timedOut ? `timed out after ${timeoutS} s` : json === undefined ? 'no final JSON line' : `exit code ${code}`;
        resolve({ status: 'failed', seconds, exitCode: code, json, command: via, note: `${why}; last output: ${tail.slice(-3).join(' | ')}` });
      }
    });
  });
}

function gitCommit(): string {
  if (process.env.SUITE_COMMIT) return process.env.SUITE_COMMIT;
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

/** bench/results/<date>-<host>.json, or -2, -3, ... when that name is taken. */
function resultBase(dir: string, date: string, host: string): string {
  const base = `${date}-${host}`;
  if (!existsSync(path.join(dir, `${base}.json`))) return path.join(dir, base);
  for (let n = 2; ; n++) if (!existsSync(path.join(dir, `${base}-${n}.json`))) return path.join(dir, `${base}-${n}`);
}

async function main(): Promise<void> {
  const started = Date.now();
  const machine = printMachine(machineInfo());
  const only = (process.env.SUITE_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const skip = new Set((process.env.SUITE_SKIP ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  const timeoutS = Number(process.env.SUITE_TIMEOUT_S ?? '420');
  const loadStart = os.loadavg().map((l) => Math.round(l * 100) / 100);
  const names = benchmarkNames();
  console.log(`suite: ${names.join(', ')}; load average ${loadStart.join(' ')}\n`);
  const benchmarks: Record<string, BenchmarkOutcome> = {};
  for (const name of names) {
    if ((only.length > 0 && !only.includes(name)) || skip.has(name)) {
      benchmarks[name] = { status: 'skipped', seconds: 0, note: 'excluded by SUITE_ONLY/SUITE_SKIP' };
      continue;
    }
    console.log(`== ${name}`);
    const outcome = await runOne(name, timeoutS);
    benchmarks[name] = outcome;
    console.log(`== ${name}: ${outcome.status} in ${outcome.seconds} s${outcome.note ? ` (${outcome.note})` : ''}\n`);
  }
  const hostname = os.hostname();
  const now = new Date();
  const result: SuiteResult = {
    suite: 'exchange-core bench', version: 1, generatedAt: now.toISOString(), hostname, commit: gitCommit(), machine,
    loadAverage: { start: loadStart, end: os.loadavg().map((l) => Math.round(l * 100) / 100) },
    seconds: Math.round((Date.now() - started) / 1000), benchmarks,
  };
  const dir = process.env.SUITE_RESULTS_DIR ?? path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const base = resultBase(dir, now.toISOString().slice(0, 10), hostname.replace(/[^A-Za-z0-9._-]/g, '_'));
  writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(`${base}.md`, renderMarkdown(result));
  console.log(`results: ${path.relative(ROOT, base)}.json and .md (${result.seconds} s); render with npm run bench:report`);
  const summary = Object.fromEntries(Object.entries(benchmarks).map(([name, o]) => [name, o.status]));
  console.log(JSON.stringify({ bench: 'suite', file: `${path.relative(ROOT, base)}.json`, seconds: result.seconds, statuses: summary }));
}

if (require.main === module) {
  main().catch((error: Error) => {
    console.error(error.stack ?? error.message);
    process.exit(1);
  });
}
