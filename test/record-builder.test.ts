/**
 * RecordBuilder: the pooled mode the journal thread uses gives byte-identical records to
 * the default mode (also for a command continued over several records), and reuses its
 * record objects from one batch to the next instead of allocating.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Matcher } from '../core/matcher';
import { encodeCommand } from '../core/record-objects';
import { packSymbol } from '../core/schema';
import { OrderType, Side, TimeInForce } from '../core/codes';
import { RecordBuilder } from '../journal/record-builder';
import { encodeRecord } from '../journal/record-codec';
import { MAX_EVENTS_PER_RECORD } from '../journal/journal-record';
import { randomFlow } from './helpers/random-flow';

const limits = { maxOrders: 16_384, maxPriceLevels: 4096, maxLevelsPerSide: 2048, maxInstruments: 4, maxAccounts: 64, clientOrderIdWindow: 16_384, maxPositions: 1024, maxPendingSettlements: 1024 };

test('pooled records are byte-identical to fresh ones, continuations included, and reused across batches', () => {
  const fresh = new RecordBuilder();
  const pooled = new RecordBuilder({ reuse: true });
  const matcher = new Matcher({ limits, echoCommands: true, sink: { onEvents: (w, c) => { fresh.consume(w, c); pooled.consume(w, c); } } });
  const words = new Float64Array(16);
  const send = (name: Parameters<typeof encodeCommand>[0], fields: Record<string, number>, time: number) => {
    encodeCommand(name, fields as never, time, 0, words);
    matcher.process(words, 0);
  };
  const batches: Array<Array<() => void>> = [];
  // Batches of a random flow, then one batch that cancels more orders than a record holds.
  const flow = randomFlow(42, 3000);
  for (let b = 0; b < flow.length; b += 100) {
    batches.push(flow.slice(b, b + 100).map((c) => () => send(c.name, c.fields as Record<string, number>, c.timestamp)));
  }
  const [head, tail] = packSymbol('DEEP');
  const deep: Array<() => void> = [() => send('AddInstrument', { instrument: 4, symbolHead: head, symbolTail: tail, tickSize: 1, lotSize: 1, bandBasisPoints: 9000, maxOrderQuantity: 1e6, maxOrderNotional: 1e12, referencePrice: 10_000 }, 1e12)];
  for (let i = 0; i < MAX_EVENTS_PER_RECORD + 500; i++) {
    deep.push(() => send('NewOrder', { account: 1, instrument: 4, clientOrderId: 900_000 + i, side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, price: 9_000 + (i % 1000), quantity: 1 }, 1e12 + i));
  }
  batches.push(deep, [() => send('MassCancel', { account: 1, instrument: 4, side: 0 }, 2e12)]);

  let compared = 0;
  let continuations = 0;
  let previous: unknown[] = [];
  let reusedObjects = 0;
  for (const batch of batches) {
    for (const command of batch) command();
    matcher.flush();
    fresh.finishCurrent();
    pooled.finishCurrent();
    const expected = fresh.take();
    const actual = pooled.take();
    assert.equal(actual.length, expected.length);
    for (let i = 0; i < expected.length; i++) {
      assert.deepEqual(Buffer.from(encodeRecord(actual[i]!)), Buffer.from(encodeRecord(expected[i]!)), `record ${expected[i]!.firstSequence}`);
      if (expected[i]!.command[0] === 0) continuations++;
      compared++;
    }
    reusedObjects += actual.filter((record) => previous.includes(record)).length;
    previous = actual;
  }
  assert.ok(compared > 3000, `${compared} records compared`);
  assert.ok(continuations >= 1, 'the mass cancel continued over a second record');
  assert.ok(reusedObjects > 1000, `record objects reused from batch to batch (${reusedObjects})`);
});
