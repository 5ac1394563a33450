/**
 * Ring benchmark (`npm run bench:ring`): the rings alone between worker threads.
 *
 *   throughput  1P->1C and 3P->1C on the MPSC ring, 1P->3C on the SPMC ring, with a
 *               2-word and the 16-word command record, claims/polls in batches;
 *   latency     one record at a time, paced, producer stamp -> consumer receipt
 *               (process.hrtime, one monotonic clock for all threads);
 *   baseline    MessagePort.postMessage, one message per record, same count.
 *
 * This file is also the worker script (workerData.role says which part it plays).
 * The last line printed is one JSON object with the headline figures.
 */

import * as os from 'node:os';
import { MessageChannel, MessagePort, Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';
import { BusySpinWait, MpscRing, RecordHandler, SpmcConsumer, SpmcRing, WaitStrategy, defaultWaitStrategy } from '../core/ring';

/** Scale every count with RING_BENCH_SCALE (e.g. 0.1 for a smoke run). */
const SCALE = Number(process.env.RING_BENCH_SCALE ?? '1');
/** Records per throughput run, the same for the rings and the postMessage baseline. */
const THROUGHPUT_RECORDS = Math.round(6_000_000 * SCALE);
const LATENCY_RECORDS = Math.round(50_000 * SCALE);
/** Pause between latency records: long enough that the consumer goes back to sleep. */
const LATENCY_PACE_NS = 20_000;
/** Latency records not counted while the JIT compiles the paths under test. */
const LATENCY_WARMUP_RECORDS = Math.round(5_000 * SCALE);
const BATCH = 256;
const CAPACITY = 16_384;
const REPEATS = 3;
/** postMessage flow control: at most this many messages in flight (bounded memory). */
const POST_MESSAGE_WINDOW = 65_536;
const COMMAND_RECORD_WORDS = 16;
const WAIT_SLICE_MS = 1000;

// control cells shared by main and workers (one Int32Array per run)
const READY = 0;
const GO = 1;
const CONSUMED = 2;
const PACE = 3; // never notified: a cell to sleep on

type Role = 'mpsc-producer' | 'mpsc-consumer' | 'spmc-producer' | 'spmc-consumer' | 'pm-producer' | 'pm-consumer';

interface WorkerJob {
  role: Role;
  control: SharedArrayBuffer;
  ring?: SharedArrayBuffer;
  port?: MessagePort;
  producerId: number;
  records: number; // to send (producer) or to receive (consumer)
  latency: boolean; // paced single records with timestamps
  busySpin: boolean;
  clockBase: bigint;
}

interface WorkerResult {
  /** Consumers: sum of the counters received (proves every record arrived once). */
  checksum: number;
  latencyNs?: number[]; // [p50, p99, p999, max]
}

/**
 * One clock for all threads without allocating per reading: process.hrtime is
 * process-wide but allocates a BigInt; performance.now is allocation-free but
 * per-thread. Each thread measures its offset between the two once.
 */
let clockOffsetNs = 0;
const CLOCK_CALIBRATION_SAMPLES = 100;
function calibrateClock(base: bigint): void {
  let bracketMs = Infinity;
  for (let i = 0; i < CLOCK_CALIBRATION_SAMPLES; i++) {
    const beforeMs = performance.now();
    const hrNs = Number(process.hrtime.bigint() - base);
    const afterMs = performance.now();
    if (afterMs - beforeMs < bracketMs) { // the tightest bracket gives the truest offset
      bracketMs = afterMs - beforeMs;
      clockOffsetNs = hrNs - ((beforeMs + afterMs) / 2) * 1e6;
    }
  }
}
function nowNs(): number {
  return performance.now() * 1e6 + clockOffsetNs;
}

function waitForGo(control: Int32Array): void {
  Atomics.add(control, READY, 1);
  Atomics.notify(control, READY);
  while (Atomics.load(control, GO) === 0) Atomics.wait(control, GO, 0, WAIT_SLICE_MS);
}

/**
 * Sleeps between latency records. Sleeping, not spinning: on 2 cores a spinning
 * producer leaves the consumer sharing one core with every other thread, and the
 * scheduler's millisecond slices would then be what the percentiles measure.
 */
function pace(control: Int32Array): void {
  Atomics.wait(control, PACE, 0, LATENCY_PACE_NS / 1e6);
}

function latencyHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: 3 });
}

let latencySeen = 0;
function recordLatency(histogram: hdr.Histogram, latencyNs: number): void {
  if (latencySeen++ >= LATENCY_WARMUP_RECORDS) histogram.recordValue(Math.max(1, Math.round(latencyNs)));
}

function percentiles(histogram: hdr.Histogram): number[] {
  return [50, 99, 99.9].map((p) => histogram.getValueAtPercentile(p)).concat(histogram.maxValue);
}

/** Records each worker pushes through a private ring before GO, so the JIT has settled. */
const WARM_UP_RECORDS = 1_000_000;

function warmUpMpsc(recordWords: number, handler: RecordHandler): void {
  const ring = MpscRing.create(BATCH * 4, recordWords);
  for (let sent = 0; sent < WARM_UP_RECORDS; sent += BATCH) {
    ring.tryClaimBatch(BATCH, 0);
    for (let i = 0; i < BATCH; i++) {
      const offset = ring.claimedOffset(i);
      for (let w = 0; w < recordWords; w++) ring.words[offset + w] = 0;
    }
    ring.publish();
    ring.poll(handler, BATCH);
  }
}

function warmUpSpmc(recordWords: number): void {
  const ring = SpmcRing.create(BATCH * 4, recordWords, 1);
  const consumer = SpmcConsumer.attach(ring.buffer, 0);
  let checksum = 0;
  for (let sent = 0; sent < WARM_UP_RECORDS; sent += BATCH) {
    ring.tryClaim(BATCH, 0);
    for (let i = 0; i < BATCH; i++) ring.words[ring.claimedOffset(i)] = i;
    ring.publish();
    const from = consumer.nextSequence;
    const to = consumer.waitFor(from, 0);
    for (let i = 0, count = to - from; i < count; i++) checksum += consumer.words[consumer.offsetOf(from + i)];
    consumer.release(to);
  }
  if (checksum < 0) throw new Error('unreachable: keeps the loop from being optimized away');
}

function mpscProducer(job: WorkerJob, control: Int32Array, wait: WaitStrategy): WorkerResult {
  const ring = MpscRing.attach(job.ring!, { waitStrategy: wait });
  const words = ring.words;
  const recordWords = ring.recordWords;
  if (!job.latency) warmUpMpsc(recordWords, () => {});
  waitForGo(control);
  let sent = 0;
  while (sent < job.records) {
    const count = job.latency ? 1 : Math.min(BATCH, job.records - sent);
    ring.tryClaimBatch(count, Infinity);
    const stampNs = job.latency ? nowNs() : 0;
    for (let i = 0; i < count; i++) {
      const offset = ring.claimedOffset(i);
      words[offset] = job.producerId;
      words[offset + 1] = job.latency ? stampNs : sent + i;
      for (let w = 2; w < recordWords; w++) words[offset + w] = w;
    }
    ring.publish();
    sent += count;
    if (job.latency) pace(control);
  }
  return { checksum: sent };
}

function mpscConsumer(job: WorkerJob, control: Int32Array, wait: WaitStrategy): WorkerResult {
  const ring = MpscRing.attach(job.ring!, { waitStrategy: wait });
  const histogram = job.latency ? latencyHistogram() : undefined;
  const checksum = new Float64Array(1); // a captured `let` number would be boxed per record
  const handler = histogram
    ? (words: Float64Array, offset: number) => { recordLatency(histogram, nowNs() - words[offset + 1]); }
    : (words: Float64Array, offset: number) => { checksum[0] += words[offset + 1]; };
  if (!histogram) warmUpMpsc(ring.recordWords, handler);
  checksum[0] = 0;
  waitForGo(control);
  let received = 0;
  while (received < job.records) {
    const count = ring.poll(handler, BATCH);
    if (count === 0) ring.waitForRecords(WAIT_SLICE_MS);
    received += count;
  }
  return { checksum: checksum[0], latencyNs: histogram && percentiles(histogram) };
}

function spmcProducer(job: WorkerJob, control: Int32Array, wait: WaitStrategy): WorkerResult {
  const ring = SpmcRing.attach(job.ring!, { waitStrategy: wait });
  const words = ring.words;
  const recordWords = ring.recordWords;
  warmUpSpmc(recordWords);
  waitForGo(control);
  let sent = 0;
  while (sent < job.records) {
    const count = Math.min(BATCH, job.records - sent);
    ring.tryClaim(count, Infinity);
    for (let i = 0; i < count; i++) {
      const offset = ring.claimedOffset(i);
      words[offset] = 0;
      words[offset + 1] = sent + i;
      for (let w = 2; w < recordWords; w++) words[offset + w] = w;
    }
    ring.publish();
    sent += count;
  }
  return { checksum: sent };
}

function spmcConsumer(job: WorkerJob, control: Int32Array, wait: WaitStrategy): WorkerResult {
  const consumer = SpmcConsumer.attach(job.ring!, job.producerId, { waitStrategy: wait });
  const words = consumer.words;
  warmUpSpmc(consumer.recordWords);
  waitForGo(control);
  let checksum = 0;
  let received = 0;
  while (received < job.records) {
    const from = consumer.nextSequence;
    const to = Math.min(consumer.waitFor(from, WAIT_SLICE_MS), from + BATCH);
    for (let i = 0, count = to - from; i < count; i++) checksum += words[consumer.offsetOf(from + i) + 1];
    consumer.release(to);
    received += to - from;
  }
  return { checksum };
}

function postMessageProducer(job: WorkerJob, control: Int32Array): WorkerResult {
  const port = job.port!;
  waitForGo(control);
  for (let sent = 0; sent < job.records; sent++) {
    while (sent - Atomics.load(control, CONSUMED) >= POST_MESSAGE_WINDOW) Atomics.wait(control, CONSUMED, Atomics.load(control, CONSUMED), 1);
    const stampNs = job.latency ? nowNs() : sent;
    port.postMessage([job.producerId, stampNs]);
    if (job.latency) pace(control);
  }
  return { checksum: job.records };
}

function postMessageConsumer(job: WorkerJob, control: Int32Array, done: (result: WorkerResult) => void): void {
  const port = job.port!;
  const histogram = job.latency ? latencyHistogram() : undefined;
  let received = 0;
  let checksum = 0;
  port.on('message', (message: number[]) => {
    if (histogram) recordLatency(histogram, nowNs() - message[1]);
    else checksum += message[1];
    received++;
    if ((received & 1023) === 0 || received === job.records) {
      Atomics.store(control, CONSUMED, received);
      Atomics.notify(control, CONSUMED);
    }
    if (received === job.records) {
      port.close();
      done({ checksum, latencyNs: histogram && percentiles(histogram) });
    }
  });
  // Signal readiness without blocking: this thread needs its event loop to receive.
  Atomics.add(control, READY, 1);
  Atomics.notify(control, READY);
}

function workerMain(): void {
  const job = workerData as WorkerJob;
  const control = new Int32Array(job.control);
  calibrateClock(job.clockBase);
  const wait: WaitStrategy = job.busySpin ? new BusySpinWait() : defaultWaitStrategy();
  const reply = (result: WorkerResult) => parentPort!.postMessage(result);
  switch (job.role) {
    case 'mpsc-producer': return reply(mpscProducer(job, control, wait));
    case 'mpsc-consumer': return reply(mpscConsumer(job, control, wait));
    case 'spmc-producer': return reply(spmcProducer(job, control, wait));
    case 'spmc-consumer': return reply(spmcConsumer(job, control, wait));
    case 'pm-producer': return reply(postMessageProducer(job, control));
    case 'pm-consumer': return postMessageConsumer(job, control, reply);
  }
}

// ---- main thread --------------------------------------------------------------

interface RunSpec {
  producers: number;
  consumers: number;
  kind: 'mpsc' | 'spmc' | 'pm';
  recordWords: number;
  records: number;
  latency: boolean;
  busySpin: boolean;
}

interface RunResult {
  msgsPerSec: number;
  latencyNs?: number[];
}

async function run(spec: RunSpec): Promise<RunResult> {
  const control = new SharedArrayBuffer(64);
  const controlCells = new Int32Array(control);
  const clockBase = process.hrtime.bigint();
  let ring: SharedArrayBuffer | undefined;
  if (spec.kind === 'mpsc') ring = MpscRing.create(CAPACITY, spec.recordWords).buffer;
  if (spec.kind === 'spmc') ring = SpmcRing.create(CAPACITY, spec.recordWords, spec.consumers).buffer;
  const channel = spec.kind === 'pm' ? new MessageChannel() : undefined;
  const jobs: WorkerJob[] = [];
  const perProducer = Math.floor(spec.records / spec.producers);
  const total = perProducer * spec.producers;
  for (let p = 0; p < spec.producers; p++) {
    jobs.push({ role: `${spec.kind}-producer` as Role, control, ring, port: channel?.port1, producerId: p, records: perProducer,
      latency: spec.latency, busySpin: spec.busySpin, clockBase });
  }
  for (let c = 0; c < spec.consumers; c++) {
    jobs.push({ role: `${spec.kind}-consumer` as Role, control, ring, port: channel?.port2, producerId: c, records: total,
      latency: spec.latency, busySpin: spec.busySpin, clockBase });
  }
  const results = jobs.map((job) => startWorker(job));
  while (Atomics.load(controlCells, READY) < jobs.length) await new Promise((resolve) => setTimeout(resolve, 5));
  const startMs = performance.now();
  Atomics.store(controlCells, GO, 1);
  Atomics.notify(controlCells, GO);
  const finished = await Promise.all(results);
  // Wall time from GO to the last consumer's reply: includes every thread, no cherry-picking.
  const elapsedMs = performance.now() - startMs;
  const consumerResults = finished.slice(spec.producers);
  if (!spec.latency) {
    // Counters are 0..n-1 per producer (SPMC: 0..total-1): every record arrived exactly once.
    const expected = spec.kind === 'spmc' ? (total * (total - 1)) / 2 : spec.producers * ((perProducer * (perProducer - 1)) / 2);
    for (const result of consumerResults) {
      if (result.checksum !== expected) throw new Error(`${spec.kind} checksum ${result.checksum}, expected ${expected}: records lost or duplicated`);
    }
  }
  return { msgsPerSec: (total / elapsedMs) * 1000, latencyNs: consumerResults[0].latencyNs };
}

function startWorker(job: WorkerJob): Promise<WorkerResult> {
  const transferList = job.port ? [job.port] : [];
  const worker = new Worker(__filename, { workerData: job, transferList });
  return new Promise((resolve, reject) => {
    worker.once('message', (result: WorkerResult) => { void worker.terminate(); resolve(result); });
    worker.once('error', reject);
  });
}

async function medianRun(spec: RunSpec): Promise<RunResult> {
  const runs: RunResult[] = [];
  for (let i = 0; i < REPEATS; i++) runs.push(await run(spec));
  runs.sort((a, b) => a.msgsPerSec - b.msgsPerSec);
  return runs[Math.floor(REPEATS / 2)];
}

const millions = (perSec: number) => `${(perSec / 1e6).toFixed(1)}M/s`;
const micros = (ns: number[]) => ns.map((v) => (v / 1000).toFixed(1)).join(' / ');

async function main(): Promise<void> {
  const cpus = os.cpus();
  // The load average matters on a 2-core machine: other processes take the cores the threads need.
  const loadAverage = os.loadavg()[0];
  console.log(`machine: ${cpus[0]?.model ?? 'unknown'}, ${cpus.length} cores, node ${process.version}, ${os.type()} ${os.release()} ${os.arch()}, load average ${loadAverage.toFixed(2)}`);
  console.log(`ring capacity ${CAPACITY}, batch ${BATCH}, ${THROUGHPUT_RECORDS} records per throughput run, median of ${REPEATS}`);
  const base = { latency: false, busySpin: false, records: THROUGHPUT_RECORDS };
  const figures: Record<string, number> = {};
  const throughput: [string, RunSpec][] = [
    ['mpsc 1P->1C  2 words', { ...base, kind: 'mpsc', producers: 1, consumers: 1, recordWords: 2 }],
    ['mpsc 1P->1C 16 words', { ...base, kind: 'mpsc', producers: 1, consumers: 1, recordWords: COMMAND_RECORD_WORDS }],
    ['mpsc 3P->1C  2 words', { ...base, kind: 'mpsc', producers: 3, consumers: 1, recordWords: 2 }],
    ['mpsc 3P->1C 16 words', { ...base, kind: 'mpsc', producers: 3, consumers: 1, recordWords: COMMAND_RECORD_WORDS }],
    ['spmc 1P->3C 16 words', { ...base, kind: 'spmc', producers: 1, consumers: 3, recordWords: COMMAND_RECORD_WORDS }],
  ];
  for (const [name, spec] of throughput) {
    const result = await medianRun(spec);
    figures[name] = result.msgsPerSec;
    console.log(`${name}: ${millions(result.msgsPerSec)}`);
  }
  const postMessage = await medianRun({ kind: 'pm', producers: 1, consumers: 1, recordWords: 2, records: THROUGHPUT_RECORDS, latency: false, busySpin: false });
  console.log(`postMessage 1P->1C (one message per record, same count): ${millions(postMessage.msgsPerSec)}`);

  const latencySpecs: [string, RunSpec][] = [
    ['mpsc spin-then-block', { kind: 'mpsc', producers: 1, consumers: 1, recordWords: 2, records: LATENCY_RECORDS, latency: true, busySpin: false }],
    ['mpsc busy-spin      ', { kind: 'mpsc', producers: 1, consumers: 1, recordWords: 2, records: LATENCY_RECORDS, latency: true, busySpin: true }],
    ['postMessage         ', { kind: 'pm', producers: 1, consumers: 1, recordWords: 2, records: LATENCY_RECORDS, latency: true, busySpin: false }],
  ];
  console.log(`per-hop latency, one record, then a ${LATENCY_PACE_NS / 1000} us sleep, ${LATENCY_RECORDS} records, first ${LATENCY_WARMUP_RECORDS} not counted (p50 / p99 / p99.9 / max, us):`);
  const latency: Record<string, number[]> = {};
  for (const [name, spec] of latencySpecs) {
    const result = await run(spec);
    latency[name.trim()] = result.latencyNs!;
    console.log(`  ${name}: ${micros(result.latencyNs!)}`);
  }
  const msgsPerSec1p1c = figures['mpsc 1P->1C  2 words'];
  console.log(JSON.stringify({
    bench: 'ring',
    msgsPerSec1p1c: Math.round(msgsPerSec1p1c),
    msgsPerSec1p1cCommand: Math.round(figures['mpsc 1P->1C 16 words']),
    msgsPerSec3p1c: Math.round(figures['mpsc 3P->1C  2 words']),
    msgsPerSec3p1cCommand: Math.round(figures['mpsc 3P->1C 16 words']),
    msgsPerSecSpmc1p3cCommand: Math.round(figures['spmc 1P->3C 16 words']),
    postMessagePerSec: Math.round(postMessage.msgsPerSec),
    ratio: Math.round((msgsPerSec1p1c / postMessage.msgsPerSec) * 10) / 10,
    latencyP50Us: latency['mpsc spin-then-block'][0] / 1000,
    latencyP99Us: latency['mpsc spin-then-block'][1] / 1000,
    postMessageLatencyP50Us: latency['postMessage'][0] / 1000,
    loadAverage: Math.round(loadAverage * 100) / 100,
  }));
}

if (isMainThread) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
} else {
  workerMain();
}
