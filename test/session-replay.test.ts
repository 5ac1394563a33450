/**
 * Session sequences survive restarts (issue 6): per-key server sequences are a
 * function of the journal, and replay is served from it.
 *
 * - A client that missed messages while disconnected, across a graceful restart on
 *   the same data directory (with another gateway layout), gets exactly what it missed
 *   with the same sequences and bytes the first run assigned, then live messages; a
 *   never-disconnected observer's whole stream replays byte for byte after the restart;
 *   LogonAck's lastClientSequence comes back from the journal.
 * - Within one run, a replay older than the in-memory history (16,384 messages) is
 *   read from the journal, byte for byte what was sent live; REPLAY_BUSY and
 *   REPLAY_UNAVAILABLE where documented.
 * - SIGKILL (a child process): a ReconnectingClient rides through the crash and the
 *   restart and delivers one gap-free stream whose numbering matches the journal.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import os from 'node:os';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { startTestExchange, TestExchange } from './helpers/test-exchange';
import { startExchange, Running } from './helpers/child-exchange';
import { ExchangeClient, ServerMessage } from '../gateway/client/exchange-client';
import { ReconnectingClient } from '../gateway/client/reconnecting-client';
import { ServerTemplates } from '../gateway/protocol/wire-schema';
import { GatewayReject } from '../gateway/protocol/reject-codes';
import { REPLAY_HISTORY_MESSAGES } from '../gateway/order-entry/replay-history';
import { defaultConfig } from '../core/runtime/config';
import { OrderType, Side, TimeInForce } from '../core/codes';

const directories: string[] = [];
after(() => {
  for (const dir of directories) rmSync(dir, { recursive: true, force: true });
});

function temporaryDirectory(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  directories.push(dir);
  return dir;
}

let clientOrderId = 9_000;
const limit = (account: number, side: number, price: number, quantity: number) => ({
  account, instrument: 1, clientOrderId: ++clientOrderId, side, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, price, quantity,
});

interface Capture {
  /** The wire bytes of every sequenced message, by sequence, as first received. */
  bytes: Map<number, Buffer>;
  /** Sequences received again (each byte-identical to its first arrival, or the capture throws). */
  repeated: Set<number>;
}

/** Captures the exact wire bytes of every sequenced message a client receives. */
function captureBytes(client: ExchangeClient): Capture {
  const capture: Capture = { bytes: new Map(), repeated: new Set() };
  const bytes = capture.bytes;
  client.on('frame', (frame: Buffer) => {
    for (let offset = 0; offset + 4 <= frame.length;) {
      const length = frame.readUInt16LE(offset);
      const template = ServerTemplates.byId[frame[offset + 2]];
      if (template?.sequenced) {
        const sequence = Number(frame.readBigUInt64LE(offset + 4));
        const message = Buffer.from(frame.subarray(offset, offset + length));
        const earlier = bytes.get(sequence);
        if (earlier === undefined) bytes.set(sequence, message);
        else {
          assert.ok(message.equals(earlier), `sequence ${sequence} arrived again with different bytes`);
          capture.repeated.add(sequence);
        }
      }
      offset += length;
    }
  });
  return capture;
}

/** Connects a fresh client (and its capture), retrying while the gateway still holds the key's previous session. */
async function connectFresh(make: () => ExchangeClient): Promise<{ client: ExchangeClient; capture: Capture; ack: ServerMessage }> {
  for (let attempt = 1; ; attempt++) {
    const client = make();
    const capture = captureBytes(client);
    try {
      return { client, capture, ack: await client.connect() };
    } catch (error) {
      if (attempt === 50 || !/reason 1104/.test((error as Error).message)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

function range(bytes: Map<number, Buffer>, from: number, to: number): Buffer[] {
  const out: Buffer[] = [];
  for (let s = from; s <= to; s++) {
    const message = bytes.get(s);
    assert.ok(message !== undefined, `sequence ${s} missing`);
    out.push(message);
  }
  return out;
}

function assertSameBytes(actual: Map<number, Buffer>, expected: Map<number, Buffer>, from: number, to: number, what: string): void {
  const a = range(actual, from, to);
  const e = range(expected, from, to);
  for (let i = 0; i < a.length; i++) assert.ok(a[i].equals(e[i]), `${what}: sequence ${from + i} differs`);
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !condition();) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function replayed(client: ExchangeClient, from: number, to = 0): Promise<ServerMessage> {
  const before = client.received.length;
  client.replay(from, to);
  return client.next((m) => m.type === 'ReplayComplete' && client.received.indexOf(m) >= before, 20_000);
}

describe('restart on the same data directory', () => {
  test('a client gets exactly what it missed, with the first run\'s sequences and bytes, then live messages', async (t) => {
    const dir = temporaryDirectory('session-replay-');
    let run: TestExchange = await startTestExchange({ gatewayWorkers: 2 }, dir);
    try {
      // The observer (key 2, the maker) stays connected through the whole first run.
      const observer = run.client(2, { cancelOnDisconnect: false });
      const observed = captureBytes(observer).bytes;
      await observer.connect();
      const client = run.client(5, { cancelOnDisconnect: false });
      const live = captureBytes(client).bytes;
      const liveFrom = Number((await client.connect()).nextServerSequence);
      const resting = limit(5, Side.Buy, 9_930, 10);
      const journaledClientSequence = client.send('NewOrder', resting);
      await client.next((m) => m.type === 'OrderAccepted' && m.clientOrderId === resting.clientOrderId);
      client.send('OrderStatusRequest', { account: 5, orderId: 0, clientOrderId: resting.clientOrderId }); // unsequenced: takes no number
      await client.next((m) => m.type === 'OrderStatus');
      observer.send('NewOrder', limit(2, Side.Sell, 9_930, 2));
      await client.next((m) => m.type === 'Trade');
      await observer.next((m) => m.type === 'Trade');
      const seen = client.lastServerSequence;
      client.terminate();
      // Missed while away: two fills of the resting order.
      observer.send('NewOrder', limit(2, Side.Sell, 9_930, 3));
      observer.send('NewOrder', limit(2, Side.Sell, 9_930, 1));
      await observer.next((m) => m.type === 'Trade' && m.quantity === 1);
      // The first run's own numbering of the missed range (a fresh session replays it from memory).
      // Key 5 lives on the other gateway, which pumps the ring on its own: log on until it has numbered the fills.
      let { client: witness, capture: witnessCapture, ack: witnessAck } = await connectFresh(() => run.client(5, { cancelOnDisconnect: false }));
      for (let attempt = 1; Number(witnessAck.nextServerSequence) - 1 <= seen + 2 && attempt < 50; attempt++) {
        await witness.logout();
        await new Promise((resolve) => setTimeout(resolve, 20));
        ({ client: witness, capture: witnessCapture, ack: witnessAck } = await connectFresh(() => run.client(5, { cancelOnDisconnect: false })));
      }
      const firstRun = witnessCapture.bytes;
      const end = Number(witnessAck.nextServerSequence) - 1;
      assert.ok(end > seen + 2, `messages were numbered while away (${seen} seen, ${end} numbered)`);
      await replayed(witness, seen + 1);
      await witness.logout();
      await new Promise((resolve) => setTimeout(resolve, 100)); // the observer's last messages
      const observedLast = observer.lastServerSequence;
      assert.deepEqual([...observed.keys()], Array.from({ length: observed.size }, (_, i) => observedLast - observed.size + 1 + i), 'the observer saw one gap-free run');
      await run.stop();

      // Second run, one gateway instead of two: routing depends on keys, not on the gateway layout.
      run = await startTestExchange({ gatewayWorkers: 1 }, dir);
      const back = run.client(5, { cancelOnDisconnect: false });
      const after = captureBytes(back).bytes;
      const ack = await back.connect();
      assert.equal(ack.nextServerSequence, end + 1, 'numbering continues where the first run stopped');
      // The OrderStatusRequest (client sequence 2) was answered by the gateway alone: it is not in the journal.
      assert.equal(client.clientSequence, journaledClientSequence + 1);
      assert.equal(ack.lastClientSequence, journaledClientSequence, 'the highest client sequence the journal holds for the key');
      const complete = await replayed(back, seen + 1);
      assert.deepEqual([complete.fromSequence, complete.toSequence], [seen + 1, end]);
      assertSameBytes(after, firstRun, seen + 1, end, 'missed messages after the restart');
      await replayed(back, 1, seen);
      assertSameBytes(after, live, liveFrom, seen, 'messages seen live before the restart');
      // Then live messages, continuing the same stream.
      const maker = run.client(2, { cancelOnDisconnect: false });
      const makerBytes = captureBytes(maker).bytes;
      const makerAck = await maker.connect();
      assert.equal(makerAck.nextServerSequence, observedLast + 1);
      maker.send('NewOrder', limit(2, Side.Sell, 9_930, 4));
      const trade = await back.next((m) => m.type === 'Trade' && m.sequence > end);
      assert.equal(trade.makerLeaves, 0, 'the resting order (10 = 2 + 3 + 1 + 4) is filled');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const liveAfter = [...after.keys()].filter((sequence) => sequence > end);
      assert.deepEqual(liveAfter, Array.from({ length: liveAfter.length }, (_, i) => end + 1 + i), 'live messages continue at end + 1');
      // The never-disconnected observer's whole first run, replayed from the journal byte for byte.
      await replayed(maker, 1, observedLast);
      assertSameBytes(makerBytes, observed, observedLast - observed.size + 1, observedLast, 'the observer\'s stream');
      t.diagnostic(`key 5: ${seen} seen, ${end - seen} missed, ${liveAfter.length} live after the restart; key 2: ${observedLast} replayed from the journal`);
      await back.logout();
      await maker.logout();
    } finally {
      await run.stop();
      assert.deepEqual(run.fatal, []);
    }
  });
});

describe('replay beyond the in-memory history', () => {
  const fast = { ordersPerSecond: 1_000_000, orderBurst: 1_000_000, cancelsPerSecond: 1_000_000, cancelBurst: 1_000_000 };

  test(`more than ${REPLAY_HISTORY_MESSAGES} messages: the oldest come from the journal, byte for byte as sent live`, { timeout: 120_000 }, async (t) => {
    const run = await startTestExchange({ throttle: fast });
    try {
      const client = run.client(4, { cancelOnDisconnect: false });
      client.keepReceived = false;
      const capture = captureBytes(client);
      const ack = await client.connect();
      const first = Number(ack.nextServerSequence);
      const orders = 4_300;
      let accepted = 0;
      client.on('message', (m: ServerMessage) => { if (m.type === 'OrderAccepted') accepted++; });
      for (let i = 0; i < orders; i += 100) {
        client.batch(() => { for (let k = 0; k < 100; k++) client.send('NewOrder', limit(4, Side.Buy, 9_000, 1)); });
        while (accepted < i) await new Promise((resolve) => setTimeout(resolve, 2));
      }
      client.keepReceived = true;
      client.send('MassCancel', { account: 4, instrument: 0, side: 0 });
      await client.next((m) => m.type === 'MassCancelDone', 30_000);
      const last = client.lastServerSequence;
      assert.ok(last - first + 1 > REPLAY_HISTORY_MESSAGES, `${last - first + 1} messages exceed the history`);
      assert.equal(capture.bytes.size, last - first + 1);

      // Every message again, each byte-identical to its live arrival (captureBytes compares).
      const started = performance.now();
      let complete = await replayed(client, first);
      const millis = performance.now() - started;
      assert.deepEqual([complete.fromSequence, complete.toSequence], [first, last]);
      assert.equal(capture.repeated.size, last - first + 1);
      // From inside an index stride, and a range the history still holds.
      capture.repeated.clear();
      complete = await replayed(client, 5_000, 9_000);
      assert.deepEqual([complete.fromSequence, complete.toSequence], [5_000, 9_000]);
      assert.deepEqual([Math.min(...capture.repeated), Math.max(...capture.repeated), capture.repeated.size], [5_000, 9_000, 4_001]);
      complete = await replayed(client, last - 10);
      assert.deepEqual([complete.fromSequence, complete.toSequence], [last - 10, last]);
      t.diagnostic(`${last - first + 1} messages replayed from the journal in ${Math.round(millis)} ms`);

      // One journal replay per session at a time: a second request meanwhile is REPLAY_BUSY with a retry time.
      const before = client.received.length;
      client.batch(() => {
        client.replay(first);
        client.replay(first);
      });
      const busy = await client.next((m) => m.type === 'Reject' && client.received.indexOf(m) >= before);
      assert.equal(busy.reason, GatewayReject.REPLAY_BUSY);
      assert.ok(Number(busy.retryAfterMs) > 0);
      await client.next((m) => m.type === 'ReplayComplete' && client.received.indexOf(m) >= before, 20_000);
      // Beyond the newest message: REPLAY_UNAVAILABLE.
      client.replay(last + 2);
      assert.equal((await client.next((m) => m.type === 'Reject' && m.reason === GatewayReject.REPLAY_UNAVAILABLE)).refTemplateId, 132);
      await client.logout();
    } finally {
      await run.stop();
      assert.deepEqual(run.fatal, []);
    }
  });
});

describe('SIGKILL', () => {
  test('a reconnecting client rides through a crash and a restart: one gap-free stream, numbered as the journal says', { timeout: 120_000 }, async (t) => {
    const dir = temporaryDirectory('session-kill-');
    const base = 24_000 + (process.pid % 100) * 20;
    const config = defaultConfig();
    const configFile = path.join(dir, 'exchange.json');
    writeFileSync(configFile, JSON.stringify({
      dataDirectory: path.join(dir, 'data'), durability: 'os', demoFlow: false, gatewayWorkers: 1, brokerPort: 0,
      orderEntryBasePort: base, marketDataPort: base + 5, httpPort: 0, clockIntervalMs: 60_000,
    }));
    const secret = (keyId: number) => config.demoAccounts.find((a) => a.keyId === keyId)!.apiSecret;
    let exchange: Running = startExchange(configFile);
    const processes: Running[] = [exchange];
    // Reconnect attempts 1 s apart: the client is surely away while the maker trades against it.
    const client = new ReconnectingClient({
      url: `ws://127.0.0.1:${base}`, keyId: 5, secret: secret(5), cancelOnDisconnect: false, backoff: { initialDelayMs: 1000, maxDelayMs: 1000, factor: 1, jitter: 0 },
    });
    try {
      await exchange.ready;
      const delivered: ServerMessage[] = [];
      client.on('message', (m: ServerMessage) => { if (m.sequence > 0) delivered.push(m); });
      await client.start();
      const resting = limit(5, Side.Buy, 9_950, 20);
      client.send('NewOrder', resting);
      await client.waitFor((m) => m.type === 'OrderAccepted' && m.clientOrderId === resting.clientOrderId);
      const maker = new ExchangeClient({ url: `ws://127.0.0.1:${base}`, keyId: 2, secret: secret(2), cancelOnDisconnect: false });
      maker.on('error', () => {});
      await maker.connect();
      maker.send('NewOrder', limit(2, Side.Sell, 9_950, 3));
      await client.waitFor((m) => m.type === 'Trade');
      const seen = client.lastSequence;
      const lastClientSequence = client.clientSequence;
      // The client drops; a fill it misses; the exchange is killed; it restarts; the client comes back.
      const reconnecting = new Promise<ServerMessage>((resolve) => client.once('connected', resolve));
      client.terminate();
      maker.send('NewOrder', limit(2, Side.Sell, 9_950, 4));
      await maker.next((m) => m.type === 'Trade' && m.quantity === 4);
      await new Promise((resolve) => setTimeout(resolve, 50)); // key 5's messages of that fill: numbered while it is away
      exchange.child.kill('SIGKILL');
      await new Promise((resolve) => exchange.child.once('exit', resolve));
      exchange = startExchange(configFile);
      processes.push(exchange);
      await exchange.ready;
      const reconnected = await reconnecting;
      assert.ok(Number(reconnected.nextServerSequence) > seen + 2, `numbering continues (${seen} seen, next ${reconnected.nextServerSequence})`);
      assert.equal(reconnected.lastClientSequence, lastClientSequence, 'nothing to resend: the journal holds every request');
      const maker2 = new ExchangeClient({ url: `ws://127.0.0.1:${base}`, keyId: 2, secret: secret(2), cancelOnDisconnect: false });
      await maker2.connect();
      await until(() => delivered.some((m) => m.type === 'Trade' && m.quantity === 4), 'the missed fill, replayed');
      maker2.send('NewOrder', limit(2, Side.Sell, 9_950, 5));
      await client.waitFor((m) => m.type === 'Trade' && m.quantity === 5, 10_000);
      for (let i = 1; i < delivered.length; i++) assert.equal(delivered[i].sequence, delivered[i - 1].sequence + 1, `gap-free at ${i}`);
      assert.equal(client.stats.gaps, 0);
      assert.equal(client.stats.resent, 0);
      assert.ok(client.stats.replayRequests >= 1);
      // The whole stream as the restarted gateway numbers it from the journal: the same (sequence, event) pairs.
      const check = new ExchangeClient({ url: `ws://127.0.0.1:${base}`, keyId: 5, secret: secret(5), cancelOnDisconnect: false });
      await client.close();
      await check.connect();
      await replayed(check, delivered[0].sequence, client.lastSequence);
      const fingerprint = (messages: ServerMessage[]) => messages.map((m) => [m.sequence, m.type, Number(m.eventSequence)]);
      assert.deepEqual(fingerprint(check.received.filter((m) => m.sequence > 0)), fingerprint(delivered));
      t.diagnostic(`${delivered.length} messages delivered across the crash (up to ${seen} before it); client stats ${JSON.stringify(client.stats)}`);
      await check.logout();
      await maker2.logout();
      exchange.child.kill('SIGTERM');
      await exchange.stopped;
    } finally {
      await client.close();
      for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  });
});
