/**
 * Worker script for test/ring.test.ts: plays one producer or consumer of a ring on a
 * real thread and reports what it saw. Records carry (producer id, per-producer
 * counter) plus check words, so a consumer can prove exactly-once, in-order delivery
 * and that no slot was overwritten before it was read. Every loop has a deadline so
 * a bug makes a test fail, never hang.
 */

import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { MpscRing, RING_FULL, SpmcConsumer, SpmcRing } from '../core/ring';

export type WorkerRole = 'mpsc-producer' | 'mpsc-consumer' | 'spmc-producer' | 'spmc-consumer';

export interface WorkerJob {
  role: WorkerRole;
  ring: SharedArrayBuffer;
  /**
   * Consumers start when gate cell 0 becomes non-zero (absent: start at once);
   * producers count their FULL answers live in cell 1 + id.
   */
  gate?: SharedArrayBuffer;
  /** Producer id (MPSC) or consumer index (SPMC). */
  id: number;
  /** Records this producer sends, or per producer for an MPSC consumer, or in total for SPMC. */
  records: number;
  /** MPSC consumer: how many producers send `records` each. */
  producers?: number;
  /** 0: fixed batches of batchMax; otherwise seed of the random batch sizes, timeouts and pauses. */
  seed: number;
  batchMax: number;
  /** Claim timeout when not random. */
  claimTimeoutMs: number;
  /** Pause pauseMs every pauseEvery records (0: never); a slow consumer. */
  pauseEvery: number;
  pauseMs: number;
  deadlineMs: number;
}

export interface WorkerReport {
  role: WorkerRole;
  id: number;
  /** Records sent or received. */
  count: number;
  /** Claims that returned full (producers). */
  fulls: number;
  /** Records received per producer (MPSC consumer). */
  perProducer: number[];
  errors: number;
  firstError: string | null;
  timedOut: boolean;
}

/** Word w >= 2 of record (producer, counter): any overwrite or torn copy changes it. */
export function checkWord(producer: number, counter: number, word: number): number {
  return producer * 1_000_003 + counter * 7 + word;
}

/** mulberry32: small, seedable, identical on every thread. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleep(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

function newReport(job: WorkerJob): WorkerReport {
  return { role: job.role, id: job.id, count: 0, fulls: 0, perProducer: [], errors: 0, firstError: null, timedOut: false };
}

function fail(report: WorkerReport, message: string): void {
  report.errors++;
  if (report.firstError === null) report.firstError = message;
}

/** Random pauses: mostly none, sometimes a spin, rarely a real sleep. */
function maybePause(next: (() => number) | null): void {
  if (next === null) return;
  const roll = next();
  if (roll < 0.002) sleep(next() * 0.5);
  else if (roll < 0.05) for (let i = Math.floor(next() * 2000); i > 0; i--) Atomics.load(sleepCell, 0);
}

/** False if the gate stayed closed until the deadline. */
function waitGate(job: WorkerJob, deadline: number): boolean {
  if (!job.gate) return true;
  const gate = new Int32Array(job.gate);
  while (Atomics.load(gate, 0) === 0) {
    if (performance.now() > deadline) return false;
    Atomics.wait(gate, 0, 0, 50);
  }
  return true;
}

function writeRecord(words: Float64Array, offset: number, recordWords: number, producer: number, counter: number): void {
  words[offset] = producer;
  words[offset + 1] = counter;
  for (let w = 2; w < recordWords; w++) words[offset + w] = checkWord(producer, counter, w);
}

function mpscProducer(job: WorkerJob, report: WorkerReport): void {
  const ring = MpscRing.attach(job.ring);
  const next = job.seed === 0 ? null : random(job.seed);
  const fullsLive = job.gate ? new Int32Array(job.gate) : null;
  const deadline = performance.now() + job.deadlineMs;
  let sent = 0;
  while (sent < job.records) {
    if (performance.now() > deadline) { report.timedOut = true; break; }
    const count = Math.min(job.records - sent, next ? 1 + Math.floor(next() * job.batchMax) : job.batchMax);
    const timeoutMs = next ? [0, 0.05, 2][Math.floor(next() * 3)] : job.claimTimeoutMs;
    if (count === 1) {
      const offset = ring.tryClaim(timeoutMs);
      if (offset === RING_FULL) { report.fulls++; if (fullsLive) Atomics.add(fullsLive, 1 + job.id, 1); continue; }
      writeRecord(ring.words, offset, ring.recordWords, job.id, sent);
    } else {
      if (!ring.tryClaimBatch(count, timeoutMs)) { report.fulls++; if (fullsLive) Atomics.add(fullsLive, 1 + job.id, 1); continue; }
      for (let i = 0; i < count; i++) writeRecord(ring.words, ring.claimedOffset(i), ring.recordWords, job.id, sent + i);
    }
    maybePause(next); // between claim and publish: the consumer must wait for us
    ring.publish();
    sent += count;
    maybePause(next);
  }
  report.count = sent;
}

function mpscConsumer(job: WorkerJob, report: WorkerReport): void {
  const ring = MpscRing.attach(job.ring);
  const producers = job.producers ?? 1;
  const expected = new Array<number>(producers).fill(0);
  const total = producers * job.records;
  const next = job.seed === 0 ? null : random(job.seed);
  const handler = (words: Float64Array, offset: number): void => {
    const producer = words[offset];
    const counter = words[offset + 1];
    if (!(producer >= 0 && producer < producers) || counter !== expected[producer]) {
      fail(report, `record ${report.count}: producer ${producer} counter ${counter}, expected counter ${expected[producer]}`);
    } else {
      for (let w = 2; w < ring.recordWords; w++) {
        if (words[offset + w] !== checkWord(producer, counter, w)) fail(report, `producer ${producer} counter ${counter}: word ${w} overwritten`);
      }
      expected[producer]++;
    }
    report.count++;
    if (job.pauseEvery > 0 && report.count % job.pauseEvery === 0) sleep(job.pauseMs);
  };
  const deadline = performance.now() + job.deadlineMs;
  report.timedOut = !waitGate(job, deadline);
  while (report.count < total && !report.timedOut) {
    if (performance.now() > deadline) { report.timedOut = true; break; }
    const maxBatch = next ? 1 + Math.floor(next() * ring.capacity) : ring.capacity;
    if (ring.poll(handler, maxBatch) === 0) ring.waitForRecords(100);
    maybePause(next);
  }
  if (ring.waitForRecords(20)) fail(report, 'a record arrived after every expected record was consumed');
  report.perProducer = expected;
}

function spmcProducer(job: WorkerJob, report: WorkerReport): void {
  const ring = SpmcRing.attach(job.ring);
  const next = job.seed === 0 ? null : random(job.seed);
  const deadline = performance.now() + job.deadlineMs;
  let sent = 0;
  while (sent < job.records) {
    if (performance.now() > deadline) { report.timedOut = true; break; }
    const count = Math.min(job.records - sent, next ? 1 + Math.floor(next() * job.batchMax) : job.batchMax);
    if (!ring.tryClaim(count, job.claimTimeoutMs)) { report.fulls++; continue; }
    for (let i = 0; i < count; i++) writeRecord(ring.words, ring.claimedOffset(i), ring.recordWords, 0, sent + i);
    ring.publish();
    sent += count;
    maybePause(next);
  }
  report.count = sent;
}

function spmcConsumer(job: WorkerJob, report: WorkerReport): void {
  const consumer = SpmcConsumer.attach(job.ring, job.id);
  const words = consumer.words;
  const next = job.seed === 0 ? null : random(job.seed);
  const deadline = performance.now() + job.deadlineMs;
  report.timedOut = !waitGate(job, deadline);
  while (report.count < job.records && !report.timedOut) {
    if (performance.now() > deadline) { report.timedOut = true; break; }
    const from = consumer.nextSequence;
    const to = consumer.waitFor(from, 100);
    for (let sequence = from; sequence < to; sequence++) {
      const offset = consumer.offsetOf(sequence);
      const counter = words[offset + 1];
      if (counter !== report.count) fail(report, `consumer ${job.id} record ${report.count}: counter ${counter}`);
      for (let w = 2; w < consumer.recordWords; w++) {
        if (words[offset + w] !== checkWord(0, counter, w)) fail(report, `consumer ${job.id} record ${report.count}: word ${w} overwritten`);
      }
      report.count++;
      if (job.pauseEvery > 0 && report.count % job.pauseEvery === 0) sleep(job.pauseMs);
    }
    consumer.release(to);
    maybePause(next);
  }
}

function main(job: WorkerJob): WorkerReport {
  const report = newReport(job);
  switch (job.role) {
    case 'mpsc-producer': mpscProducer(job, report); break;
    case 'mpsc-consumer': mpscConsumer(job, report); break;
    case 'spmc-producer': spmcProducer(job, report); break;
    case 'spmc-consumer': spmcConsumer(job, report); break;
  }
  return report;
}

if (!isMainThread && parentPort) {
  parentPort.postMessage(main(workerData as WorkerJob));
}
