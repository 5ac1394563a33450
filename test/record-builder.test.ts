/**
 * RecordBuilder: the encoding sink the journal thread uses (records written straight into an
 * EncodedRecords arena) gives byte-identical records to the default mode's record objects,
 * also for a command continued over several records, batch after batch in one reused arena.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Matcher } from '../core/matcher';
import { encodeCommand } from '../core/record-objects';
import { packSymbol } from '../core/schema';
import { OrderType, Side, TimeInForce } from '../core/codes';
import { RecordBuilder } from '../journal/record-builder';
import { EncodedRecords } from '../journal/encoded-records';
import { encodeRecord } from '../journal/record-codec';
import { MAX_EVENTS_PER_RECORD } from '../journal/journal-record';
import { randomFlow } from './helpers/random-flow';

const limits = { maxOrders: 16_384, maxPriceLevels: 4096, maxLevelsPerSide: 2048, maxInstruments: 4, maxAccounts: 64, clientOrderIdWindow: 16_384, maxPositions: 1024};

test('records encoded by the sink are byte-identical to fresh record objects, continuations included, batch after batch', () => {
  const fresh = new RecordBuilder();
  const batch = new EncodedRecords();
  const encoding = new RecordBuilder({
    sink: { record: (first, time, command, events, eventWords) => batch.add(first, time, command, 0, events, 0, eventWords) },
  });
  const matcher = new Matcher({ limits, echoCommands: true, sink: { onEvents: (w, c) => { fresh.consume(w, c); encoding.consume(w, c); } } });
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
  for (const commands of batches) {
    batch.reset();
    for (const command of commands) command();
    matcher.flush();
    fresh.finishCurrent();
    encoding.finishCurrent();
    const expected = fresh.take();
    assert.equal(batch.count, expected.length);
    for (let i = 0; i < expected.length; i++) {
      const record = expected[i]!;
      const actual = batch.bytes.subarray(batch.bounds[2 * i], batch.bounds[2 * i + 1]);
      assert.deepEqual(Buffer.from(actual), Buffer.from(encodeRecord(record)), `record ${record.firstSequence}`);
      assert.deepEqual([batch.firstSequences[i], batch.lastSequences[i], batch.timestamps[i]], [record.firstSequence, record.lastSequence, record.timestampMicros]);
      if (record.command[0] === 0) continuations++;
      compared++;
    }
  }
  assert.ok(compared > 3000, `${compared} records compared`);
  assert.ok(continuations >= 1, 'the mass cancel continued over a second record');
});
