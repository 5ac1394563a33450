import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Matcher } from '../core/matcher';
import { CollectingSink, encodeCommand } from '../core/record-objects';
import { cutImage, restoreImage, stateHash, verifyIntegrity } from '../core/state-image';
import { randomFlow, FlowCommand } from './helpers/random-flow';

const limits = { maxOrders: 8192, maxPriceLevels: 4096, maxLevelsPerSide: 1024, maxInstruments: 4, maxAccounts: 64, clientOrderIdWindow: 8192, maxPositions: 1024};

function run(matcher: Matcher, flow: FlowCommand[], from = 0, to = flow.length): void {
  const words = new Float64Array(16);
  for (let i = from; i < to; i++) {
    const c = flow[i];
    encodeCommand(c.name, c.fields as never, c.timestamp, 0, words);
    matcher.process(words, 0);
  }
  matcher.flush();
}

function rawEvents(sink: CollectingSink): string {
  return Buffer.concat(sink.records.map((r) => Buffer.from(r.buffer))).toString('hex');
}

test('cut and restore at a random point, then continuing, gives the same events and state hash as never stopping', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 0, max: 1500 }), (seed, cut) => {
      const flow = randomFlow(seed, 1500);
      const straightSink = new CollectingSink();
      const straight = new Matcher({ limits, sink: straightSink });
      run(straight, flow);

      const firstSink = new CollectingSink();
      const first = new Matcher({ limits, sink: firstSink });
      run(first, flow, 0, cut + 2);
      verifyIntegrity(first);
      const image = cutImage(first);
      const resumedSink = new CollectingSink();
      const resumed = restoreImage(image, { sink: resumedSink });
      assert.equal(stateHash(resumed), stateHash(first), 'restored state hashes like the original');
      run(resumed, flow, cut + 2);
      verifyIntegrity(resumed);
      assert.equal(rawEvents(firstSink) + rawEvents(resumedSink), rawEvents(straightSink));
      assert.equal(stateHash(resumed), stateHash(straight));
    }),
    { numRuns: 25, seed: 42 },
  );
});

test('the state hash changes when the state does', () => {
  const flow = randomFlow(7, 300);
  const a = new Matcher({ limits });
  run(a, flow);
  const before = stateHash(a);
  a.process(encodeCommand('NewOrder', { account: 1, instrument: 1, clientOrderId: 999_999, side: 1, orderType: 1, timeInForce: 1, price: 900, quantity: 1 }, 1e12), 0);
  assert.notEqual(stateHash(a), before);
});

test('an image from an engine with other limits or layout is refused with a clear message', () => {
  const a = new Matcher({ limits });
  run(a, randomFlow(3, 50));
  const image = cutImage(a);
  const broken = { header: { ...image.header, version: 99 }, bytes: image.bytes };
  assert.throws(() => restoreImage(broken), /version 99/);
});
