/**
 * The exchange under test, as a separate child process (`node dist/bin/exchange.js
 * --config <tmp json>`) with a temporary data directory, so the load generator and
 * the exchange never share an event loop. Plus what the driver samples while it
 * runs: /metrics, and per-thread CPU from /proc.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { defaultConfig } from '../../core/runtime/config';
import type { ServerSample } from './types';

export interface BenchAccount {
  account: number;
  keyId: number;
  apiSecret: string;
}

export interface ExchangeOptions {
  durability: 'fsync' | 'os' | 'none';
  gatewayWorkers: number;
  accounts: BenchAccount[];
  /** Per-session throttle (orders and cancels per second, and bursts). */
  throttlePerSecond: number;
  /** Extra node flags for the exchange (e.g. --cpu-prof). */
  nodeFlags?: string[];
}

export interface RunningExchange {
  pid: number;
  host: string;
  orderEntryBasePort: number;
  gatewayWorkers: number;
  httpPort: number;
  dataDirectory: string;
  /** Last log lines (for error reports). */
  log: string[];
  urlFor(keyId: number): string;
  stop(): Promise<{ code: number | null; signal: string | null; ms: number }>;
}

/** Funds per bench account: far more than the run can spend (deposit limit is 2^50). */
export const BENCH_DEPOSIT = 100_000_000_000_000;
export const BENCH_MAX_SHORT = 1_000_000_000;

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** A run of `count` consecutive free ports. */
async function freePorts(count: number, host: string): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 30_000 + Math.floor(Math.random() * 25_000);
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await portFree(base + i, host);
    if (ok) return base;
  }
  throw new Error('no free port range found');
}

export async function startExchange(options: ExchangeOptions): Promise<RunningExchange> {
  const host = '127.0.0.1';
  const dataDirectory = mkdtempSync(path.join(os.tmpdir(), 'exchange-e2e-'));
  // Ports: order entry base .. base+workers-1, market data, http.
  const base = await freePorts(options.gatewayWorkers + 2, host);
  const config = {
    dataDirectory: path.join(dataDirectory, 'data'),
    durability: options.durability,
    host,
    gatewayWorkers: options.gatewayWorkers,
    orderEntryBasePort: base,
    marketDataPort: base + options.gatewayWorkers,
    httpPort: base + options.gatewayWorkers + 1,
    demoFlow: false,
    throttle: {
      ordersPerSecond: options.throttlePerSecond, orderBurst: options.throttlePerSecond,
      cancelsPerSecond: options.throttlePerSecond, cancelBurst: options.throttlePerSecond,
    },
    demoAccounts: [
      { account: 1, type: 'cash', deposit: 0, keyId: 1, apiSecret: 'bench-fee-account-secret-0123456789', permissions: [] },
      ...options.accounts.map((a) => ({
        account: a.account, type: 'margin', deposit: BENCH_DEPOSIT, keyId: a.keyId, apiSecret: a.apiSecret,
        permissions: ['trade'], maxShortQuantity: BENCH_MAX_SHORT,
      })),
    ],
  };
  // Services outside the order-entry path that listen on fixed default ports (the retail
  // broker, when this tree has one) are switched off: a fixed port would collide, and the
  // bench measures the venue's order entry. Only keys this tree knows are written.
  const known = defaultConfig() as unknown as Record<string, unknown>;
  if ('brokerPort' in known) (config as Record<string, unknown>).brokerPort = 0;
  const configFile = path.join(dataDirectory, 'config.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  // dist/bench/e2e/exchange-process.js -> dist/bin/exchange.js
  const entry = path.resolve(__dirname, '..', '..', 'bin', 'exchange.js');
  const child: ChildProcess = spawn(process.execPath, [...(options.nodeFlags ?? []), entry, '--config', configFile], {
    cwd: dataDirectory, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, EXCHANGE_CONFIG: '' },
  });
  const log: string[] = [];
  const keep = (line: string) => {
    log.push(line);
    if (log.length > 60) log.shift();
  };
  let exited: { code: number | null; signal: string | null } | null = null;
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
  });
  createInterface({ input: child.stderr! }).on('line', keep);
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`exchange not ready within 60 s:\n${log.join('\n')}`)), 60_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      keep(line);
      if (line.includes('"exchange ready"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exit.then((e) => {
      clearTimeout(timer);
      reject(new Error(`exchange exited before ready (${e.code ?? e.signal}):\n${log.join('\n')}`));
    });
  });
  await ready;
  return {
    pid: child.pid!,
    host,
    orderEntryBasePort: base,
    gatewayWorkers: options.gatewayWorkers,
    httpPort: config.httpPort,
    dataDirectory,
    log,
    urlFor: (keyId) => `ws://${host}:${base + (keyId % options.gatewayWorkers)}`,
    async stop() {
      const started = Date.now();
      if (exited === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => {
          if (exited === null) child.kill('SIGKILL');
        }, 20_000);
        await exit;
        clearTimeout(timer);
      }
      const result = exited as unknown as { code: number | null; signal: string | null };
      rmSync(dataDirectory, { recursive: true, force: true });
      return { ...result, ms: Date.now() - started };
    },
  };
}

// ------------------------------------------------------------------ metrics

function get(url: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(body));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
  });
}

function gauge(text: string, name: string): number {
  const match = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
  return match === null ? NaN : Number(match[1]);
}

/** Polls /metrics every `everyMs` until stopped; keeps the maxima the report needs. */
export function sampleMetrics(exchange: RunningExchange, everyMs: number): { stop(): Promise<ServerSample> } {
  const sample: ServerSample = { maxDurableLagEvents: 0, maxInboundOccupancy: 0, maxOutboundOccupancy: 0, commandsProcessed: 0, journalRecords: 0, eventsPerCommand: 0, samples: 0, series: [] };
  let firstMatched = NaN;
  const opened = Date.now();
  let previous: [number, number] | null = null;
  let running = true;
  let firstCommands = NaN;
  let firstRecords = NaN;
  const loop = (async () => {
    while (running) {
      try {
        const text = await get(`http://${exchange.host}:${exchange.httpPort}/metrics`, 1000);
        sample.samples++;
        sample.maxDurableLagEvents = Math.max(sample.maxDurableLagEvents, gauge(text, 'exchange_journal_durable_lag_events') || 0);
        sample.maxInboundOccupancy = Math.max(sample.maxInboundOccupancy, gauge(text, 'exchange_inbound_ring_occupancy') || 0);
        sample.maxOutboundOccupancy = Math.max(sample.maxOutboundOccupancy, gauge(text, 'exchange_outbound_ring_occupancy') || 0);
        const commands = gauge(text, 'exchange_commands_processed_total');
        const records = gauge(text, 'exchange_journal_records_total');
        const at = (Date.now() - opened) / 1000;
        const rate = previous === null ? 0 : Math.round((commands - previous[1]) / Math.max(0.001, at - previous[0]));
        previous = [at, commands];
        sample.series.push([round2(at), gauge(text, 'exchange_journal_durable_lag_events') || 0, gauge(text, 'exchange_inbound_ring_occupancy') || 0,
          gauge(text, 'exchange_outbound_ring_occupancy') || 0, rate]);
        const matched = gauge(text, 'exchange_matched_sequence');
        if (Number.isNaN(firstCommands)) {
          firstCommands = commands;
          firstRecords = records;
          firstMatched = matched;
        }
        sample.commandsProcessed = commands - firstCommands;
        sample.journalRecords = records - firstRecords;
        if (sample.commandsProcessed > 0) sample.eventsPerCommand = round2((matched - firstMatched) / sample.commandsProcessed);
      } catch {
        // a busy exchange may answer late: skip the sample
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return sample;
    },
  };
}

// ------------------------------------------------------------------ CPU from /proc

export interface ThreadSample {
  user: number;
  system: number;
  /** read/write syscalls and bytes handed to the storage layer (/proc/<pid>/task/<tid>/io). */
  syscalls: number;
  writeBytes: number;
}

export interface ThreadTimes {
  pid: number;
  threads: Map<number, ThreadSample>;
  /** user + system seconds of the whole process. */
  total: number;
}

const HZ = 100;

function statTimes(file: string): [number, number] {
  const stat = readFileSync(file, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [Number(fields[11]) / HZ, Number(fields[12]) / HZ];
}

function ioOf(file: string): { syscalls: number; writeBytes: number } {
  try {
    const text = readFileSync(file, 'utf8');
    const value = (key: string) => Number(new RegExp(`^${key}: (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    return { syscalls: value('syscr') + value('syscw'), writeBytes: value('write_bytes') };
  } catch {
    return { syscalls: 0, writeBytes: 0 };
  }
}

export function threadTimes(pid: number): ThreadTimes {
  const threads = new Map<number, ThreadSample>();
  let total = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const [user, system] = statTimes(`/proc/${pid}/task/${tid}/stat`);
        threads.set(Number(tid), { user, system, ...ioOf(`/proc/${pid}/task/${tid}/io`) });
      } catch {
        // thread exited meanwhile
      }
    }
    const [u, s] = statTimes(`/proc/${pid}/stat`);
    total = u + s;
  } catch {
    // process gone
  }
  return { pid, threads, total };
}

/**
 * Busy share (1.0 = one core) of each server thread between two readings, busiest
 * first, with its role inferred from what it does (threads carry no names in Node 20):
 * main = the process's first thread; journal = the thread that writes most to storage;
 * gateway = the `gateways` threads with most read/write syscalls among the rest
 * (sockets); matcher = the busiest remaining thread (it makes no I/O syscalls at all);
 * other = V8 platform (GC) and libuv threads.
 */
export function threadShares(before: ThreadTimes, after: ThreadTimes, seconds: number, gateways: number): Array<{ tid: number; role: string; user: number; system: number }> {
  const rows: Array<{ tid: number; role: string; user: number; system: number; syscalls: number; writeBytes: number }> = [];
  for (const [tid, now] of after.threads) {
    const then = before.threads.get(tid) ?? { user: 0, system: 0, syscalls: 0, writeBytes: 0 };
    rows.push({
      tid, role: 'other', user: round2((now.user - then.user) / seconds), system: round2((now.system - then.system) / seconds),
      syscalls: now.syscalls - then.syscalls, writeBytes: now.writeBytes - then.writeBytes,
    });
  }
  const unlabeled = () => rows.filter((r) => r.role === 'other');
  const main = rows.find((r) => r.tid === after.pid);
  if (main !== undefined) main.role = 'main';
  const journal = unlabeled().sort((a, b) => b.writeBytes - a.writeBytes)[0];
  if (journal !== undefined && journal.writeBytes > 0) journal.role = 'journal';
  for (const r of unlabeled().sort((a, b) => b.syscalls - a.syscalls).slice(0, gateways)) if (r.syscalls > 0) r.role = 'gateway';
  if (journal === undefined || journal.writeBytes === 0) {
    // durability none may write nothing to storage during the window: the journal is then the next syscall-heavy thread
    const next = unlabeled().sort((a, b) => b.syscalls - a.syscalls)[0];
    if (next !== undefined && next.syscalls > 0) next.role = 'journal?';
  }
  const matcher = unlabeled().sort((a, b) => b.user + b.system - (a.user + a.system))[0];
  if (matcher !== undefined) matcher.role = 'matcher';
  return rows
    .sort((a, b) => b.user + b.system - (a.user + a.system))
    .filter((r) => r.user + r.system >= 0.01 || r.role !== 'other')
    .slice(0, 10)
    .map(({ tid, role, user, system }) => ({ tid, role, user, system }));
}

/** Busy jiffies and total jiffies of the whole machine (/proc/stat). */
export function machineTimes(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = v[3] + (v[4] ?? 0);
    const total = v.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

export const round2 = (x: number) => Math.round(x * 100) / 100;
