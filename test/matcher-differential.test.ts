/**
 * Differential test: the real Matcher against the slow reference matcher
 * (test/reference/reference-matcher.ts, written from docs/matching.md) on seeded
 * random command streams. Every event must be identical, field for field (-0 and 0
 * differ, as in deepStrictEqual and in the record bytes).
 *
 * The minimal reproductions of engine bugs the sweeps once found
 * (test/reference/regressions.ts) run as ordinary regression tests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describeMismatch, firstMismatch } from './reference/differential';
import { generateStream, streamFromSteps } from './reference/order-flow';
import { REGRESSIONS, runEngine, runReference } from './reference/regressions';

function sweep(seeds: number, length: number, firstSeed: number, clientOrderIdWindow?: number): void {
  for (let seed = firstSeed; seed < firstSeed + seeds; seed++) {
    const commands = generateStream(seed, length);
    const mismatch = firstMismatch(commands, { clientOrderIdWindow });
    if (mismatch !== null) assert.fail(describeMismatch(mismatch, `seed ${seed} (length ${length})`, commands));
  }
}

test('differential: 500 seeded streams of 300 commands', () => {
  sweep(500, 300, 1);
});

test('differential: 20 long streams of 2000 commands', () => {
  sweep(20, 2000, 100_001);
});

test('differential: tiny client order id window (duplicates forgotten oldest first)', () => {
  sweep(100, 300, 200_001, 3);
});

test('differential: fast-check streams (shrinks a failure to few commands)', () => {
  const stream = fc.record({
    setup: fc.integer({ min: 0, max: 0xffffffff }),
    steps: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 200, size: 'max' }),
  });
  fc.assert(
    fc.property(stream, ({ setup, steps }) => {
      const commands = streamFromSteps(setup, steps);
      const mismatch = firstMismatch(commands);
      if (mismatch !== null) throw new Error(describeMismatch(mismatch, `setup ${setup}, ${steps.length} steps`, commands));
    }),
    { numRuns: 300, includeErrorInReport: true },
  );
});

for (const regression of REGRESSIONS) {
  test(`regression: ${regression.title}`, () => {
    assert.deepEqual(runEngine(regression.commands), runReference(regression.commands), regression.rule);
  });
}
