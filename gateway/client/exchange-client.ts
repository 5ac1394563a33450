/**
 * The TypeScript client SDK for the order-entry protocol: connect, log on with an
 * HMAC key, send typed requests with strictly increasing client sequence numbers,
 * receive decoded server messages, answer heartbeats and test requests, and ask for
 * a replay of what was missed. Several requests may share one frame (`batch`).
 */
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { closeSocket, nextMatching } from './socket';
import { FrameDecoder, DecodeStep } from '../protocol/decoder';
import { FrameEncoder } from '../protocol/encoder';
import { ClientTemplates, ServerTemplates, WireTemplate } from '../protocol/wire-schema';
import { fromRecord, toRecord, WireValues } from '../protocol/messages';
import { signLogonHmac } from '../session/auth';

export interface ServerMessage {
  /** Template name: a core event (OrderAccepted, Trade, ...) or a session message (LogonAck, Reject, ...). */
  type: string;
  /** Per-session sequence of a sequenced message (0 otherwise). */
  sequence: number;
  [field: string]: number | string;
}

export interface ClientOptions {
  url: string;
  keyId: number;
  secret: string | Uint8Array;
  heartbeatIntervalMs?: number;
  /** false opts out of cancel-on-disconnect. */
  cancelOnDisconnect?: boolean;
}

const FRAME_BYTES = 16_384;
/**
 * The server packs replayed messages into frames by size only (up to 16 KiB, so up to
 * several hundred messages), above the protocol's default maxMessagesPerFrame of 128.
 * The client accepts them rather than refusing the frame and losing the replay.
 */
const INBOUND_MESSAGES_PER_FRAME = Math.floor(FRAME_BYTES / 4);

export class ExchangeClient extends EventEmitter {
  private socket?: WebSocket;
  private readonly decoder = new FrameDecoder(ServerTemplates, { maxMessagesPerFrame: INBOUND_MESSAGES_PER_FRAME });
  private readonly encoder = new FrameEncoder(new Uint8Array(FRAME_BYTES));
  private readonly record = new Float64Array(16);
  private batching = false;
  /** Last client sequence used; requests carry last + 1. */
  clientSequence = 0;
  /** Highest server sequence received. */
  lastServerSequence = 0;
  readonly received: ServerMessage[] = [];
  keepReceived = true;

  constructor(readonly options: ClientOptions) {
    super();
  }

  /** Opens the socket and logs on; resolves with the LogonAck, rejects with the LogonReject or close. */
  async connect(): Promise<ServerMessage> {
    const socket = new WebSocket(this.options.url, { perMessageDeflate: false });
    this.socket = socket;
    socket.binaryType = 'nodebuffer';
    socket.on('message', (data: Buffer) => this.onFrame(data));
    socket.on('close', (code, reason) => this.emit('close', code, reason.toString()));
    socket.on('error', (error) => this.emit('error', error));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const timestampMicros = Date.now() * 1000;
    const nonce = randomInt(1, 2 ** 47);
    const secret = typeof this.options.secret === 'string' ? Buffer.from(this.options.secret, 'utf8') : this.options.secret;
    const signature = signLogonHmac(secret, this.options.keyId, timestampMicros, nonce);
    const logon = ClientTemplates.byName.Logon;
    toRecord(logon, {
      keyId: this.options.keyId, timestampMicros, nonce, heartbeatIntervalMs: this.options.heartbeatIntervalMs ?? 0,
      cancelOnDisconnect: this.options.cancelOnDisconnect === false ? 2 : 1,
    }, this.record);
    this.encoder.reset();
    this.encoder.append(logon, this.record, 0, 0, signature);
    socket.send(Buffer.from(this.encoder.view()));
    this.encoder.reset();
    const answer = await new Promise<ServerMessage>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        socket.off('close', onClose);
        this.off('message', onMessage);
      };
      const onMessage = (m: ServerMessage) => {
        if (m.type !== 'LogonAck' && m.type !== 'LogonReject') return;
        done();
        const at = this.received.indexOf(m);
        if (at >= 0) this.received.splice(at, 1);
        resolve(m);
      };
      const onClose = (code: number) => {
        done();
        reject(new Error(`connection closed (${code}) before the logon answer`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error('no logon answer within 5000 ms'));
      }, 5000);
      socket.once('close', onClose);
      this.on('message', onMessage);
    });
    if (answer.type === 'LogonReject') throw new Error(`logon rejected: reason ${answer.reason}`);
    this.clientSequence = Math.max(this.clientSequence, Number(answer.lastClientSequence));
    return answer;
  }

  /** Sends one request by template name (NewOrder, CancelOrder, ReplaceOrder, MassCancel, ...). Returns its client sequence. */
  send(name: string, values: WireValues): number {
    const template = ClientTemplates.byName[name];
    if (template === undefined) throw new Error(`unknown client template ${name}`);
    const sequence = template.sequenced ? ++this.clientSequence : 0;
    this.append(template, values, sequence);
    return sequence;
  }

  /** Re-sends a request with an old client sequence (a retransmission the server ignores). */
  resend(name: string, values: WireValues, sequence: number): void {
    this.append(ClientTemplates.byName[name], values, sequence);
  }

  /** Sends every request made inside `fn` in one frame. */
  batch(fn: () => void): void {
    this.batching = true;
    try {
      fn();
    } finally {
      this.batching = false;
      this.flush();
    }
  }

  /** Asks for every sequenced message from `fromSequence` (default: after the last one seen). */
  replay(fromSequence = this.lastServerSequence + 1, toSequence = 0): void {
    this.append(ClientTemplates.byName.ReplayRequest, { fromSequence, toSequence }, 0);
  }

  /** Resolves with the first message (already received or future) matching `predicate`. */
  next(predicate: (m: ServerMessage) => boolean, timeoutMs = 5000): Promise<ServerMessage> {
    return nextMatching<ServerMessage>(this, 'message', this.received, predicate, timeoutMs, 'message');
  }

  sendRaw(bytes: Uint8Array | string): void {
    this.socket!.send(bytes);
  }

  /** True while the socket is open. */
  get open(): boolean {
    return this.socket !== undefined && this.socket.readyState === WebSocket.OPEN;
  }

  /** Orderly end: sends Logout and resolves once the server has closed the connection (or after `timeoutMs`, by closing it). */
  logout(timeoutMs = 2000): Promise<void> {
    const socket = this.socket;
    if (socket === undefined || socket.readyState !== WebSocket.OPEN) return this.close();
    return new Promise((resolve) => {
      const timer = setTimeout(() => socket.terminate(), timeoutMs);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.send('Logout', { reason: 0 });
    });
  }

  close(): Promise<void> {
    return closeSocket(this.socket);
  }

  /** Drops the connection without a Logout (as a crash or network loss would). */
  terminate(): void {
    this.socket?.terminate();
  }

  private append(template: WireTemplate, values: WireValues, sequence: number): void {
    toRecord(template, values, this.record);
    if (!this.encoder.fits(template)) this.flush();
    this.encoder.append(template, this.record, 0, sequence);
    if (!this.batching) this.flush();
  }

  private flush(): void {
    if (this.encoder.length === 0) return;
    this.socket!.send(Buffer.from(this.encoder.view()));
    this.encoder.reset();
  }

  private onFrame(frame: Buffer): void {
    this.emit('frame', frame); // the raw bytes, before decoding (tools, byte-exact tests)
    if (this.decoder.begin(frame) !== null) {
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
      const template = this.decoder.template!;
      const message: ServerMessage = { type: template.name, sequence: this.decoder.sequence, ...fromRecord(template, this.decoder.record) };
      if (message.sequence > this.lastServerSequence) this.lastServerSequence = message.sequence;
      if (template.name === 'TestRequest') this.send('Heartbeat', { testRequestId: Number(message.testRequestId) });
      if (this.keepReceived) this.received.push(message);
      this.emit('message', message);
    }
  }
}
