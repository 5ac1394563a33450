/**
 * `npm run bench:pipeline`: the in-process pipeline with real threads — producer
 * thread -> inbound ring -> matcher thread -> outbound ring -> journal thread
 * (embedded sqlite, fsync durability, group commit).
 *  1. Sustained throughput: the producer writes as fast as the ring takes commands;
 *     commands/s until every event is durable.
 *  2. Command-to-durable latency at a fixed offered rate (open loop; latency from
 *     the intended send time, so queueing behind a slow fsync is counted).
 * Baseline in the same run: the same commands through one thread with no journal
 * (what the pipeline costs on top of matching).
 */
import path from 'node:path';
import os from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { ExchangeCore } from '../core/runtime/exchange';
import { encodeCommand } from '../core/record-objects';
import { packSymbol } from '../core/schema';
import { formatMachine, machineInfo } from './machine';

const THROUGHPUT_COMMANDS = Number(process.env.PIPELINE_COMMANDS ?? 2_000_000);
const RATES = (process.env.PIPELINE_RATES ?? '100000').split(',').map(Number);
const LATENCY_SECONDS = Number(process.env.PIPELINE_SECONDS ?? 5);
const limits = { maxAccounts: 1024, maxOrders: 1 << 20, maxInstruments: 4 };

function addInstrument(core: ExchangeCore): void {
  const [symbolHead, symbolTail] = packSymbol('PIPE');
  core.submit(encodeCommand('AddInstrument', {
    instrument: 1, symbolHead, symbolTail, tickSize: 1, lotSize: 1, bandBasisPoints: 5000, maxOrderQuantity: 1e6,
    maxOrderNotional: 1e12, referencePrice: 10_000,
  }, 1));
}

function run<T>(file: string, data: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(path.join(__dirname, 'pipeline', file), { workerData: data });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

async function throughput(): Promise<{ commandsPerSec: number; eventsPerSec: number; seconds: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pipeline-bench-'));
  const core = new ExchangeCore({ dataDirectory: dir, durability: 'fsync', risk: false, limits });
  try {
    await core.start();
    addInstrument(core);
    await core.waitDurable(1);
    const intended = new SharedArrayBuffer(THROUGHPUT_COMMANDS * 8);
    const started = performance.now();
    await run('producer.js', { inbound: core.inbound.buffer, intended, count: THROUGHPUT_COMMANDS, ratePerSecond: 0, batch: 256 });
    while (core.control.commandsProcessed < THROUGHPUT_COMMANDS + 1) await new Promise((r) => setTimeout(r, 2));
    await core.waitDurable(core.control.matchedSequence, 120_000);
    const seconds = (performance.now() - started) / 1000;
    const events = core.control.matchedSequence;
    await core.stop();
    return { commandsPerSec: Math.round(THROUGHPUT_COMMANDS / seconds), eventsPerSec: Math.round(events / seconds), seconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface LatencyResult { p50: number; p90: number; p99: number; p999: number; max: number; samples: number }

async function latency(rate: number): Promise<LatencyResult & { rate: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pipeline-bench-'));
  const core = new ExchangeCore({ dataDirectory: dir, durability: 'fsync', risk: false, limits, extraConsumers: 1 });
  try {
    await core.start();
    const count = rate * LATENCY_SECONDS;
    const intended = new SharedArrayBuffer(count * 8);
    const tap = run<LatencyResult>('tap.js', {
      outbound: core.outbound.buffer, control: core.control.buffer, consumerIndex: 1, intended, count: count + 1, warmup: Math.floor(count / 5) + 1,
    });
    addInstrument(core);
    await run('producer.js', { inbound: core.inbound.buffer, intended, count, ratePerSecond: rate, batch: 64 });
    const result = await tap;
    await core.stop();
    return { rate, ...result };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(formatMachine());
  console.log(`pipeline: producer thread -> inbound ring -> matcher thread -> outbound ring -> journal thread (sqlite WAL, fsync)`);
  const t = await throughput();
  console.log(`throughput  ${t.commandsPerSec.toLocaleString()} commands/s durable (${t.eventsPerSec.toLocaleString()} events/s), ${THROUGHPUT_COMMANDS.toLocaleString()} commands in ${t.seconds.toFixed(2)} s   target >= 1,000,000: ${t.commandsPerSec >= 1e6 ? 'met' : 'MISSED'}`);
  const latencies = [];
  for (const rate of RATES) {
    const l = await latency(rate);
    latencies.push(l);
    console.log(`latency @ ${rate.toLocaleString()}/s command-to-durable (µs, from intended send time): p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  p99.9 ${l.p999}  max ${l.max}  (${l.samples} samples)${rate === 100_000 ? `   target p99 < 2,000 µs: ${l.p99 < 2000 ? 'met' : 'MISSED'}` : ''}`);
  }
  console.log(JSON.stringify({ bench: 'pipeline', machine: machineInfo(), durability: 'fsync', throughput: t, latencyMicros: latencies }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
