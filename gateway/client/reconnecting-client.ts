/**
 * A client that survives connection loss: it wraps ExchangeClient and, whenever the
 * connection ends for a reason other than its own close(), reconnects with
 * exponential backoff, logs on again, asks for a replay of every sequenced message
 * after the last one it delivered, and resends the requests the server never saw.
 *
 * Guarantees of the 'message' stream:
 *
 * - Sequenced server messages (every core event) are emitted exactly once, in
 *   sequence order, with no gaps: duplicates (a replay overlapping live traffic) are
 *   dropped, and messages that arrive early are held until the missing ones came. A
 *   replay refused for now (REPLAY_BUSY, THROTTLED) is asked again after the
 *   Reject's retryAfterMs.
 *   The only exception is a range the server no longer holds (REPLAY_UNAVAILABLE):
 *   it is reported with a 'gap' event and skipped, never silently.
 * - Unsequenced answers (Reject, OrderStatus, AccountSummary, PositionReport,
 *   DeadManSwitchStatus) are emitted as they arrive on the live connection, with
 *   sequence 0. They are never replayed; ask again after a reconnect.
 * - Session plumbing (LogonAck, Heartbeat, TestRequest, ReplayComplete, Logout) is
 *   emitted as 'session', not 'message'.
 *
 * Client sequences belong to this object and continue across connections. Requests
 * sent while disconnected are queued; after each logon, every request above the
 * LogonAck's lastClientSequence is resent with its original sequence, so a request is
 * processed at most once (the server ignores retransmissions) and at least once as
 * long as it is still in the resend buffer.
 *
 * Use cancelOnDisconnect: false if resting orders should survive a reconnect (with it
 * on, the server cancels them the moment the connection drops).
 *
 * Events: 'message' (ServerMessage), 'session' (ServerMessage), 'connected' (LogonAck),
 * 'disconnected' ({ code, reason }), 'reconnecting' ({ attempt, delayMs }),
 * 'replayed' ({ fromSequence, toSequence }), 'gap' ({ fromSequence, toSequence }),
 * 'sequenceReset' ({ lastSequence, nextServerSequence }), 'error' (Error: fatal, the
 * client stopped; only emitted when someone listens).
 */
import { EventEmitter } from 'node:events';
import { ClientOptions, ExchangeClient, ServerMessage } from './exchange-client';
import { WireValues } from '../protocol/messages';
import { ClientTemplates } from '../protocol/wire-schema';
import { GatewayReject } from '../protocol/reject-codes';
import { CloseCode } from '../protocol/close-codes';

export interface BackoffOptions {
  /** Delay before the first reconnect attempt (ms). */
  initialDelayMs: number;
  /** Upper bound of the delay (ms). */
  maxDelayMs: number;
  /** Each failed attempt multiplies the delay by this. */
  factor: number;
  /** 0..1: each delay is shortened by up to this fraction, at random (spreads reconnect storms). */
  jitter: number;
}

export interface ReconnectingClientOptions extends ClientOptions {
  backoff?: Partial<BackoffOptions>;
  /** Attempts per outage before giving up (fatal error). Default: unlimited. */
  maxAttempts?: number;
  /** Attempts of start() before it rejects. Default 3. */
  startAttempts?: number;
  /** On the very first logon, replay from this sequence instead of starting with live messages. */
  fromSequence?: number;
  /** Treat the connection as dead after this long without any inbound traffic (ms). Default 3 heartbeat intervals + 1 s. */
  staleAfterMs?: number;
  /** Requests kept for resending after a reconnect. Default 10 000. */
  resendLimit?: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ initialDelayMs: 100, maxDelayMs: 5000, factor: 2, jitter: 0.2 });

/** Logon refusals that another attempt cannot fix. */
const FATAL_LOGON_REASONS: ReadonlySet<number> = new Set([
  GatewayReject.LOGON_UNKNOWN_KEY, GatewayReject.LOGON_BAD_SIGNATURE, GatewayReject.LOGON_BAD_PARAMETERS,
]);

/** Refusals of a ReplayRequest that a later attempt cures (the gateway says when): the replay is asked again. */
const RETRIED_REPLAY_REASONS: ReadonlySet<number> = new Set([GatewayReject.REPLAY_BUSY, GatewayReject.THROTTLED]);
const REPLAY_REQUEST_ID = ClientTemplates.byName.ReplayRequest.id;

export type ReconnectingState = 'idle' | 'connecting' | 'live' | 'disconnected' | 'closed';

export class ReconnectError extends Error {
  constructor(message: string, readonly fatal: boolean, readonly logonReason = 0, readonly closeCode = 0) {
    super(message);
    this.name = 'ReconnectError';
  }
}

interface PendingRequest {
  readonly sequence: number;
  readonly name: string;
  readonly values: WireValues;
}

export class ReconnectingClient extends EventEmitter {
  state: ReconnectingState = 'idle';
  /** Highest sequence delivered on 'message' (every sequence up to it was delivered exactly once, or reported as a gap). */
  lastSequence = 0;
  /** Last client sequence assigned. */
  clientSequence = 0;
  readonly stats = { connects: 0, reconnects: 0, duplicatesDropped: 0, held: 0, replayRequests: 0, replayRetries: 0, resent: 0, gaps: 0 };

  private client: ExchangeClient | undefined;
  private readonly backoff: BackoffOptions;
  private readonly pending = new Map<number, ServerMessage>();
  private readonly unconfirmed: PendingRequest[] = [];
  private everLoggedOn = false;
  private stopping = false;
  private reconnecting = false;
  /** Upper end of the outstanding replay request, 0 when none. */
  private replayTo = 0;
  private lastInbound = 0;
  private logonReason = 0;
  private closeCode = 0;
  private staleTimer: NodeJS.Timeout | undefined;
  private sleepTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(readonly options: ReconnectingClientOptions) {
    super();
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  }

  /** The current connection's client (undefined while disconnected). For tests and tools. */
  get connection(): ExchangeClient | undefined {
    return this.client;
  }

  /** Connects and logs on (retrying transient failures up to startAttempts); resolves with the LogonAck. */
  async start(): Promise<ServerMessage> {
    if (this.state !== 'idle') throw new Error(`ReconnectingClient.start: already ${this.state}`);
    const attempts = this.options.startAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      try {
        const ack = await this.connectOnce();
        this.startStaleTimer();
        return ack;
      } catch (error) {
        const e = error as ReconnectError;
        if (e.fatal || attempt >= attempts || this.stopping) {
          this.state = 'closed';
          throw e;
        }
        await this.sleep(this.delay(attempt));
        if (this.stopping) throw new ReconnectError('closed while starting', true);
      }
    }
  }

  /**
   * Sends a request by template name. Sequenced requests get the next client sequence
   * (returned) and are kept for resending; while disconnected they are queued.
   * Unsequenced session requests (Heartbeat, TestRequest, ...) are sent only when live.
   */
  send(name: string, values: WireValues): number {
    if (!this.everLoggedOn) throw new Error('ReconnectingClient.send: call start() first');
    if (this.state === 'closed') throw new Error('ReconnectingClient.send: closed');
    const template = ClientTemplates.byName[name];
    if (template === undefined) throw new Error(`unknown client template ${name}`);
    if (!template.sequenced) {
      if (this.state === 'live') this.client!.send(name, values);
      return 0;
    }
    const request: PendingRequest = { sequence: ++this.clientSequence, name, values };
    this.unconfirmed.push(request);
    const limit = this.options.resendLimit ?? 10_000;
    if (this.unconfirmed.length > limit) this.unconfirmed.splice(0, this.unconfirmed.length - limit);
    if (this.state === 'live') this.client!.resend(name, values, request.sequence);
    return request.sequence;
  }

  /** Sends every request made inside `fn` in one frame (when live). */
  batch(fn: () => void): void {
    if (this.state === 'live') this.client!.batch(fn);
    else fn();
  }

  /** Resolves with the next emitted 'message' matching `predicate`. */
  waitFor(predicate: (m: ServerMessage) => boolean, timeoutMs = 5000): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('message', listener);
        reject(new Error(`no matching message within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (m: ServerMessage) => {
        if (!predicate(m)) return;
        clearTimeout(timer);
        this.off('message', listener);
        resolve(m);
      };
      this.on('message', listener);
    });
  }

  /** Drops the current connection without a Logout, as a network failure would; the client reconnects. */
  terminate(): void {
    this.client?.terminate();
  }

  /** Logs out (when live) and stops reconnecting. */
  async close(): Promise<void> {
    this.stopping = true;
    this.stopTimers();
    const client = this.client;
    this.state = 'closed';
    if (client !== undefined) await client.logout(1000);
    this.client = undefined;
  }

  // ---------------------------------------------------------------- connection

  private async connectOnce(): Promise<ServerMessage> {
    this.state = 'connecting';
    this.logonReason = 0;
    this.closeCode = 0;
    const client = new ExchangeClient({ ...this.options });
    client.keepReceived = false;
    this.client = client;
    client.on('message', (m: ServerMessage) => this.onMessage(client, m));
    client.on('close', (code: number, reason: string) => this.onClose(client, code, reason));
    client.on('error', () => {}); // a 'close' follows every socket error
    client.on('protocolError', (error: Error) => this.emit('protocolError', error));
    try {
      const ack = await client.connect();
      this.stats.connects++;
      return ack;
    } catch (error) {
      if (this.client === client) this.client = undefined;
      client.terminate();
      const reason = this.logonReason;
      const fatal = FATAL_LOGON_REASONS.has(reason) || this.closeCode === CloseCode.WRONG_GATEWAY;
      throw new ReconnectError(`connect to ${this.options.url} as key ${this.options.keyId} failed: ${(error as Error).message}`, fatal, reason, this.closeCode);
    } finally {
      if (this.state === 'connecting') this.state = this.client === client && client.open ? 'live' : 'disconnected';
    }
  }

  private onClose(client: ExchangeClient, code: number, reason: string): void {
    this.closeCode = code;
    if (client !== this.client) return;
    this.client = undefined;
    this.replayTo = 0;
    if (this.stopping) return;
    const wasLive = this.state === 'live';
    this.state = 'disconnected';
    this.emit('disconnected', { code, reason });
    if (wasLive) void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    if (this.reconnecting) return;
    this.reconnecting = true;
    try {
      const maxAttempts = this.options.maxAttempts ?? Infinity;
      for (let attempt = 1; !this.stopping; attempt++) {
        if (attempt > maxAttempts) return this.fail(new ReconnectError(`gave up after ${maxAttempts} reconnect attempts`, true));
        const delayMs = this.delay(attempt);
        this.emit('reconnecting', { attempt, delayMs });
        await this.sleep(delayMs);
        if (this.stopping) return;
        try {
          await this.connectOnce();
          this.stats.reconnects++;
          if (this.stopping) await this.client?.logout(1000); // close() was called meanwhile
          return;
        } catch (error) {
          if ((error as ReconnectError).fatal) return this.fail(error as Error);
        }
      }
    } finally {
      this.reconnecting = false;
    }
  }

  private fail(error: Error): void {
    this.stopping = true;
    this.stopTimers();
    this.state = 'closed';
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  /** Backoff delay of attempt n (1-based): initial x factor^(n-1), capped, minus up to `jitter` of it. */
  private delay(attempt: number): number {
    const { initialDelayMs, maxDelayMs, factor, jitter } = this.backoff;
    const base = Math.min(maxDelayMs, initialDelayMs * factor ** (attempt - 1));
    return Math.round(base * (1 - jitter * Math.random()));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.sleepTimer = setTimeout(resolve, ms);
    });
  }

  private startStaleTimer(): void {
    const interval = this.options.heartbeatIntervalMs || 1000;
    const staleAfterMs = this.options.staleAfterMs ?? interval * 3 + 1000;
    this.staleTimer = setInterval(() => {
      if (this.state === 'live' && Date.now() - this.lastInbound > staleAfterMs) this.client?.terminate();
    }, Math.max(50, Math.min(interval, staleAfterMs / 4)));
    this.staleTimer.unref();
  }

  private stopTimers(): void {
    if (this.staleTimer !== undefined) clearInterval(this.staleTimer);
    if (this.sleepTimer !== undefined) clearTimeout(this.sleepTimer);
    this.wake?.();
  }

  // ---------------------------------------------------------------- inbound

  private onMessage(client: ExchangeClient, m: ServerMessage): void {
    if (client !== this.client) return;
    this.lastInbound = Date.now();
    if (m.sequence > 0) return this.accept(m);
    switch (m.type) {
      case 'LogonAck':
        this.onLogonAck(client, m);
        return void this.emit('session', m);
      case 'LogonReject':
        this.logonReason = Number(m.reason);
        return void this.emit('session', m);
      case 'ReplayComplete':
        this.onReplayComplete(m);
        return void this.emit('session', m);
      case 'Heartbeat':
      case 'TestRequest':
      case 'Logout':
        return void this.emit('session', m);
      case 'Reject':
        if (m.reason === GatewayReject.REPLAY_UNAVAILABLE && this.replayTo !== 0) return this.onReplayUnavailable();
        if (this.replayTo !== 0 && m.refTemplateId === REPLAY_REQUEST_ID && RETRIED_REPLAY_REASONS.has(Number(m.reason))) return this.retryReplay(client, Number(m.retryAfterMs));
        break;
      default:
    }
    this.emit('message', m);
  }

  private onLogonAck(client: ExchangeClient, ack: ServerMessage): void {
    const next = Number(ack.nextServerSequence);
    const lastClientSequence = Number(ack.lastClientSequence);
    if (!this.everLoggedOn) {
      this.everLoggedOn = true;
      this.lastSequence = this.options.fromSequence !== undefined ? Math.max(0, Math.min(this.options.fromSequence - 1, next - 1)) : next - 1;
    } else if (next - 1 < this.lastSequence) {
      // The key's sequences went backwards (the exchange runs on a new journal): nothing to replay.
      this.emit('sequenceReset', { lastSequence: this.lastSequence, nextServerSequence: next });
      this.lastSequence = next - 1;
      this.pending.clear();
    }
    this.clientSequence = Math.max(this.clientSequence, lastClientSequence);
    this.state = 'live';
    this.lastInbound = Date.now();
    if (next - 1 > this.lastSequence) this.requestReplay(client, this.lastSequence + 1, next - 1);
    // Requests the server never processed: resend with their original sequences.
    let confirmed = 0;
    while (confirmed < this.unconfirmed.length && this.unconfirmed[confirmed].sequence <= lastClientSequence) confirmed++;
    this.unconfirmed.splice(0, confirmed);
    if (this.unconfirmed.length > 0) {
      client.batch(() => {
        for (const r of this.unconfirmed) client.resend(r.name, r.values, r.sequence);
      });
      this.stats.resent += this.unconfirmed.length;
    }
    this.emit('connected', ack);
  }

  /** The outstanding replay was refused for now: ask again (for what is still missing) after `retryAfterMs`. */
  private retryReplay(client: ExchangeClient, retryAfterMs: number): void {
    const to = this.replayTo;
    this.stats.replayRetries++;
    const timer = setTimeout(() => {
      if (client !== this.client || this.replayTo !== to) return; // reconnected meanwhile: that logon asked again
      if (this.lastSequence >= to) {
        this.replayTo = 0;
        return this.coverHole();
      }
      this.stats.replayRequests++;
      client.replay(this.lastSequence + 1, to);
    }, Math.max(1, retryAfterMs));
    timer.unref();
  }

  private requestReplay(client: ExchangeClient, from: number, to: number): void {
    this.replayTo = to;
    this.stats.replayRequests++;
    client.replay(from, to);
  }

  /** A sequenced message: deliver in order exactly once, hold early ones, drop duplicates. */
  private accept(m: ServerMessage): void {
    const s = m.sequence;
    if (s <= this.lastSequence || this.pending.has(s)) {
      this.stats.duplicatesDropped++;
      return;
    }
    if (s === this.lastSequence + 1) {
      this.deliver(m);
      this.drain();
      return;
    }
    this.pending.set(s, m);
    this.stats.held++;
    // A hole no replay is covering: ask for it.
    if (this.replayTo === 0 && this.client !== undefined) this.requestReplay(this.client, this.lastSequence + 1, s - 1);
  }

  private deliver(m: ServerMessage): void {
    this.lastSequence = m.sequence;
    this.emit('message', m);
  }

  private drain(): void {
    for (let m = this.pending.get(this.lastSequence + 1); m !== undefined; m = this.pending.get(this.lastSequence + 1)) {
      this.pending.delete(m.sequence);
      this.deliver(m);
    }
  }

  private onReplayComplete(m: ServerMessage): void {
    const to = Number(m.toSequence);
    this.replayTo = 0;
    this.emit('replayed', { fromSequence: Number(m.fromSequence), toSequence: to });
    if (this.lastSequence < to) this.skipTo(to); // the server says it sent them, yet they never came
    this.drain();
    this.coverHole();
  }

  private onReplayUnavailable(): void {
    const to = this.replayTo;
    this.replayTo = 0;
    this.skipTo(to);
    this.drain();
    this.coverHole();
  }

  /** Reports lastSequence+1..to as a gap and moves past it. */
  private skipTo(to: number): void {
    const lowestHeld = Math.min(to + 1, this.lowestHeld());
    const end = lowestHeld - 1;
    if (end <= this.lastSequence) return;
    this.stats.gaps++;
    this.emit('gap', { fromSequence: this.lastSequence + 1, toSequence: end });
    this.lastSequence = end;
  }

  /** Held messages beyond a hole: ask for the hole. */
  private coverHole(): void {
    if (this.pending.size === 0 || this.client === undefined || this.replayTo !== 0) return;
    const lowestHeld = this.lowestHeld();
    if (lowestHeld > this.lastSequence + 1) this.requestReplay(this.client, this.lastSequence + 1, lowestHeld - 1);
  }

  private lowestHeld(): number {
    let lowest = Infinity;
    for (const s of this.pending.keys()) if (s < lowest) lowest = s;
    return lowest;
  }
}
