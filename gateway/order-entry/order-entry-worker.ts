/**
 * An order-entry gateway thread: a `ws` server on its own port (Node 20 cannot
 * share a port between worker threads; keys are assigned to ports by keyId modulo
 * the worker count). Inbound: decode, authenticate, authorize, throttle, check the
 * client sequence, stamp receive time, origin (the key) and client sequence
 * (command-stamp.ts), and publish into the inbound ring (or answer SYSTEM_BUSY).
 * Outbound: read the outbound ring as one consumer, and release acks and fills to
 * their sessions only once the journal's durable sequence has passed them.
 *
 * Start: number every served key's messages in the journal up to the recovered
 * sequence (sequence-scan.ts), then listen, then read the ring from the next event:
 * per-key server sequences are a function of the journal and survive restarts.
 * Replays come from the key's in-memory history, or from the journal when older.
 *
 * A malformed frame gets a Reject or a documented close code; it never throws out
 * of the handler, and other sessions never notice.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { WebSocketServer, WebSocket, RawData } from 'ws';
import { MpscRing, SpmcConsumer } from '../../core/ring';
import { ControlBlock, WorkerState } from '../../core/runtime/control-block';
import { COMMAND_ECHO_FLAG } from '../../core/event-buffer';
import { Commands, EventHeader, Events } from '../../core/schema';
import { FrameDecoder, DecodeStep } from '../protocol/decoder';
import { FrameEncoder } from '../protocol/encoder';
import { ClientTemplates, ServerTemplates, WireTemplate } from '../protocol/wire-schema';
import { CloseCode } from '../protocol/close-codes';
import { ProtocolError, protocolError } from '../protocol/errors';
import { LogonAuthenticator } from '../session/auth';
import { KeyRegistry, ApiKeySpec } from '../session/key-registry';
import { Session, SessionPhase, SequenceCheck, TimerAction } from '../session/session-state';
import { SessionRegistry } from '../session/session-registry';
import { logonRequestFrom, processLogon, writeLogonAck } from '../session/logon';
import { authorize } from '../session/permissions';
import { SessionThrottle, ThrottleOptions } from '../session/throttle';
import { REPLAY_HISTORY_MESSAGES, ReplayHistory } from './replay-history';
import { AccountViews, SaveBuffers } from './account-view';
import { KeyRouting, KeyStream } from './key-routing';
import { COMMAND_CLIENT_SEQUENCE_WORD, keyOrigin, originGatewayId } from './command-stamp';
import { ScanReport, scanJournal } from './sequence-scan';
import { captureCheckpoint, closeCheckpointLookups, restoreCheckpoint, saveCheckpoint, writeCheckpoint } from './gateway-checkpoint';
import { JOURNAL_REPLAY_RETRY_MS, JOURNAL_REPLAYS_MAX, journalReachable, replayFromJournal } from './journal-replay';
import { journalFileSemantics } from '../../journal/sqlite-journal';
import { OrderStatusCode } from '../protocol/session-schema';
import * as hdr from 'hdr-histogram-js';

export interface OrderEntryWorkerData {
  inbound: SharedArrayBuffer;
  outbound: SharedArrayBuffer;
  control: SharedArrayBuffer;
  consumerIndex: number;
  /** 1-based; named in the origin of the commands sent here (command-stamp.ts). */
  gatewayId: number;
  gatewayCount: number;
  host: string;
  port: number;
  keys: ApiKeySpec[];
  throttle?: Partial<ThrottleOptions>;
  /** A client whose unsent bytes exceed this is disconnected (SLOW_CONSUMER). */
  maxBufferedBytes: number;
  /** The embedded journal file: read at start (sequence scan) and for old replays. */
  journalPath: string;
  /** The sequence the matcher recovered to: events 1..recoveredSequence are in the journal file, the ring starts after. */
  recoveredSequence: number;
  /** Save the scan state (gateway-checkpoint.ts) every this many events while running. */
  checkpointEveryEvents: number;
}

const FRAME_BYTES = 16_384;
const TIMER_INTERVAL_MS = 50;
const T = ServerTemplates.byName;

const ORDER_REJECT_REASON = Events.OrderRejected.at.reason;
const CANCEL_REJECT_REASON = Events.CancelRejected.at.reason;

const data = workerData as OrderEntryWorkerData;
const control = ControlBlock.attach(data.control);
const inbound = MpscRing.attach(data.inbound);
const consumer = SpmcConsumer.attach(data.outbound, data.consumerIndex);
const keys = new KeyRegistry();
const servedHere = (keyId: number) => keyId % data.gatewayCount === data.gatewayId - 1;
const trackedAccounts = new Set<number>();
for (const spec of data.keys) {
  const key = keys.add(spec);
  if (servedHere(key.keyId) && key.account !== 0) trackedAccounts.add(key.account);
}
const authenticator = new LogonAuthenticator(keys);
/** Every served key's numbered stream; the routing is a pure function of the event and this key table. */
const routing = new KeyRouting(data.keys, servedHere);
const registry = new SessionRegistry(undefined, (key) => {
  const stream = routing.stream(key.keyId);
  if (stream === undefined) throw new Error(`key ${key.keyId} is not served by gateway ${data.gatewayId}`); // logon checks the gateway first
  return stream;
});
const views = new AccountViews((account) => trackedAccounts.has(account), journalFileSemantics(data.journalPath));
const decoder = new FrameDecoder(ClientTemplates);
const scratch = new Float64Array(16);
const nowMicros = () => Date.now() * 1000;
/**
 * The clock as read once for the frame being handled (its receive time, stamped into every
 * command of the frame) and once per outbound batch: a clock read costs ~40 ns, and at 100K
 * orders/s per gateway one per message and per event was ~3% of the thread (bench:e2e profile).
 */
let frameMicros = 0;

/** Counters and the order-to-ack histogram this gateway reports to the supervisor every STATS_INTERVAL_MS. */
const STATS_INTERVAL_MS = 1000;
const stats = { throttled: 0, systemBusy: 0, protocolRejects: 0, readPauses: 0, rejectsByReason: {} as Record<number, number> };
const ackLatency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 2 });
const ACCEPTED = Events.OrderAccepted.code;
const ORDER_REJECTED = Events.OrderRejected.code;
const CANCEL_REJECTED = Events.CancelRejected.code;

class Connection {
  readonly session: Session;
  readonly encoder = new FrameEncoder(new Uint8Array(FRAME_BYTES));
  throttle: SessionThrottle;
  closed = false;
  /** Origin word of this session's commands (set at logon). */
  origin = 0;
  /** A journal replay runs for this connection. */
  replaying = false;

  constructor(readonly id: number, readonly socket: WebSocket) {
    this.session = new Session({}, nowMicros());
    this.throttle = new SessionThrottle(data.throttle ?? {}, nowMicros());
  }

  get keyId(): number {
    return this.session.key?.keyId ?? 0;
  }

  /** Appends an unsequenced message; flushes the frame first when it is full. */
  send(template: WireTemplate, record: Float64Array, offset: number): void {
    if (template.sequenced) throw new Error(`gateway: ${template.name} is sequenced: numbered by deliver() only`);
    if (this.closed) return;
    if (!this.encoder.fits(template)) this.flush();
    this.encoder.append(template, record, offset, 0);
  }

  /** Appends an event numbered `sequence` (open connections only); returns its bytes in the frame. */
  sendSequenced(template: WireTemplate, record: Float64Array, offset: number, sequence: number): Uint8Array {
    if (!this.encoder.fits(template)) this.flush();
    const start = this.encoder.length;
    this.encoder.append(template, record, offset, sequence);
    return this.encoder.view().subarray(start);
  }

  /** Sends the frame built so far; `now` (µs) feeds the session's heartbeat clock. */
  flush(now = nowMicros()): void {
    if (this.encoder.length === 0 || this.closed) return;
    // ws may write the buffer after send() returns: hand it a copy, reuse ours.
    this.socket.send(Buffer.from(this.encoder.view()));
    this.encoder.reset();
    this.session.onOutbound(now);
    if (this.socket.bufferedAmount > data.maxBufferedBytes) this.close(CloseCode.SLOW_CONSUMER, 'slow consumer');
  }

  /** `error` supplies the code and disposition only; the refused message is named by templateId and clientSequence. */
  reject(error: ProtocolError, templateId: number, clientSequence: number, retryAfterMs = 0): void {
    if (error.code === 'THROTTLED') stats.throttled++;
    else if (error.code === 'SYSTEM_BUSY') stats.systemBusy++;
    else stats.protocolRejects++;
    stats.rejectsByReason[error.reason] = (stats.rejectsByReason[error.reason] ?? 0) + 1;
    scratch.fill(0);
    const at = T.Reject.at;
    scratch[at.refSeq] = clientSequence;
    scratch[at.reason] = error.reason;
    scratch[at.refTemplateId] = templateId;
    scratch[at.retryAfterMs] = retryAfterMs;
    this.send(T.Reject, scratch, 0);
    if (error.disposition === 'close') this.close(error.closeCode, error.code);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.socket.close(code, reason.slice(0, 120));
  }
}

const connections = new Map<number, Connection>();
let nextConnectionId = 1;

/**
 * Commands of the frame being handled, published together after the frame: one claim
 * and one publish per frame (one wake-up of the matcher), not one per message.
 * The gateway never blocks its event loop on a full ring: the loop also drains the
 * outbound ring, and a matcher waiting for outbound space would then wait forever
 * for inbound space (a deadlock seen under overload). Full means SYSTEM_BUSY now.
 */
const MAX_PENDING = 256;
/** Refusals under load name no detail beyond their code: one shared error each, not an Error (and its stack) per refused message. */
const SYSTEM_BUSY = protocolError('SYSTEM_BUSY', 'inbound ring full');
const THROTTLED = protocolError('THROTTLED', 'above the session\'s order or cancel rate');
const pendingWords = new Float64Array(MAX_PENDING * 16);
const pendingSequence = new Float64Array(MAX_PENDING);
const pendingTemplate = new Int32Array(MAX_PENDING);
let pendingCount = 0;

/** Queues one stamped command of the current frame; false when the frame's queue is full (SYSTEM_BUSY). */
function queueCommand(record: Float64Array, origin: number, clientSequence: number, templateId: number): boolean {
  if (pendingCount === MAX_PENDING) return false;
  const offset = pendingCount * 16;
  pendingWords.set(record, offset);
  pendingWords[offset + 1] = frameMicros;
  pendingWords[offset + 2] = origin;
  pendingWords[offset + COMMAND_CLIENT_SEQUENCE_WORD] = clientSequence;
  pendingSequence[pendingCount] = clientSequence;
  pendingTemplate[pendingCount] = templateId;
  pendingCount++;
  return true;
}

/** Publishes the frame's commands in one claim, or as many as fit; the rest get SYSTEM_BUSY. */
function publishQueued(connection: Connection): void {
  const count = pendingCount;
  if (count === 0) return;
  pendingCount = 0;
  let accepted = 0;
  if (count <= inbound.capacity && inbound.tryClaimBatch(count, 0)) accepted = count;
  else {
    // Not room for all: take the slots there are, one claim at a time.
    while (accepted < count && inbound.tryClaimBatch(1, 0)) {
      inbound.words.set(pendingWords.subarray(accepted * 16, accepted * 16 + 16), inbound.claimedOffset(0));
      inbound.publish();
      accepted++;
    }
    for (let i = accepted; i < count; i++) {
      connection.reject(SYSTEM_BUSY, pendingTemplate[i], pendingSequence[i]);
    }
    pauseReading();
    return;
  }
  for (let i = 0; i < count; i++) inbound.words.set(pendingWords.subarray(i * 16, i * 16 + 16), inbound.claimedOffset(i));
  inbound.publishQuietly();
  wakeMatcherSoon();
}

/**
 * While the inbound ring is full, the gateway stops reading its sockets, until half the ring is
 * free or READ_PAUSE_MAX_MS have passed. Under overload its time then goes to draining the
 * outbound ring (which frees the matcher, which frees the inbound ring) instead of reading frames
 * only to refuse them: at 300K orders/s offered, refusing took both gateway threads while the
 * matcher sat blocked on a full outbound ring (bench:e2e: 168K answered, acks after 7-10 s).
 * Clients meanwhile meet TCP backpressure; the frames already read get SYSTEM_BUSY.
 */
const READ_PAUSE_MAX_MS = 50;
let readingPaused = false;

function pauseReading(): void {
  if (readingPaused) return;
  readingPaused = true;
  stats.readPauses++;
  for (const connection of connections.values()) connection.socket.pause();
  void inbound.waitForSpaceAsync(Math.max(1, inbound.capacity >> 1), READ_PAUSE_MAX_MS).finally(resumeReading);
}

function resumeReading(): void {
  readingPaused = false;
  for (const connection of connections.values()) if (!connection.closed) connection.socket.resume();
}

let matcherWakeScheduled = false;

/**
 * One wake-up of the matcher per event-loop turn, after every frame read in it is published
 * (setImmediate runs right after the turn's socket callbacks): at load, several frames share
 * one futex wake instead of one each.
 */
function wakeMatcherSoon(): void {
  if (matcherWakeScheduled) return;
  matcherWakeScheduled = true;
  setImmediate(() => {
    matcherWakeScheduled = false;
    inbound.wakeConsumer();
  });
}

/**
 * Mass cancels the exchange itself owes (cancel-on-disconnect, dead-man switch) must
 * not be lost to a full ring: they wait here and are retried on every timer tick.
 */
const owedMassCancels: Array<{ account: number; origin: number }> = [];

/** Mass-cancels `account` on behalf of key `keyId` (0: the gateway itself, for a disconnected key's dead-man switch). */
function massCancel(account: number, keyId: number): void {
  owedMassCancels.push({ account, origin: keyOrigin(data.gatewayId, keyId) });
  publishOwedMassCancels();
}

function publishOwedMassCancels(): void {
  while (owedMassCancels.length > 0 && inbound.tryClaimBatch(1, 0)) {
    const { account, origin } = owedMassCancels.shift()!;
    const offset = inbound.claimedOffset(0);
    inbound.words.fill(0, offset, offset + 16);
    inbound.words[offset] = Commands.MassCancel.code;
    inbound.words[offset + 1] = nowMicros();
    inbound.words[offset + 2] = origin;
    inbound.words[offset + Commands.MassCancel.at.account] = account;
    inbound.publish();
  }
}

// ------------------------------------------------------------------ inbound

function onFrame(connection: Connection, raw: RawData, isBinary: boolean): void {
  const frame = raw instanceof Buffer ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw as ArrayBuffer);
  const session = connection.session;
  frameMicros = nowMicros();
  session.onInbound(frameMicros);
  const frameError = decoder.begin(frame, isBinary);
  if (frameError !== null) return connection.close(frameError.closeCode, frameError.code);
  for (;;) {
    const step = decoder.next();
    if (step === DecodeStep.End) break;
    const template = decoder.template;
    if (step === DecodeStep.Reject) {
      const error = decoder.error!;
      if (session.phase === SessionPhase.AwaitingLogon) {
        // Nothing but a well-formed Logon is answered before logon.
        const required = protocolError('LOGON_REQUIRED', error.code, error.templateId);
        return connection.close(required.closeCode, required.code);
      }
      connection.reject(error, error.templateId, decoder.sequence);
      if (connection.closed) break;
      continue;
    }
    handleMessage(connection, template!);
    if (connection.closed) break;
  }
  // Everything accepted before a close still goes in (the client may have seen nothing, but the frame was valid so far).
  publishQueued(connection);
  connection.flush();
}

function handleMessage(connection: Connection, template: WireTemplate): void {
  const session = connection.session;
  const record = decoder.record;
  const clientSequence = decoder.sequence;
  const admitted = session.admit(template);
  if (admitted !== null) return connection.reject(protocolError(admitted, template.name, template.id, clientSequence), template.id, clientSequence);
  switch (template.name) {
    case 'Logon': return logon(connection);
    case 'Logout': {
      scratch.fill(0);
      connection.send(T.Logout, scratch, 0);
      return connection.close(CloseCode.NORMAL, 'logout');
    }
    case 'Heartbeat':
      session.onHeartbeat(frameMicros);
      return;
    case 'TestRequest': {
      scratch.fill(0);
      scratch[T.Heartbeat.at.testRequestId] = record[template.at.testRequestId];
      return connection.send(T.Heartbeat, scratch, 0);
    }
    default:
  }
  if (template.name === 'ReplayRequest') {
    // Replays are costly for the gateway: they draw on the order bucket.
    const wait = connection.throttle.admit(template, frameMicros);
    if (wait > 0) return connection.reject(THROTTLED, template.id, 0, wait);
    return replay(connection, record[template.at.fromSequence], record[template.at.toSequence]);
  }
  if (template.sequenced && session.checkClientSequence(clientSequence) === SequenceCheck.Retransmission) return; // safe resend: ignored
  const key = session.key!;
  const denied = authorize(template, record, key);
  if (denied !== null) return connection.reject(protocolError(denied, template.name, template.id, clientSequence), template.id, clientSequence);
  const retryAfterMs = connection.throttle.admit(template, frameMicros);
  if (retryAfterMs > 0) return connection.reject(THROTTLED, template.id, clientSequence, retryAfterMs);
  if (session.record !== null) session.record.sequences.lastClientSequence = Math.max(session.record.sequences.lastClientSequence, clientSequence);
  switch (template.name) {
    case 'DeadManSwitch': {
      const timeoutMs = record[template.at.timeoutMs];
      const refused = session.armDeadManSwitch(timeoutMs, frameMicros);
      if (refused !== null) return connection.reject(protocolError(refused, template.name, template.id, clientSequence), template.id, clientSequence);
      scratch.fill(0);
      scratch[T.DeadManSwitchStatus.at.refSeq] = clientSequence;
      scratch[T.DeadManSwitchStatus.at.timeoutMs] = timeoutMs;
      scratch[T.DeadManSwitchStatus.at.armed] = timeoutMs > 0 ? 1 : 0;
      return connection.send(T.DeadManSwitchStatus, scratch, 0);
    }
    case 'OrderStatusRequest': return orderStatus(connection, clientSequence, record[template.at.account], record[template.at.orderId], record[template.at.clientOrderId]);
    case 'AccountSummaryRequest': return accountSummary(connection, clientSequence, record[template.at.account]);
    case 'PositionsRequest': return positions(connection, clientSequence, record[template.at.account], record[template.at.instrument]);
    default:
  }
  if (template.source !== 'command') return;
  if (!queueCommand(record, connection.origin, clientSequence, template.id)) connection.reject(SYSTEM_BUSY, template.id, clientSequence);
}

function logon(connection: Connection): void {
  const session = connection.session;
  const request = logonRequestFrom(decoder.record, decoder.blob);
  const now = frameMicros;
  if (request.keyId % data.gatewayCount !== data.gatewayId - 1) {
    const wrong = protocolError('LOGON_WRONG_GATEWAY', `key ${request.keyId} belongs to port offset ${request.keyId % data.gatewayCount}`, T.LogonReject.id);
    scratch.fill(0);
    scratch[T.LogonReject.at.reason] = wrong.reason;
    connection.send(T.LogonReject, scratch, 0);
    return connection.close(wrong.closeCode, wrong.code);
  }
  const error = processLogon(authenticator, registry, session, request, now);
  if (error !== null) {
    scratch.fill(0);
    scratch[T.LogonReject.at.reason] = error.reason;
    connection.send(T.LogonReject, scratch, 0);
    return connection.close(error.closeCode, error.code);
  }
  const keyId = session.key!.keyId;
  const stream = routing.stream(keyId)!;
  // Recent messages are kept from the first logon on; older ones come from the journal.
  stream.history ??= new ReplayHistory(ServerTemplates.maxBlockLength, REPLAY_HISTORY_MESSAGES, stream.nextServerSequence);
  connection.origin = keyOrigin(data.gatewayId, keyId);
  connectionByKey.set(keyId, connection);
  connection.send(T.LogonAck, writeLogonAck(session, scratch), 0);
}

const REPLAY_REQUEST_ID = ClientTemplates.byName.ReplayRequest.id;
/** Journal replays running in this gateway (at most JOURNAL_REPLAYS_MAX). */
let journalReplays = 0;

/**
 * ReplayRequest(from, to): the key's messages from..to (to 0: the newest) with their
 * original sequences, then ReplayComplete. From the in-memory history when it still
 * holds `from`, else from the journal (asynchronously; live messages interleave).
 */
function replay(connection: Connection, from: number, to: number): void {
  const stream = routing.stream(connection.keyId)!;
  const newest = stream.nextServerSequence - 1;
  const last = to === 0 ? newest : Math.min(to, newest);
  if (from < 1 || from > last + 1) return replayRefused(connection, 'REPLAY_UNAVAILABLE', `${from}..${to}: the newest message is ${newest}`);
  if (connection.replaying) return replayRefused(connection, 'REPLAY_BUSY', 'a journal replay runs for this session');
  const history = stream.history!;
  if (from >= history.first || from > last) return replayFromHistory(connection, history, from, last);
  if (!journalReachable(stream.index, from)) {
    return replayRefused(connection, 'REPLAY_UNAVAILABLE', `${from}..${to}: older than the key's sequence index reaches`);
  }
  if (journalReplays >= JOURNAL_REPLAYS_MAX) return replayRefused(connection, 'REPLAY_BUSY', `${journalReplays} journal replays run`);
  connection.flush();
  connection.replaying = true;
  journalReplays++;
  const encoder = new FrameEncoder(new Uint8Array(FRAME_BYTES));
  const target = {
    sendFrame: (frame: Uint8Array) => connection.socket.send(Buffer.from(frame)),
    bufferedBytes: () => connection.socket.bufferedAmount,
    open: () => !connection.closed,
  };
  replayFromJournal(data.journalPath, stream, stream.index, from, last, encoder, target).then(
    (result) => {
      if (result === 'done') replayComplete(connection, from, last);
      else if (result === 'unavailable') replayRefused(connection, 'REPLAY_UNAVAILABLE', `${from}..${to}: older than the key's sequence index reaches`);
    },
    (error: Error) => {
      parentPort!.postMessage({ type: 'log', level: 'error', message: `key ${stream.keyId} replay ${from}..${last}: ${error.stack}` });
      replayRefused(connection, 'REPLAY_UNAVAILABLE', 'journal read failed');
    },
  ).finally(() => {
    connection.replaying = false;
    journalReplays--;
  });
}

function replayRefused(connection: Connection, code: 'REPLAY_UNAVAILABLE' | 'REPLAY_BUSY', detail: string): void {
  const retryAfterMs = code === 'REPLAY_BUSY' ? JOURNAL_REPLAY_RETRY_MS : 0;
  connection.reject(protocolError(code, detail, REPLAY_REQUEST_ID, 0), REPLAY_REQUEST_ID, 0, retryAfterMs);
  connection.flush();
}

function replayComplete(connection: Connection, from: number, last: number): void {
  scratch.fill(0);
  scratch[T.ReplayComplete.at.fromSequence] = from;
  scratch[T.ReplayComplete.at.toSequence] = last;
  connection.send(T.ReplayComplete, scratch, 0);
  connection.flush();
}

function replayFromHistory(connection: Connection, history: ReplayHistory, from: number, last: number): void {
  connection.flush();
  const parts: Uint8Array[] = [];
  let bytes = 0;
  for (let s = from; s <= last; s++) {
    const message = history.get(s)!;
    if (bytes + message.length > FRAME_BYTES || parts.length === connection.encoder.limits.maxMessagesPerFrame) {
      connection.socket.send(Buffer.concat(parts));
      parts.length = 0;
      bytes = 0;
    }
    parts.push(message);
    bytes += message.length;
  }
  if (parts.length > 0) connection.socket.send(Buffer.concat(parts));
  replayComplete(connection, from, last);
}

function orderStatus(connection: Connection, refSeq: number, account: number, orderId: number, clientOrderId: number): void {
  const order = views.order(account, orderId, clientOrderId);
  const at = T.OrderStatus.at;
  scratch.fill(0);
  scratch[at.refSeq] = refSeq;
  scratch[at.account] = account;
  scratch[at.orderId] = order?.orderId ?? orderId;
  scratch[at.clientOrderId] = order?.clientOrderId ?? clientOrderId;
  if (order !== undefined) {
    scratch[at.instrument] = order.instrument;
    scratch[at.side] = order.side;
    scratch[at.price] = order.price;
    scratch[at.quantity] = order.quantity;
    scratch[at.leavesQuantity] = order.leaves;
  }
  scratch[at.status] = order?.status ?? OrderStatusCode.NotFound;
  connection.send(T.OrderStatus, scratch, 0);
}

function accountSummary(connection: Connection, refSeq: number, account: number): void {
  const view = views.account(account);
  const at = T.AccountSummary.at;
  scratch.fill(0);
  scratch[at.refSeq] = refSeq;
  scratch[at.account] = account;
  scratch[at.cashBalance] = view?.cash ?? 0;
  scratch[at.reservedCash] = view?.reserved ?? 0;
  if (view !== undefined) {
    const { equity, maintenanceRequirement } = views.valuation(view);
    scratch[at.status] = view.status;
    scratch[at.equity] = equity;
    scratch[at.maintenanceRequirement] = maintenanceRequirement;
  }
  connection.send(T.AccountSummary, scratch, 0);
}

function positions(connection: Connection, refSeq: number, account: number, instrument: number): void {
  const view = views.account(account);
  const rows = view === undefined ? [] : [...view.positions.values()].filter((p) => instrument === 0 || p.instrument === instrument);
  const at = T.PositionReport.at;
  const send = (index: number) => {
    scratch.fill(0);
    scratch[at.refSeq] = refSeq;
    scratch[at.account] = account;
    scratch[at.reportCount] = rows.length;
    if (index > 0) {
      const p = rows[index - 1];
      scratch[at.instrument] = p.instrument;
      scratch[at.quantity] = p.quantity;
      scratch[at.costBasis] = p.costBasis;
      scratch[at.realizedPnl] = p.realizedPnl;
      scratch[at.reportIndex] = index;
    }
    connection.send(T.PositionReport, scratch, 0);
  };
  if (rows.length === 0) send(0);
  for (let i = 1; i <= rows.length; i++) send(i);
}

function onClose(connection: Connection): void {
  connection.closed = true;
  connections.delete(connection.id);
  if (connectionByKey.get(connection.keyId) === connection) connectionByKey.delete(connection.keyId);
  if (connection.session.phase === SessionPhase.Active || connection.session.record !== null) {
    const released = registry.release(connection.session);
    if (released.cancelAccount !== 0) massCancel(released.cancelAccount, connection.keyId);
  }
}

// ------------------------------------------------------------------ outbound

const touched = new Set<Connection>();
/** The clock as read once for the outbound batch being routed (µs). */
let batchMicros = 0;
const connectionByKey = new Map<number, Connection>();
const offlineEncoder = new FrameEncoder(new Uint8Array(FRAME_BYTES));

/** Delivers one durable event to every served key it is routed to (key-routing.ts). */
function route(words: Float64Array, offset: number): void {
  const code = words[offset + EventHeader.type];
  views.apply(words, offset);
  if (originGatewayId(words[offset + EventHeader.origin]) === data.gatewayId) {
    // Order-to-ack: from the gateway's receive stamp (the command's timestamp) to release after durability.
    if (code === ACCEPTED) ackLatency.recordValue(Math.max(1, batchMicros - words[offset + EventHeader.timestamp]));
    else if (code === ORDER_REJECTED || code === CANCEL_REJECTED) {
      const reason = words[offset + (code === ORDER_REJECTED ? ORDER_REJECT_REASON : CANCEL_REJECT_REASON)];
      stats.rejectsByReason[reason] = (stats.rejectsByReason[reason] ?? 0) + 1;
    }
  }
  const n = routing.route(words, offset);
  if (n === 0) return;
  const template = ServerTemplates.byCoreCode[code]!;
  const recipients = routing.recipients;
  for (let k = 0; k < n; k++) deliver(recipients[k], template, words, offset);
}

/**
 * Numbers the event in the key's stream and sends it to the key's live session; a
 * disconnected key's message is numbered all the same (and kept in its history once
 * it has logged on since start): the key's stream has no holes.
 */
function deliver(stream: KeyStream, template: WireTemplate, words: Float64Array, offset: number): void {
  const sequence = stream.take(words[offset + EventHeader.sequence]);
  const connection = connectionByKey.get(stream.keyId);
  if (connection !== undefined && !connection.closed && connection.session.phase === SessionPhase.Active) {
    stream.history!.store(sequence, connection.sendSequenced(template, words, offset, sequence));
    touched.add(connection);
    return;
  }
  const history = stream.history;
  if (history === null) return; // not logged on since start: a replay reads the journal
  offlineEncoder.reset();
  offlineEncoder.append(template, words, offset, sequence);
  history.store(sequence, offlineEncoder.view());
}

/** The next event the pump must see: the scan numbered every event before it. */
let expectedEvent = data.recoveredSequence + 1;
/** The event the newest checkpoint includes (or the start), and the checkpoint being written, if any. */
let lastCheckpointEvent = data.recoveredSequence;
let checkpointWrite: Promise<void> | undefined;
/** Reused by every running checkpoint: one is captured only after the previous one is written. */
const checkpointBuffers = new SaveBuffers();

/**
 * Every checkpointEveryEvents events: the state as of the last routed event (all durable: the
 * pump routes nothing beyond the durable sequence) is captured now, between two batches, and
 * written in the background while the pump goes on. A point that is not a record boundary is
 * skipped (tried again after the next batch).
 */
function checkpointWhileRunning(): void {
  const event = expectedEvent - 1;
  const state = captureCheckpoint(event, routing, views, checkpointBuffers);
  checkpointWrite = writeCheckpoint(data.journalPath, data.gatewayId, state).then(
    (saved) => { if (saved) lastCheckpointEvent = event; },
    (error: Error) => parentPort!.postMessage({ type: 'log', level: 'warn', message: `gateway ${data.gatewayId}: checkpoint at event ${event} not saved: ${error.message}` }),
  ).finally(() => { checkpointWrite = undefined; });
}

async function pumpOutbound(): Promise<void> {
  const words = consumer.words;
  for (;;) {
    const next = consumer.nextSequence;
    const end = await consumer.waitForAsync(next, 100);
    const durable = control.durableSequence;
    batchMicros = nowMicros();
    // Index from 0, not the sequence: V8 boxes loop counters above 2^31.
    const count = end - next;
    let i = 0;
    for (; i < count; i++) {
      const offset = consumer.offsetOf(next + i);
      if (words[offset] >= COMMAND_ECHO_FLAG) continue; // command echo or batch end
      const eventSequence = words[offset + EventHeader.sequence];
      if (eventSequence > durable) break; // not durable yet: hold it
      if (eventSequence !== expectedEvent) throw new Error(`event ${eventSequence} in the ring, expected ${expectedEvent}: numbering would skip or repeat`);
      expectedEvent++;
      route(words, offset);
    }
    const s = next + i;
    for (const connection of touched) connection.flush(batchMicros);
    touched.clear();
    if (s > next) consumer.release(s);
    if (expectedEvent - 1 - lastCheckpointEvent >= data.checkpointEveryEvents && checkpointWrite === undefined) checkpointWhileRunning();
    if (s < end) await control.waitDurableAsync(control.durableTick, 20);
    if (stopping && control.matcherState >= WorkerState.Stopped && consumer.nextSequence === consumer.available()) return;
  }
}

// ------------------------------------------------------------------ server and timers

let stopping = false;
let server: WebSocketServer | undefined;

function listen(): void {
  if (stopping) return;
  const wss = new WebSocketServer({ host: data.host, port: data.port, maxPayload: FRAME_BYTES, perMessageDeflate: false });
  server = wss;
  wss.on('connection', (socket) => {
    if (stopping) return socket.close(CloseCode.GOING_AWAY, 'shutting down');
    const connection = new Connection(nextConnectionId++, socket);
    connections.set(connection.id, connection);
    if (readingPaused) socket.pause(); // resumed with the others
    socket.on('message', (raw, isBinary) => {
      try {
        onFrame(connection, raw, isBinary);
      } catch (error) {
        // A bug, not bad input (bad input is rejected above): drop this connection only.
        parentPort!.postMessage({ type: 'log', level: 'error', message: `connection ${connection.id}: ${(error as Error).stack}` });
        connection.close(CloseCode.MALFORMED_FRAME, 'internal error');
      }
    });
    socket.on('close', () => onClose(connection));
    socket.on('error', () => onClose(connection));
  });
  wss.on('error', (error) => parentPort!.postMessage({ type: 'fatal', message: `gateway ${data.gatewayId} port ${data.port}: ${error.message}` }));
  wss.on('listening', () => parentPort!.postMessage({ type: 'listening', port: data.port }));
}

const timer = setInterval(() => {
  const now = nowMicros();
  for (const connection of connections.values()) {
    const session = connection.session;
    switch (session.poll(now)) {
      case TimerAction.SendHeartbeat:
        scratch.fill(0);
        connection.send(T.Heartbeat, scratch, 0);
        connection.flush();
        break;
      case TimerAction.SendTestRequest:
        scratch.fill(0);
        scratch[T.TestRequest.at.testRequestId] = session.testRequestId;
        connection.send(T.TestRequest, scratch, 0);
        connection.flush();
        break;
      case TimerAction.DisconnectMissedHeartbeats:
        connection.close(CloseCode.HEARTBEAT_TIMEOUT, 'missed heartbeats');
        break;
      case TimerAction.DisconnectLogonTimeout:
        connection.close(CloseCode.LOGON_REQUIRED, 'no logon');
        break;
      case TimerAction.DeadManSwitchFired:
        massCancel(session.key!.account, connection.keyId);
        break;
      default:
    }
  }
  for (let account = registry.pollDisconnected(now); account !== 0; account = registry.pollDisconnected(now)) massCancel(account, 0);
  publishOwedMassCancels();
}, TIMER_INTERVAL_MS);

const statsTimer = setInterval(() => {
  let sessions = 0;
  for (const connection of connections.values()) if (connection.session.phase === SessionPhase.Active) sessions++;
  const p = (q: number) => (ackLatency.totalCount === 0 ? 0 : ackLatency.getValueAtPercentile(q));
  parentPort!.postMessage({
    type: 'stats', sessions, ...stats, rejectsByReason: { ...stats.rejectsByReason },
    ackLatencyMicros: { p50: p(50), p99: p(99), p999: p(99.9), max: ackLatency.maxValue, count: ackLatency.totalCount },
  });
  ackLatency.reset();
}, STATS_INTERVAL_MS);

parentPort!.on('message', (message: { type: string }) => {
  if (message.type !== 'stop') return;
  stopping = true;
  clearInterval(timer);
  clearInterval(statsTimer);
  for (const connection of connections.values()) connection.close(CloseCode.GOING_AWAY, 'shutting down');
  if (server === undefined) return parentPort!.postMessage({ type: 'closed' });
  server.close(() => parentPort!.postMessage({ type: 'closed' }));
});

/** Numbers every served key's journaled messages, then listens, then follows the ring from the next event. */
async function main(): Promise<void> {
  const log = (message: string) => parentPort!.postMessage({ type: 'log', level: 'info', message });
  const rate = (r: ScanReport) => Math.round(r.events / Math.max(r.millis, 1) * 1000);
  const restored = await restoreCheckpoint(data.journalPath, data.gatewayId, data.recoveredSequence, routing, views);
  if (restored.reason !== undefined) log(`gateway ${data.gatewayId}: scanning the whole journal (${restored.reason})`);
  const scanned = await scanJournal(data.journalPath, data.recoveredSequence, routing, (words, offset) => views.apply(words, offset), (r) => {
    log(`gateway ${data.gatewayId}: numbering session sequences, event ${r.fromSequence + r.events - 1} of ${data.recoveredSequence} (${rate(r)} events/s)`);
  }, restored.eventSequence + 1);
  log(`gateway ${data.gatewayId}: session sequences of ${routing.streams.length} keys from ${scanned.events} journal events `
    + `(${scanned.fromSequence}..${data.recoveredSequence}; ${scanned.records} records, ${scanned.messages} messages) in ${Math.round(scanned.millis)} ms, ${rate(scanned)} events/s`);
  listen();
  await pumpOutbound();
  await checkpointWrite;
  // Drained: everything routed is in the journal. The next start scans only what comes after.
  if (await saveCheckpoint(data.journalPath, data.gatewayId, expectedEvent - 1, routing, views)) {
    log(`gateway ${data.gatewayId}: checkpoint of session sequences at event ${expectedEvent - 1}`);
  }
  closeCheckpointLookups();
}

main().then(
  () => parentPort!.postMessage({ type: 'drained' }),
  (error: Error) => parentPort!.postMessage({ type: 'fatal', message: `gateway ${data.gatewayId} outbound: ${error.stack}` }),
);
