/**
 * One load-generator worker thread of the end-to-end benchmark. It holds several
 * order-entry sessions (real sockets, real logon) and sends on an OPEN-LOOP
 * schedule: request k of this worker has an intended send time
 *
 *     start + phase + k x interval        (interval = workers / offered rate)
 *
 * fixed before the run, whatever the exchange answers. Latency is always
 * receive time - INTENDED send time (coordinated-omission corrected): a request the
 * client could only write late, because the machine or the socket was busy, is
 * charged for the wait. Latencies go into HdrHistograms (µs, 3 significant digits).
 *
 * The session layer here is a lean one built on the protocol modules (encoder,
 * templates, logon signature) rather than the SDK's ExchangeClient, whose
 * per-message object decoding would make the client, not the exchange, the
 * bottleneck: answers are parsed in place, reading only the fields the bench needs.
 *
 * Order mix per session (seeded PRNG), on one instrument with a fixed mid:
 *   50% resting limit GTC 1..5 ticks behind the mid (maker), 1..3 lots
 *   25% crossing limit IOC 10 ticks through the mid (taker, fills against makers), 1..2 lots
 *   25% cancel of the session's oldest live resting order
 * The session keeps 32..256 resting orders (acked and live, or sent and not yet
 * answered): below 32 it sends a resting order, above 256 a cancel, instead of the
 * random pick; a cancel with no acked order to cancel becomes an IOC. The book stays
 * bounded even when acks are late (saturation), and the mix does not depend on them.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { randomInt } from 'node:crypto';
import { FrameEncoder } from '../../gateway/protocol/encoder';
import { ClientTemplates, ServerTemplates, WireTemplate } from '../../gateway/protocol/wire-schema';
import { toRecord } from '../../gateway/protocol/messages';
import { signLogonHmac } from '../../gateway/session/auth';
import { encode, Histogram, newHistogram, record } from './histogram';
import { OldestFirst, OrderIdTable } from './order-id-table';
import type { GeneratorCounts, GeneratorInit, GeneratorResult, RunCommand, SessionSpec } from './types';

const init = workerData as GeneratorInit;

// ------------------------------------------------------------------ wire layout

const C = ClientTemplates.byName;
const S = ServerTemplates.byName;
const FRAME_BYTES = 16_384;

function fieldOffset(template: WireTemplate, name: string): number {
  const field = template.fields.find((f) => f.name === name);
  if (field === undefined) throw new Error(`${template.name} has no field ${name}`);
  return field.offset;
}

const ID_ACCEPTED = S.OrderAccepted.id;
const ID_REJECTED = S.OrderRejected.id;
const ID_TRADE = S.Trade.id;
const ID_CANCELED = S.OrderCanceled.id;
const ID_CANCEL_REJECTED = S.CancelRejected.id;
const ID_REJECT = S.Reject.id;
const ID_LOGON_ACK = S.LogonAck.id;
const ID_LOGON_REJECT = S.LogonReject.id;
const ID_TEST_REQUEST = S.TestRequest.id;

const ACC_CLIENT_ORDER_ID = fieldOffset(S.OrderAccepted, 'clientOrderId');
const ACC_ORDER_ID = fieldOffset(S.OrderAccepted, 'orderId');
const REJ_CLIENT_ORDER_ID = fieldOffset(S.OrderRejected, 'clientOrderId');
const REJ_REASON = fieldOffset(S.OrderRejected, 'reason');
const TRD_TAKER = fieldOffset(S.Trade, 'takerOrderId');
const TRD_MAKER = fieldOffset(S.Trade, 'makerOrderId');
const TRD_MAKER_LEAVES = fieldOffset(S.Trade, 'makerLeaves');
const CXL_ORDER_ID = fieldOffset(S.OrderCanceled, 'orderId');
const CXR_ORDER_ID = fieldOffset(S.CancelRejected, 'orderId');
const SRJ_REF_SEQ = fieldOffset(S.Reject, 'refSeq');
const SRJ_REASON = fieldOffset(S.Reject, 'reason');
const LREJ_REASON = fieldOffset(S.LogonReject, 'reason');

const readI64 = (b: Buffer, p: number) => b.readUInt32LE(p) + b.readInt32LE(p + 4) * 4294967296;

const NO = C.NewOrder.at;
const CO = C.CancelOrder.at;

// ------------------------------------------------------------------ tracking

/** Requests in flight per session are tracked in rings indexed by client sequence. */
const RING = 1 << 18;
const MASK = RING - 1;
const KIND_RESTING = 1;
const KIND_IOC = 2;
const KIND_CANCEL = 3;
const MEASURED = 8;
const LOW_WATER = 32;
const HIGH_WATER = 256;
/**
 * The pacing tick: between passes the pump sleeps one tick (when the next request is due
 * within 2 ms), then writes every request due by then, one frame per session. It bounds how
 * late an answer arriving meanwhile is stamped, and how late a request is written (charged to
 * its latency: latency counts from the intended time). Waking for each request instead (no
 * sleep when the next one was due within 5 µs) turned the pump into a busy loop writing
 * one-request frames at high rates: at 225K orders/s the client took 0.80 cores instead of
 * 0.47, two thirds of it in socket writes (bench:e2e, 2026-11-26).
 */
const PACING_TICK_MS = 0.1;

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Order ids each of a session's tables holds (a power of two); beyond it, counted in trackingOverflow. */
const ORDER_IDS_TRACKED = 1 << 16;

/** Blocks the thread for `ms` (its own function, so a CPU profile tells sleeping from pacing work). */
function sleepBlocking(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/** sfc32: small, fast, seeded. */
function prng(seed: number): () => number {
  let a = seed | 0, b = 0x9e3779b9, c = 0x243f6a88, d = 1;
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

interface Window {
  warmupStart: number;
  measureStart: number;
  measureEnd: number;
  subMs: number;
}

class Session {
  socket!: WebSocket;
  readonly encoder = new FrameEncoder(new Uint8Array(FRAME_BYTES));
  readonly newOrder = new Float64Array(16);
  readonly cancel = new Float64Array(16);
  readonly random: () => number;
  /** Last client sequence used (also the clientOrderId of a new order). */
  sequence = 0;
  /** First sequence of the frame being built. */
  frameFirst = 1;
  readonly seqAt = new Float64Array(RING);
  readonly intended = new Float64Array(RING);
  readonly sentAt = new Float64Array(RING);
  readonly kind = new Uint8Array(RING);
  readonly target = new Float64Array(RING);
  /** Acked resting orders not yet asked to cancel, oldest first. */
  readonly live = new OldestFirst(ORDER_IDS_TRACKED);
  /** Acked IOC order id -> intended send time (-1: not measured) until its first Trade. */
  readonly iocPending = new OrderIdTable(ORDER_IDS_TRACKED);
  /** Order id -> client sequence of the cancel request. */
  readonly cancelPending = new OrderIdTable(ORDER_IDS_TRACKED);
  /** Resting orders sent and not answered yet. */
  restingInFlight = 0;
  logon?: (error: Error | null) => void;

  constructor(readonly spec: SessionSpec) {
    this.random = prng(spec.seed);
    toRecord(C.NewOrder, {
      account: spec.account, instrument: spec.instrument, clientOrderId: 1, side: 1, orderType: 1, timeInForce: 1,
      price: spec.referencePrice, quantity: 1, stopPrice: 0, selfTradePrevention: 1, flags: 0, expireTime: 0,
    }, this.newOrder);
    toRecord(C.CancelOrder, { account: spec.account, orderId: 1 }, this.cancel);
  }
}

const sessions = init.sessions.map((spec) => new Session(spec));

function emptyCounts(): GeneratorCounts {
  return {
    measuredScheduled: 0, measuredSent: 0, newOrders: 0, restingOrders: 0, iocOrders: 0, cancels: 0, acks: 0, fills: 0,
    iocUnfilled: 0, canceled: 0, cancelRejected: 0, orderRejected: 0, sessionRejects: {}, orderRejectReasons: {}, unanswered: 0,
    answersInWindow: 0, sentInWindow: 0, framesSent: 0, framesReceived: 0, messagesReceived: 0, bytesReceived: 0, trackingOverflow: 0,
  };
}

let counts = emptyCounts();
let window: Window = { warmupStart: Infinity, measureStart: Infinity, measureEnd: Infinity, subMs: 1 };
let measuredOutstanding = 0;
let hAck = newHistogram();
let hFill = newHistogram();
let hCancel = newHistogram();
let hSendLag = newHistogram();
let hAckFromSend = newHistogram();
let hSub: Histogram[] = [];

// ------------------------------------------------------------------ sending

function send(session: Session, bytes: Uint8Array): void {
  session.socket.send(bytes, { binary: true });
}

/** Writes the frame being built (if any) and stamps the actual send time of its requests. */
function flush(session: Session, now: number): void {
  const encoder = session.encoder;
  if (encoder.length === 0) return;
  send(session, Buffer.from(encoder.view()));
  encoder.reset();
  counts.framesSent++;
  const inWindow = now >= window.measureStart && now < window.measureEnd;
  for (let s = session.frameFirst; s <= session.sequence; s++) {
    const i = s & MASK;
    session.sentAt[i] = now;
    if (inWindow) counts.sentInWindow++;
    if ((session.kind[i] & MEASURED) !== 0) {
      counts.measuredSent++;
      record(hSendLag, (now - session.intended[i]) * 1000);
    }
  }
  session.frameFirst = session.sequence + 1;
}

function track(session: Session, sequence: number, kind: number, intended: number, target: number): void {
  const i = sequence & MASK;
  if (session.kind[i] !== 0) {
    counts.trackingOverflow++;
    if ((session.kind[i] & 7) === KIND_RESTING) session.restingInFlight--;
    if ((session.kind[i] & MEASURED) !== 0) measuredOutstanding--;
  }
  session.seqAt[i] = sequence;
  session.kind[i] = kind;
  session.intended[i] = intended;
  session.target[i] = target;
  if ((kind & MEASURED) !== 0) {
    counts.measuredScheduled++;
    measuredOutstanding++;
  }
}

function appendRequest(session: Session, template: WireTemplate, rec: Float64Array, sequence: number, now: number): void {
  if (!session.encoder.fits(template)) flush(session, now);
  session.encoder.append(template, rec, 0, sequence);
}

/** Builds the next request of `session` with intended send time `intended`. */
function emit(session: Session, intended: number, now: number): void {
  const measured = intended >= window.measureStart && intended < window.measureEnd ? MEASURED : 0;
  const r = session.random;
  const resting = session.live.size + session.restingInFlight;
  let choice = r();
  if (resting < LOW_WATER) choice = 0;
  else if (resting > HIGH_WATER) choice = 0.9;
  if (choice >= 0.75 && session.live.size === 0) choice = 0.6; // nothing acked to cancel yet: an IOC instead
  const sequence = ++session.sequence;
  if (choice >= 0.75) {
    const orderId = session.live.takeOldest();
    if (!session.cancelPending.set(orderId, sequence)) counts.trackingOverflow++;
    session.cancel[CO.orderId] = orderId;
    track(session, sequence, KIND_CANCEL | measured, intended, orderId);
    appendRequest(session, C.CancelOrder, session.cancel, sequence, now);
    counts.cancels++;
    return;
  }
  const spec = session.spec;
  const buy = r() < 0.5;
  const rec = session.newOrder;
  rec[NO.clientOrderId] = sequence;
  rec[NO.side] = buy ? 1 : 2;
  if (choice < 0.5) {
    const ticks = 1 + Math.floor(r() * 5);
    rec[NO.timeInForce] = 1;
    rec[NO.price] = buy ? spec.referencePrice - ticks : spec.referencePrice + ticks;
    rec[NO.quantity] = 1 + Math.floor(r() * 3);
    track(session, sequence, KIND_RESTING | measured, intended, 0);
    session.restingInFlight++;
    counts.restingOrders++;
  } else {
    rec[NO.timeInForce] = 4;
    rec[NO.price] = buy ? spec.referencePrice + 10 : spec.referencePrice - 10;
    rec[NO.quantity] = 1 + Math.floor(r() * 2);
    track(session, sequence, KIND_IOC | measured, intended, 0);
    counts.iocOrders++;
  }
  counts.newOrders++;
  appendRequest(session, C.NewOrder, rec, sequence, now);
}

// ------------------------------------------------------------------ receiving

/** The first answer to request `sequence`: frees its slot; returns its kind (0 = unknown / already answered). */
function answer(session: Session, sequence: number, t: number, isAck: boolean): number {
  const i = sequence & MASK;
  const kind = session.kind[i];
  if (kind === 0 || session.seqAt[i] !== sequence) return 0;
  session.kind[i] = 0;
  if ((kind & 7) === KIND_RESTING) session.restingInFlight--;
  if (t >= window.measureStart && t < window.measureEnd) counts.answersInWindow++;
  if ((kind & MEASURED) !== 0) {
    measuredOutstanding--;
    const us = (t - session.intended[i]) * 1000;
    if ((kind & 7) === KIND_CANCEL) record(hCancel, us);
    else if (isAck) {
      record(hAck, us);
      record(hAckFromSend, (t - session.sentAt[i]) * 1000);
      const sub = Math.floor((session.intended[i] - window.measureStart) / window.subMs);
      if (sub >= 0 && sub < hSub.length) record(hSub[sub], us);
    }
  }
  return kind;
}

function bump(table: Record<string, number>, key: number): void {
  table[key] = (table[key] ?? 0) + 1;
}

function onFrame(session: Session, data: Buffer): void {
  const t = performance.now();
  counts.framesReceived++;
  counts.bytesReceived += data.length;
  const end = data.length;
  let p = 0;
  while (p + 4 <= end) {
    const length = data[p] | (data[p + 1] << 8);
    if (length < 4) break;
    const id = data[p + 2];
    counts.messagesReceived++;
    switch (id) {
      case ID_ACCEPTED: {
        const sequence = data.readUInt32LE(p + ACC_CLIENT_ORDER_ID);
        const orderId = readI64(data, p + ACC_ORDER_ID);
        const i = sequence & MASK;
        const measuredIntended = (session.kind[i] & MEASURED) !== 0 ? session.intended[i] : -1;
        const kind = answer(session, sequence, t, true) & 7;
        if (kind !== 0) counts.acks++;
        if (kind === KIND_RESTING && !session.live.add(orderId)) counts.trackingOverflow++;
        else if (kind === KIND_IOC && !session.iocPending.set(orderId, measuredIntended)) counts.trackingOverflow++;
        break;
      }
      case ID_REJECTED: {
        const sequence = data.readUInt32LE(p + REJ_CLIENT_ORDER_ID);
        if (answer(session, sequence, t, false) !== 0) {
          counts.orderRejected++;
          bump(counts.orderRejectReasons, data.readUInt16LE(p + REJ_REASON));
        }
        break;
      }
      case ID_TRADE: {
        const taker = readI64(data, p + TRD_TAKER);
        const intended = session.iocPending.get(taker);
        if (!Number.isNaN(intended)) {
          session.iocPending.delete(taker);
          counts.fills++;
          if (intended >= 0) record(hFill, (t - intended) * 1000);
        }
        if (readI64(data, p + TRD_MAKER_LEAVES) === 0) session.live.delete(readI64(data, p + TRD_MAKER));
        break;
      }
      case ID_CANCELED: {
        const orderId = readI64(data, p + CXL_ORDER_ID);
        const sequence = session.cancelPending.get(orderId);
        if (!Number.isNaN(sequence)) {
          session.cancelPending.delete(orderId);
          if (answer(session, sequence, t, false) !== 0) counts.canceled++;
        } else if (session.iocPending.delete(orderId)) counts.iocUnfilled++;
        session.live.delete(orderId);
        break;
      }
      case ID_CANCEL_REJECTED: {
        const orderId = readI64(data, p + CXR_ORDER_ID);
        const sequence = session.cancelPending.get(orderId);
        if (!Number.isNaN(sequence)) {
          session.cancelPending.delete(orderId);
          if (answer(session, sequence, t, false) !== 0) counts.cancelRejected++;
        }
        break;
      }
      case ID_REJECT: {
        const sequence = readI64(data, p + SRJ_REF_SEQ);
        const i = sequence & MASK;
        if ((session.kind[i] & 7) === KIND_CANCEL && session.seqAt[i] === sequence) session.cancelPending.delete(session.target[i]);
        answer(session, sequence, t, false);
        bump(counts.sessionRejects, data.readUInt16LE(p + SRJ_REASON));
        break;
      }
      case ID_TEST_REQUEST:
        break; // logon asks for no heartbeats; nothing to answer
      case ID_LOGON_ACK:
        session.logon?.(null);
        break;
      case ID_LOGON_REJECT:
        session.logon?.(new Error(`logon rejected for key ${session.spec.keyId}: reason ${data.readUInt16LE(p + LREJ_REASON)}`));
        break;
      default:
    }
    p += length;
  }
}

// ------------------------------------------------------------------ logon

async function connect(session: Session): Promise<void> {
  const socket = new WebSocket(session.spec.url, {
    perMessageDeflate: false,
    // An all-zero mask makes ws skip masking the payload (client CPU); the server
    // unmasks the same way whatever the key.
    generateMask: (mask: Buffer) => void mask.fill(0),
  });
  session.socket = socket;
  socket.binaryType = 'nodebuffer';
  socket.on('message', (data: Buffer) => onFrame(session, data));
  socket.on('error', (error) => parentPort!.postMessage({ type: 'log', message: `key ${session.spec.keyId}: ${error.message}` }));
  socket.on('close', (code, reason) => {
    if (!closing) parentPort!.postMessage({ type: 'log', message: `key ${session.spec.keyId}: closed ${code} ${reason.toString()}` });
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const timestampMicros = Date.now() * 1000;
  const nonce = randomInt(1, 2 ** 47);
  const signature = signLogonHmac(Buffer.from(session.spec.secret, 'utf8'), session.spec.keyId, timestampMicros, nonce);
  const logon = new Float64Array(16);
  toRecord(C.Logon, { keyId: session.spec.keyId, timestampMicros, nonce, heartbeatIntervalMs: 0, cancelOnDisconnect: 2 }, logon);
  const encoder = new FrameEncoder(new Uint8Array(FRAME_BYTES));
  encoder.append(C.Logon, logon, 0, 0, signature);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no LogonAck for key ${session.spec.keyId} within 5 s`)), 5000);
    session.logon = (error) => {
      clearTimeout(timer);
      session.logon = undefined;
      if (error === null) resolve();
      else reject(error);
    };
    send(session, Buffer.from(encoder.view()));
  });
}

// ------------------------------------------------------------------ CPU of this thread

function threadCpuSeconds(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, USER_HZ = 100
  } catch {
    return 0;
  }
}

// ------------------------------------------------------------------ the run

let closing = false;

function run(command: RunCommand): void {
  counts = emptyCounts();
  hAck = newHistogram();
  hFill = newHistogram();
  hCancel = newHistogram();
  hSendLag = newHistogram();
  hAckFromSend = newHistogram();
  hSub = Array.from({ length: command.subWindows }, () => newHistogram());
  measuredOutstanding = 0;
  const localStart = command.startEpochMs - performance.timeOrigin;
  window = {
    warmupStart: localStart,
    measureStart: localStart + command.warmupMs,
    measureEnd: localStart + command.warmupMs + command.measureMs,
    subMs: command.measureMs / command.subWindows,
  };
  const interval = (init.workerCount * 1000) / command.totalRate;
  const first = localStart + (init.workerIndex * 1000) / command.totalRate;
  const total = Math.floor((command.warmupMs + command.measureMs) / interval);
  const n = sessions.length;
  let k = 0;
  let cpuStart = -1;
  let cpuEnd = -1;

  const pump = () => {
    let now = performance.now();
    if (cpuStart < 0 && now >= window.measureStart) cpuStart = threadCpuSeconds();
    if (cpuEnd < 0 && now >= window.measureEnd) cpuEnd = threadCpuSeconds();
    let due = first + k * interval;
    while (k < total && due <= now) {
      emit(sessions[k % n], due, now);
      k++;
      due = first + k * interval;
      if ((k & 255) === 0) now = performance.now();
    }
    now = performance.now();
    for (let i = 0; i < n; i++) flush(sessions[i], now);
    if (k >= total) return drain();
    const wait = due - performance.now();
    if (wait > 2) {
      setTimeout(pump, wait - 1.2);
      return;
    }
    sleepBlocking(PACING_TICK_MS);
    setImmediate(pump);
  };

  const drain = () => {
    const deadline = performance.now() + command.drainMs;
    const check = () => {
      const now = performance.now();
      if (cpuEnd < 0 && now >= window.measureEnd) cpuEnd = threadCpuSeconds();
      if ((measuredOutstanding > 0 && now < deadline) || now < window.measureEnd) {
        setTimeout(check, 5);
        return;
      }
      if (cpuEnd < 0) cpuEnd = threadCpuSeconds();
      finish(now, cpuStart < 0 ? 0 : cpuEnd - cpuStart);
    };
    check();
  };

  const wait = first - performance.now();
  setTimeout(pump, Math.max(0, wait - 1));
}

/** Measured requests never answered: counted, and recorded as lower bounds (now - intended). */
function finish(now: number, cpuSeconds: number): void {
  for (const session of sessions) {
    for (let i = 0; i < RING; i++) {
      const kind = session.kind[i];
      if ((kind & MEASURED) === 0) continue;
      counts.unanswered++;
      const us = (now - session.intended[i]) * 1000;
      record((kind & 7) === KIND_CANCEL ? hCancel : hAck, us);
      session.kind[i] = kind & 7; // still in flight, no longer measured
    }
  }
  const result: GeneratorResult = {
    workerIndex: init.workerIndex,
    histograms: {
      ack: encode(hAck), fill: encode(hFill), cancel: encode(hCancel), sendLag: encode(hSendLag), ackFromSend: encode(hAckFromSend),
      subWindowAck: hSub.map(encode),
    },
    counts,
    cpuSeconds,
  };
  parentPort!.postMessage({ type: 'result', result });
}

parentPort!.on('message', (message: RunCommand | { type: 'close' }) => {
  if (message.type === 'run') run(message);
  if (message.type === 'close') {
    closing = true;
    for (const session of sessions) session.socket.terminate();
    setTimeout(() => process.exit(0), 50);
  }
});

Promise.all(sessions.map(connect)).then(
  () => parentPort!.postMessage({ type: 'ready' }),
  (error: Error) => parentPort!.postMessage({ type: 'error', message: error.message }),
);
