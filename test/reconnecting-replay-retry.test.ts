/**
 * ReconnectingClient against a scripted gateway: a replay refused for now
 * (REPLAY_BUSY, THROTTLED) is asked again after the Reject's retryAfterMs, for what is
 * still missing, and the stream stays gap-free. A real gateway refuses replays only
 * under load (JOURNAL_REPLAYS_MAX), which a test cannot time; the script can.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocketServer, WebSocket } from 'ws';
import { AddressInfo } from 'node:net';
import { ReconnectingClient } from '../gateway/client/reconnecting-client';
import { ServerMessage } from '../gateway/client/exchange-client';
import { FrameDecoder, DecodeStep } from '../gateway/protocol/decoder';
import { FrameEncoder } from '../gateway/protocol/encoder';
import { ClientTemplates, ServerTemplates } from '../gateway/protocol/wire-schema';
import { toRecord, WireValues } from '../gateway/protocol/messages';
import { GatewayReject } from '../gateway/protocol/reject-codes';
import { Events } from '../core/schema';

/** Answers the logon with LogonAck(next = 6), refuses the first ReplayRequests as `refusals` says, serves the next. */
function scriptedGateway(refusals: Array<[number, number]>): Promise<{ server: WebSocketServer; port: number; replays: Array<[number, number]> }> {
  const replays: Array<[number, number]> = [];
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  server.on('connection', (socket: WebSocket) => {
    const decoder = new FrameDecoder(ClientTemplates);
    const send = (name: string, values: WireValues, sequence = 0) => {
      const encoder = new FrameEncoder(new Uint8Array(1024));
      const template = ServerTemplates.byName[name];
      const record = toRecord(template, values);
      if (template.coreCode !== 0) record[1] = 100 + sequence; // eventSequence
      encoder.append(template, record, 0, sequence);
      socket.send(Buffer.from(encoder.view()));
    };
    socket.on('message', (data: Buffer) => {
      assert.equal(decoder.begin(data, true), null);
      for (let step = decoder.next(); step !== DecodeStep.End; step = decoder.next()) {
        const template = decoder.template!;
        if (template.name === 'Logon') send('LogonAck', { nextServerSequence: 6, lastClientSequence: 0, heartbeatIntervalMs: 1000, cancelOnDisconnect: 2 });
        if (template.name !== 'ReplayRequest') continue;
        const from = decoder.record[template.at.fromSequence];
        const to = decoder.record[template.at.toSequence];
        replays.push([from, to]);
        const refusal = refusals[replays.length - 1];
        if (refusal !== undefined) {
          send('Reject', { refSeq: 0, reason: refusal[0], refTemplateId: template.id, retryAfterMs: refusal[1] });
          continue;
        }
        for (let s = from; s <= to; s++) send('ClockAdvanced', {}, s);
        send('ReplayComplete', { fromSequence: from, toSequence: to });
      }
    });
  });
  return new Promise((resolve) => server.on('listening', () => resolve({ server, port: (server.address() as AddressInfo).port, replays })));
}

test('a replay refused REPLAY_BUSY, then THROTTLED, is asked again after retryAfterMs and completes without a gap', { timeout: 10_000 }, async () => {
  const { server, port, replays } = await scriptedGateway([[GatewayReject.REPLAY_BUSY, 30], [GatewayReject.THROTTLED, 20]]);
  const client = new ReconnectingClient({ url: `ws://127.0.0.1:${port}`, keyId: 1, secret: 'x'.repeat(32), fromSequence: 1 });
  const delivered: ServerMessage[] = [];
  client.on('message', (m: ServerMessage) => delivered.push(m));
  const gaps: unknown[] = [];
  client.on('gap', (g) => gaps.push(g));
  const started = Date.now();
  try {
    const replayed = new Promise((resolve) => client.once('replayed', resolve));
    await client.start();
    await replayed;
    assert.deepEqual(replays, [[1, 5], [1, 5], [1, 5]]);
    assert.ok(Date.now() - started >= 50, 'waited the retry times');
    assert.deepEqual(delivered.map((m) => [m.sequence, m.type, m.eventSequence]), [1, 2, 3, 4, 5].map((s) => [s, Events.ClockAdvanced.name, 100 + s]));
    assert.deepEqual(gaps, []);
    assert.equal(client.stats.replayRetries, 2);
  } finally {
    client.terminate();
    await client.close();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('REPLAY_UNAVAILABLE is not retried: the range is reported as a gap', { timeout: 10_000 }, async () => {
  const { server, port, replays } = await scriptedGateway([[GatewayReject.REPLAY_UNAVAILABLE, 0]]);
  const client = new ReconnectingClient({ url: `ws://127.0.0.1:${port}`, keyId: 1, secret: 'x'.repeat(32), fromSequence: 1 });
  try {
    const gap = new Promise((resolve) => client.once('gap', resolve));
    await client.start();
    assert.deepEqual(await gap, { fromSequence: 1, toSequence: 5 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(replays, [[1, 5]]);
    assert.equal(client.lastSequence, 5);
  } finally {
    client.terminate();
    await client.close();
    await new Promise((resolve) => server.close(resolve));
  }
});
