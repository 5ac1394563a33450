/**
 * The TypeScript client SDK for the market-data endpoint (docs/market-data.md,
 * "Wire protocol"): connect (no logon: public data), subscribe, and receive typed
 * messages. For every instrument whose `l2` channel it follows it keeps a local
 * book (L2ClientBook) verified by sequence and checksum; on a gap, a checksum
 * mismatch or a broken message run it resyncs by itself — it subscribes again with
 * a snapshot, buffers updates meanwhile, and applies the snapshot then the buffered
 * updates. `orders`, `bbo` and `status` resync the same way on a gap (their
 * snapshot is the order book / last message); `trades` and `candles` have no
 * snapshot, so a gap there is only reported ('gap').
 *
 *   const md = new MarketDataClient({ url: 'ws://127.0.0.1:9200' });
 *   await md.connect();
 *   md.subscribe(1, 'l2');
 *   md.on('book', (instrument, book) => console.log(book.levels(Side.Buy)[0]));
 *   md.on('message', (m) => { if (m.type === 'trade') console.log(m.price, m.quantity); });
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { closeSocket, nextMatching } from './socket';
import { DecodeStep, FrameDecoder } from '../protocol/decoder';
import { FrameEncoder } from '../protocol/encoder';
import { ProtocolError } from '../protocol/errors';
import { ChannelCode, MD_SERVER_FRAME_LIMITS, MarketDataClientTemplates, MarketDataServerTemplates } from '../protocol/market-data-schema';
import { RECORD_WORDS } from '../protocol/wire-schema';
import { toRecord } from '../protocol/messages';
import { L2ClientBook } from '../market-data/l2-client-book';
import type { Channel, L2Snapshot, L2Update, MarketDataMessage } from '../market-data/messages';
import { DecodedMarketData, MarketDataAssembler, MarketDataControlMessage, isControlMessage } from '../market-data/endpoint/wire-codec';

export type { DecodedMarketData, MarketDataControlMessage } from '../market-data/endpoint/wire-codec';

export interface MarketDataClientOptions {
  url: string;
  /** Resubscribe with a snapshot by itself on a gap or checksum mismatch (default true). */
  autoResync?: boolean;
  /** Keep every decoded message in `received` for next() (default true; turn off for long runs). */
  keepReceived?: boolean;
}

export type ResyncReason = 'gap' | 'checksum-mismatch' | 'no-snapshot' | 'broken-run';

export interface GapInfo {
  instrument: number;
  channel: Channel;
  expected: number;
  got: number;
}

/** Typed events (on/once/off accept these names and listeners). */
export interface MarketDataClientEvents {
  /** Every data message, in arrival order (after `dropIncoming`). */
  message: (message: MarketDataMessage) => void;
  /** Subscribed, Unsubscribed, SubscriptionReject, Heartbeat. */
  control: (message: MarketDataControlMessage) => void;
  /** The local L2 book of an instrument changed and verified (snapshot or update). */
  book: (instrument: number, book: L2ClientBook) => void;
  /** A resync started (a new snapshot was requested). */
  resync: (instrument: number, channel: Channel, reason: ResyncReason) => void;
  /** A sequence gap on a channel (reported for every channel; l2, orders, bbo and status also resync). */
  gap: (gap: GapInfo) => void;
  close: (code: number, reason: string) => void;
  error: (error: Error) => void;
  protocolError: (error: ProtocolError) => void;
}

interface L2State {
  book: L2ClientBook;
  resyncing: boolean;
  /** Updates received while waiting for a snapshot. */
  buffered: L2Update[];
}

const SNAPSHOT_CHANNELS: ReadonlySet<Channel> = new Set<Channel>(['l2', 'orders', 'bbo', 'status']);
const BUFFERED_UPDATES_MAX = 100_000;

export class MarketDataClient extends EventEmitter {
  private ws?: WebSocket;
  private readonly decoder = new FrameDecoder(MarketDataServerTemplates, MD_SERVER_FRAME_LIMITS);
  private readonly encoder = new FrameEncoder(new Uint8Array(4096));
  private readonly record = new Float64Array(RECORD_WORDS);
  private readonly assembler = new MarketDataAssembler();
  private readonly l2 = new Map<number, L2State>();
  /** Last sequence per "instrument:channel" (non-l2 channels). */
  private readonly sequences = new Map<string, number>();
  /** Channels waiting for a resync snapshot (non-l2). */
  private readonly resyncing = new Set<string>();
  readonly received: DecodedMarketData[] = [];
  keepReceived: boolean;
  autoResync: boolean;
  /** Resyncs started (all channels). */
  resyncs = 0;
  /** L2 checksum mismatches seen. */
  checksumMismatches = 0;
  /** Test hook: return true to drop a decoded data message before it is processed (simulates a lost message). */
  dropIncoming?: (message: MarketDataMessage) => boolean;

  constructor(readonly options: MarketDataClientOptions) {
    super();
    this.keepReceived = options.keepReceived ?? true;
    this.autoResync = options.autoResync ?? true;
  }

  override on<E extends keyof MarketDataClientEvents>(event: E, listener: MarketDataClientEvents[E]): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }

  override once<E extends keyof MarketDataClientEvents>(event: E, listener: MarketDataClientEvents[E]): this;
  override once(event: string | symbol, listener: (...args: any[]) => void): this;
  override once(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.once(event, listener);
  }

  /** The underlying ws socket (tests pause it to play a slow reader). */
  get socket(): WebSocket | undefined {
    return this.ws;
  }

  get open(): boolean {
    return this.ws !== undefined && this.ws.readyState === WebSocket.OPEN;
  }

  async connect(): Promise<void> {
    const socket = new WebSocket(this.options.url, { perMessageDeflate: false });
    this.ws = socket;
    socket.binaryType = 'nodebuffer';
    socket.on('message', (data: Buffer, isBinary: boolean) => this.onFrame(data, isBinary));
    socket.on('close', (code, reason) => this.emit('close', code, reason.toString()));
    socket.on('error', (error) => {
      if (this.listenerCount('error') > 0) this.emit('error', error);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
  }

  /**
   * Follows (instrument, channel). snapshot (default true for l2, orders, bbo and
   * status): the channel's current state comes first. For l2 a local book is kept.
   */
  subscribe(instrument: number, channel: Channel, options: { snapshot?: boolean } = {}): void {
    const snapshot = options.snapshot ?? SNAPSHOT_CHANNELS.has(channel);
    if (channel === 'l2' && !this.l2.has(instrument)) {
      this.l2.set(instrument, { book: new L2ClientBook(instrument), resyncing: snapshot, buffered: [] });
    }
    this.send('Subscribe', { instrument, channel: ChannelCode[channel], snapshot: snapshot ? 1 : 0 });
  }

  unsubscribe(instrument: number, channel: Channel): void {
    if (channel === 'l2') this.l2.delete(instrument);
    this.sequences.delete(`${instrument}:${channel}`);
    this.send('Unsubscribe', { instrument, channel: ChannelCode[channel] });
  }

  /** testRequestId ≠ 0: the server answers with a Heartbeat echoing it. */
  heartbeat(testRequestId = 0): void {
    this.send('Heartbeat', { testRequestId });
  }

  /** The local verified L2 book of an instrument (undefined when l2 is not followed). */
  book(instrument: number): L2ClientBook | undefined {
    return this.l2.get(instrument)?.book;
  }

  /** True while the instrument's book waits for a (re)sync snapshot. */
  isResyncing(instrument: number): boolean {
    return this.l2.get(instrument)?.resyncing ?? false;
  }

  /** Last sequence seen on a channel (l2: the book's; -1 / 0 before anything). */
  lastSequence(instrument: number, channel: Channel): number {
    if (channel === 'l2') return this.l2.get(instrument)?.book.sequence ?? -1;
    return this.sequences.get(`${instrument}:${channel}`) ?? 0;
  }

  /** Resolves with the first message (already received or future) matching `predicate`, removing it from `received`. */
  next(predicate: (m: DecodedMarketData) => boolean, timeoutMs = 5000): Promise<DecodedMarketData> {
    return nextMatching<DecodedMarketData>(this, 'decoded', this.received, predicate, timeoutMs, 'market-data message');
  }

  /** Resolves once `condition()` holds, re-checked after every decoded message. */
  until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('decoded', listener);
        reject(new Error(`market-data condition not met within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.off('decoded', listener);
        resolve();
      };
      this.on('decoded', listener);
    });
  }

  sendRaw(bytes: Uint8Array | string): void {
    this.ws!.send(bytes);
  }

  close(): Promise<void> {
    return closeSocket(this.ws);
  }

  terminate(): void {
    this.ws?.terminate();
  }

  // ---------------------------------------------------------------- internals

  private send(name: string, values: Readonly<Record<string, number>>): void {
    const template = MarketDataClientTemplates.byName[name];
    toRecord(template, values, this.record);
    this.encoder.reset();
    this.encoder.append(template, this.record, 0, 0);
    this.ws!.send(Buffer.from(this.encoder.view()));
  }

  private onFrame(frame: Buffer, isBinary: boolean): void {
    if (this.decoder.begin(frame, isBinary) !== null) {
      this.emit('protocolError', this.decoder.error);
      return;
    }
    for (;;) {
      const step = this.decoder.next();
      if (step === DecodeStep.End) break;
      if (step === DecodeStep.Reject) {
        this.emit('protocolError', this.decoder.error);
        continue;
      }
      const message = this.assembler.accept(this.decoder.template!, this.decoder.record);
      for (const instrument of this.assembler.takeBroken()) this.resyncL2(instrument, 'broken-run');
      if (message !== null) this.onMessage(message);
    }
  }

  private onMessage(message: DecodedMarketData): void {
    if (isControlMessage(message)) {
      if (message.type === 'subscribed' && message.channel !== 'l2' && !message.snapshot) {
        this.sequences.set(`${message.instrument}:${message.channel}`, message.sequence);
      }
      this.deliver(message);
      this.emit('control', message);
      return;
    }
    if (this.dropIncoming?.(message) === true) return;
    if (message.channel === 'l2') this.onL2(message);
    else this.checkSequence(message);
    this.deliver(message);
    this.emit('message', message);
  }

  private deliver(message: DecodedMarketData): void {
    if (this.keepReceived) this.received.push(message);
    this.emit('decoded', message);
  }

  /** Sequence tracking for orders, trades, bbo, candles, status. */
  private checkSequence(message: MarketDataMessage): void {
    const key = `${message.instrument}:${message.channel}`;
    if (message.type === 'snapshot' || ((message.channel === 'bbo' || message.channel === 'status') && this.resyncing.has(key))) {
      // A snapshot (orders) or, while resyncing bbo/status, the last message: the new base.
      this.resyncing.delete(key);
      this.sequences.set(key, message.sequence);
      return;
    }
    const last = this.sequences.get(key);
    if (last === undefined) {
      this.sequences.set(key, message.sequence);
      return;
    }
    if (message.sequence <= last) return; // stale (already in a snapshot)
    if (message.sequence > last + 1) {
      this.emit('gap', { instrument: message.instrument, channel: message.channel, expected: last + 1, got: message.sequence });
      if (this.autoResync && SNAPSHOT_CHANNELS.has(message.channel) && !this.resyncing.has(key)) {
        this.resyncing.add(key);
        this.resyncs++;
        this.emit('resync', message.instrument, message.channel, 'gap');
        this.send('Subscribe', { instrument: message.instrument, channel: ChannelCode[message.channel], snapshot: 1 });
      }
    }
    this.sequences.set(key, message.sequence);
  }

  private onL2(message: L2Snapshot | L2Update): void {
    const state = this.l2.get(message.instrument);
    if (state === undefined) return; // not followed (any more)
    if (message.type === 'snapshot') {
      state.book.applySnapshot(message);
      state.resyncing = false;
      const buffered = state.buffered;
      state.buffered = [];
      this.emit('book', message.instrument, state.book);
      for (let i = 0; i < buffered.length; i++) {
        if (this.applyUpdate(state, buffered[i])) continue;
        state.buffered.push(...buffered.slice(i + 1)); // resyncing again: keep the rest for the next snapshot
        break;
      }
      return;
    }
    if (state.resyncing) {
      if (state.buffered.length >= BUFFERED_UPDATES_MAX) state.buffered.length = 0; // the snapshot will cover them
      state.buffered.push(message);
      return;
    }
    this.applyUpdate(state, message);
  }

  /** Applies one update; false when it started a resync. */
  private applyUpdate(state: L2State, update: L2Update): boolean {
    const result = state.book.apply(update);
    switch (result) {
      case 'applied':
        this.emit('book', update.instrument, state.book);
        return true;
      case 'stale':
        return true;
      case 'gap':
        this.emit('gap', { instrument: update.instrument, channel: 'l2', expected: state.book.sequence + 1, got: update.sequence });
        this.resyncL2(update.instrument, 'gap', update);
        return false;
      case 'checksum-mismatch':
        this.checksumMismatches++;
        this.resyncL2(update.instrument, 'checksum-mismatch');
        return false;
      case 'no-snapshot':
        this.resyncL2(update.instrument, 'no-snapshot', update);
        return false;
    }
  }

  private resyncL2(instrument: number, reason: ResyncReason, pending?: L2Update): void {
    const state = this.l2.get(instrument);
    if (state === undefined) return;
    if (pending !== undefined) state.buffered.push(pending);
    if (state.resyncing || !this.autoResync) return;
    state.resyncing = true;
    this.resyncs++;
    this.emit('resync', instrument, 'l2', reason);
    this.send('Subscribe', { instrument, channel: ChannelCode.l2, snapshot: 1 });
  }
}
