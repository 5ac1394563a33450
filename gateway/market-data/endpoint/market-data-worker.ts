/**
 * The market-data endpoint thread (docs/market-data.md, "The endpoint"): a `ws`
 * server on config.marketDataPort serving public data without authentication.
 *
 * Start: rebuild the publisher from the journal file (events 1..the recovered
 * sequence; a publisher must see the stream from event 1), then listen, then read
 * the outbound ring as one consumer from the first record after recovery.
 *
 * Steady state: feed the publisher only what the journal has made durable (like the
 * order-entry worker's acks), so a subscriber never sees a trade a crash could undo.
 * After each round, move every subscriber's bounded buffer into its socket while the
 * socket's unsent bytes stay below sendHighWaterBytes. A subscriber whose buffer
 * overflows (the publisher's Subscriber limits), or whose socket holds more than
 * maxBufferedBytes, is closed with 4006 SLOW_CONSUMER; nobody else waits for it, and
 * the ring consumer never waits for any socket.
 *
 * Shutdown: 'stop' closes every connection (1001) and the listener; the ring is still
 * drained until the matcher has stopped, so this consumer never gates the matcher.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { WebSocketServer, WebSocket, RawData } from 'ws';
import { SpmcConsumer } from '../../../core/ring';
import { ControlBlock, WorkerState } from '../../../core/runtime/control-block';
import { COMMAND_ECHO_FLAG } from '../../../core/event-buffer';
import { EventHeader } from '../../../core/schema';
import { readJournalFile } from '../../../journal/sqlite-journal';
import { SnapshotStore } from '../../../snapshots/snapshot-store';
import { restoreImage } from '../../../core/state-image';
import { RiskEngine } from '../../../core/risk-engine';
import { seedFromMatcher } from '../seed-from-image';
import { CloseCode } from '../../protocol/close-codes';
import { DecodeStep, FrameDecoder } from '../../protocol/decoder';
import { ProtocolError } from '../../protocol/errors';
import {
  ChannelCode, MD_SERVER_FRAME_LIMITS, MarketDataClientTemplates, MarketDataReject, MarketDataServerTemplates, channelOfCode,
} from '../../protocol/market-data-schema';
import { DEFAULT_FRAME_LIMITS } from '../../protocol/frame-limits';
import type { WireTemplate } from '../../protocol/wire-schema';
import type { Channel, MarketDataMessage } from '../messages';
import { MarketDataPublisher } from '../publisher';
import type { Subscriber } from '../subscriber';
import type { MarketDataEndpointOptions } from './options';
import { MarketDataWireEncoder, wireSize } from './wire-codec';

export interface MarketDataWorkerData {
  outbound: SharedArrayBuffer;
  control: SharedArrayBuffer;
  consumerIndex: number;
  host: string;
  port: number;
  journalPath: string;
  /** The sequence the matcher recovered to: events 1..recoveredSequence come from the journal file. */
  recoveredSequence: number;
  options: MarketDataEndpointOptions;
}

/** Close code for a connection over maxConnections (RFC 6455 "Try Again Later"). */
export const CLOSE_TRY_AGAIN_LATER = 1013;

const MAX_RECORDS_PER_ROUND = 8192;
const DRAIN_MESSAGES_PER_STEP = 256;
const T = MarketDataServerTemplates.byName;
const C = MarketDataClientTemplates.byName;

const data = workerData as MarketDataWorkerData;
const options = data.options;
const control = ControlBlock.attach(data.control);
const consumer = SpmcConsumer.attach(data.outbound, data.consumerIndex);
const wire = new MarketDataWireEncoder();
/** Each published message is encoded once, then copied into every subscriber's frames. */
const encoded = new WeakMap<MarketDataMessage, Uint8Array>();
const publisher = new MarketDataPublisher({
  l2Depth: options.l2Depth, maxPendingMessages: options.maxPendingMessages, maxPendingBytes: options.maxPendingBytes, messageBytes: wireSize,
});
const decoder = new FrameDecoder(MarketDataClientTemplates, DEFAULT_FRAME_LIMITS);
const nowMicros = () => Date.now() * 1000;
const FRAME_BYTES = MD_SERVER_FRAME_LIMITS.maxFrameBytes;
const FRAME_MESSAGES = MD_SERVER_FRAME_LIMITS.maxMessagesPerFrame;

function bytesOf(message: MarketDataMessage): Uint8Array {
  let bytes = encoded.get(message);
  if (bytes === undefined) {
    bytes = wire.encode(message);
    encoded.set(message, bytes);
  }
  return bytes;
}

function log(level: 'info' | 'warn' | 'error', message: string): void {
  parentPort!.postMessage({ type: 'log', level, message });
}

class Connection {
  readonly subscriber: Subscriber;
  closed = false;
  /** Date.now() of the last frame sent. */
  lastSendMs = Date.now();
  private readonly frame = new Uint8Array(FRAME_BYTES);
  private length = 0;
  private count = 0;

  constructor(readonly id: number, readonly socket: WebSocket) {
    this.subscriber = publisher.createSubscriber();
  }

  /** Appends wire messages (whole ones, back to back), sending full frames as they fill. */
  append(bytes: Uint8Array): void {
    if (this.closed) return;
    let p = 0;
    while (p < bytes.length) {
      const length = bytes[p] | (bytes[p + 1] << 8);
      if (this.length + length > FRAME_BYTES || this.count === FRAME_MESSAGES) this.sendFrame();
      this.frame.set(bytes.subarray(p, p + length), this.length);
      this.length += length;
      this.count++;
      p += length;
    }
  }

  control(template: WireTemplate, values: Readonly<Record<string, number>>): void {
    this.append(wire.encodeControl(template, values));
  }

  /** Moves buffered messages into the socket while it is below the high-water mark; `all` ignores the mark. */
  pump(all = false): void {
    if (this.closed) return;
    const subscriber = this.subscriber;
    while (subscriber.pendingMessages > 0 && (all || this.socket.bufferedAmount + this.length < options.sendHighWaterBytes)) {
      const messages = subscriber.drain(DRAIN_MESSAGES_PER_STEP);
      for (let i = 0; i < messages.length; i++) this.append(bytesOf(messages[i]));
    }
    this.sendFrame();
    if (this.socket.bufferedAmount > options.maxBufferedBytes) this.close(CloseCode.SLOW_CONSUMER, 'slow consumer: send buffer full');
  }

  sendFrame(): void {
    if (this.length === 0 || this.closed) return;
    if (this.socket.readyState === WebSocket.OPEN) {
      // ws may write after send() returns: hand it a copy, reuse ours.
      this.socket.send(Buffer.from(this.frame.subarray(0, this.length)));
      this.lastSendMs = Date.now();
    }
    this.length = 0;
    this.count = 0;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    if (code === CloseCode.SLOW_CONSUMER) slowConsumerDrops++;
    if (code !== CloseCode.SLOW_CONSUMER) this.sendFrame();
    this.closed = true;
    this.subscriber.close();
    this.socket.close(code, reason.slice(0, 120));
    const socket = this.socket;
    setTimeout(() => socket.terminate(), options.closeGraceMs).unref();
  }
}

const connections = new Map<number, Connection>();
/** Subscribers disconnected as slow consumers since start (reported to the supervisor's metrics). */
let slowConsumerDrops = 0;
const bySubscriber = new Map<Subscriber, Connection>();
let nextConnectionId = 1;
/** Subscribe/unsubscribe requests that arrived while the publisher was inside a command. */
let deferred: Array<{ connection: Connection; template: WireTemplate; instrument: number; channel: Channel; snapshot: boolean }> = [];
let stopping = false;

// ------------------------------------------------------------------ requests

function channelSequence(instrument: number, channel: Channel): number {
  switch (channel) {
    case 'orders': return publisher.orders.sequence(instrument);
    case 'l2': return publisher.l2.sequence(instrument);
    case 'trades': return publisher.trades.sequence(instrument);
    case 'bbo': return publisher.bboSnapshot(instrument).sequence;
    case 'candles': return publisher.candles.sequence(instrument);
    case 'status': return publisher.statusSnapshot(instrument)?.sequence ?? 0;
  }
}

function reject(connection: Connection, instrument: number, channel: number, reason: number, refTemplateId: number): void {
  connection.control(T.SubscriptionReject, { instrument, sequence: 0, timestamp: nowMicros(), channel, reason, refTemplateId });
}

/** Applies a Subscribe or Unsubscribe; the publisher must be between commands. */
function apply(connection: Connection, template: WireTemplate, instrument: number, channel: Channel, snapshot: boolean): void {
  if (connection.closed) return;
  const subscriber = connection.subscriber;
  const code = ChannelCode[channel];
  if (template === C.Unsubscribe) {
    subscriber.unsubscribe(instrument, channel);
    connection.pump(true); // everything queued for the channel goes out before the acknowledgement
    connection.control(T.Unsubscribed, { instrument, sequence: channelSequence(instrument, channel), timestamp: nowMicros(), channel: code });
    return;
  }
  if (subscriber.status !== 'active') return;
  if (stopping) return reject(connection, instrument, code, MarketDataReject.SHUTTING_DOWN, template.id);
  if (publisher.statusSnapshot(instrument) === undefined) return reject(connection, instrument, code, MarketDataReject.UNKNOWN_INSTRUMENT, template.id);
  if (!subscriber.subscriptions.has(`${instrument}:${channel}`) && subscriber.subscriptions.size >= options.maxSubscriptionsPerConnection) {
    return reject(connection, instrument, code, MarketDataReject.TOO_MANY_SUBSCRIPTIONS, template.id);
  }
  connection.pump(true);
  connection.control(T.Subscribed, {
    instrument, sequence: channelSequence(instrument, channel), timestamp: nowMicros(), channel: code, snapshot: snapshot ? 1 : 0,
  });
  subscriber.subscribe(instrument, channel, { snapshot });
}

function onFrame(connection: Connection, raw: RawData, isBinary: boolean): void {
  const frame = raw instanceof Buffer ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw as ArrayBuffer);
  const error = decoder.begin(frame, isBinary);
  if (error !== null) return connection.close(error.closeCode, error.code);
  for (;;) {
    const step = decoder.next();
    if (step === DecodeStep.End) break;
    const template = decoder.template;
    if (step === DecodeStep.Reject) {
      const e = decoder.error as ProtocolError;
      reject(connection, 0, 0, e.reason, template?.id ?? e.templateId);
      continue;
    }
    const record = decoder.record;
    const at = template!.at;
    if (template === C.Heartbeat) {
      const testRequestId = record[at.testRequestId];
      if (testRequestId !== 0) connection.control(T.Heartbeat, { testRequestId });
      continue;
    }
    const instrument = record[at.instrument];
    const channel = channelOfCode(record[at.channel])!; // the decoder enforced the enum
    const snapshot = template === C.Subscribe && record[at.snapshot] === 1;
    if (publisher.inCommand) deferred.push({ connection, template: template!, instrument, channel, snapshot });
    else apply(connection, template!, instrument, channel, snapshot);
  }
  connection.pump();
}

function onClose(connection: Connection): void {
  if (!connection.closed) {
    connection.closed = true;
    connection.subscriber.close();
  }
  connections.delete(connection.id);
  bySubscriber.delete(connection.subscriber);
}

// ------------------------------------------------------------------ the ring

/** After records were applied: deferred requests, slow consumers, sockets. */
function afterRound(): void {
  if (!publisher.inCommand && deferred.length > 0) {
    const requests = deferred;
    deferred = [];
    for (const r of requests) apply(r.connection, r.template, r.instrument, r.channel, r.snapshot);
  }
  for (const subscriber of publisher.takeSlowConsumers()) {
    bySubscriber.get(subscriber)?.close(CloseCode.SLOW_CONSUMER, 'slow consumer: buffer limit');
  }
  for (const connection of connections.values()) connection.pump();
}

async function pumpRing(): Promise<void> {
  const words = consumer.words;
  for (;;) {
    const next = consumer.nextSequence;
    const end = await consumer.waitForAsync(next, 50);
    const tick = control.durableTick; // before reading the sequence: no lost wake-up
    const durable = control.durableSequence;
    const count = Math.min(end - next, MAX_RECORDS_PER_ROUND);
    // Index from 0, not the sequence: V8 boxes loop counters above 2^31.
    let i = 0;
    for (; i < count; i++) {
      const offset = consumer.offsetOf(next + i);
      const code = words[offset];
      // Echoes and BATCH_END carry no event sequence: they pass (they only end the command before them).
      if (code !== 0 && code < COMMAND_ECHO_FLAG && words[offset + EventHeader.sequence] > durable) break; // not durable yet
      publisher.onRecord(words, offset);
    }
    if (i > 0) consumer.release(next + i);
    afterRound();
    if (i < count) await control.waitDurableAsync(tick, 20);
    else if (count > 0) await yieldToEventLoop(); // sockets and requests get their turn under load
    if (stopping && control.matcherState >= WorkerState.Stopped && consumer.nextSequence === consumer.available()) return;
  }
}

/**
 * The publisher's state at the recovered sequence: seeded from the newest snapshot
 * at or before it (books as they stood), then the journal's events after the
 * snapshot, command by command; from event 1 when there is no usable snapshot.
 */
async function rebuild(): Promise<{ events: number; records: number; fromSnapshot: number | null }> {
  const last = data.recoveredSequence;
  if (last === 0) return { events: 0, records: 0, fromSnapshot: null };
  let from = 1;
  let fromSnapshot: number | null = null;
  const store = SnapshotStore.forJournal(data.journalPath);
  for (const entry of store.list()) {
    if (entry.sequence > last) continue;
    try {
      const snapshot = store.load(entry.sequence);
      const matcher = restoreImage(snapshot.image, { risk: snapshot.risk ? new RiskEngine() : null });
      const seeded = seedFromMatcher(publisher, matcher);
      log('info', `market data seeded from snapshot ${entry.sequence}: ${seeded.instruments} instruments, ${seeded.orders} orders`);
      from = entry.sequence + 1;
      fromSnapshot = entry.sequence;
      break;
    } catch (error) {
      log('warn', `market data: snapshot ${entry.sequence} unusable (${(error as Error).message}); trying an older one`);
    }
  }
  let expected = from;
  let records = 0;
  let events = 0;
  for await (const record of readJournalFile(data.journalPath, from)) {
    if (record.firstSequence > last) break;
    if (record.lastSequence < from) continue;
    if (record.firstSequence !== expected) {
      throw new Error(`journal record at ${record.firstSequence}, expected ${expected}: market data needs every event after ${from - 1}`);
    }
    if (record.command[0] !== 0) publisher.endCommand(); // type 0: continuation of the command before
    const count = record.lastSequence - record.firstSequence + 1;
    publisher.onRecords(record.events, 0, count);
    expected = record.lastSequence + 1;
    events += count;
    records++;
  }
  publisher.endCommand();
  if (expected !== last + 1) throw new Error(`journal ends at ${expected - 1}, the matcher recovered to ${last}`);
  return { events, records, fromSnapshot };
}

// ------------------------------------------------------------------ server

let server: WebSocketServer | undefined;

function listen(): void {
  if (stopping) return;
  const wss = new WebSocketServer({ host: data.host, port: data.port, maxPayload: DEFAULT_FRAME_LIMITS.maxFrameBytes, perMessageDeflate: false });
  server = wss;
  wss.on('connection', (socket) => {
    if (stopping) return socket.close(CloseCode.GOING_AWAY, 'shutting down');
    if (connections.size >= options.maxConnections) return socket.close(CLOSE_TRY_AGAIN_LATER, 'too many connections');
    const connection = new Connection(nextConnectionId++, socket);
    connections.set(connection.id, connection);
    bySubscriber.set(connection.subscriber, connection);
    socket.on('message', (raw, isBinary) => {
      try {
        onFrame(connection, raw, isBinary);
      } catch (error) {
        // A bug, not bad input (bad input is rejected above): drop this connection only.
        log('error', `market-data connection ${connection.id}: ${(error as Error).stack}`);
        connection.close(CloseCode.MALFORMED_FRAME, 'internal error');
      }
    });
    socket.on('close', () => onClose(connection));
    socket.on('error', () => onClose(connection));
  });
  wss.on('error', (error) => parentPort!.postMessage({ type: 'fatal', message: `market data port ${data.port}: ${error.message}` }));
  wss.on('listening', () => parentPort!.postMessage({ type: 'listening', port: data.port }));
}

const heartbeat = setInterval(() => {
  const now = Date.now();
  for (const connection of connections.values()) {
    if (connection.closed || now - connection.lastSendMs < options.heartbeatIntervalMs) continue;
    connection.control(T.Heartbeat, { testRequestId: 0 });
    connection.sendFrame();
  }
}, Math.max(50, Math.floor(options.heartbeatIntervalMs / 4)));

const statsTimer = setInterval(() => {
  parentPort!.postMessage({ type: 'stats', kind: 'market-data', subscribers: connections.size, slowConsumerDrops });
}, 1000);

parentPort!.on('message', (message: { type: string }) => {
  if (message.type !== 'stop') return;
  stopping = true;
  clearInterval(heartbeat);
  clearInterval(statsTimer);
  for (const connection of connections.values()) connection.close(CloseCode.GOING_AWAY, 'shutting down');
  if (server === undefined) return parentPort!.postMessage({ type: 'closed' });
  server.close(() => parentPort!.postMessage({ type: 'closed' }));
});

async function main(): Promise<void> {
  const started = performance.now();
  const rebuilt = await rebuild();
  log('info', `market data rebuilt: ${rebuilt.fromSnapshot === null ? "from event 1" : `from snapshot ${rebuilt.fromSnapshot}`}, then ${rebuilt.events} journal events in ${rebuilt.records} records, ${Math.round(performance.now() - started)} ms`);
  listen();
  await pumpRing();
}

main().then(
  () => parentPort!.postMessage({ type: 'drained' }),
  (error: Error) => parentPort!.postMessage({ type: 'fatal', message: `market data: ${error.stack}` }),
);
