/**
 * Differential test: the real Matcher against the slow reference matcher
 * (test/reference/reference-matcher.ts, written from docs/matching.md) on seeded
 * random command streams. Every event must be identical, field for field (-0 and 0
 * differ, as in deepStrictEqual and in the record bytes).
 *
 * Known engine bugs (test/reference/known-engine-bugs.ts) are detected up front by
 * running their minimal reproductions: while a bug is present the sweeps compare
 * against a reference that imitates it (so it does not hide new bugs), and its own
 * `todo` test stays red. When the engine is fixed, detection notices and the sweeps
 * compare against the doc's behaviour again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describeMismatch, firstMismatch } from './reference/differential';
import { KNOWN_BUGS, detectKnownBugs, runEngine, runReference } from './reference/known-engine-bugs';
import { generateStream, streamFromSteps } from './reference/order-flow';
import { NO_ENGINE_BUGS } from './reference/reference-matcher';

const present = detectKnownBugs();
const presentNames = Object.entries(present).filter(([, on]) => on).map(([name]) => name);

function sweep(seeds: number, length: number, firstSeed: number, clientOrderIdWindow?: number): void {
  for (let seed = firstSeed; seed < firstSeed + seeds; seed++) {
    const commands = generateStream(seed, length);
    const mismatch = firstMismatch(commands, { imitate: present, clientOrderIdWindow });
    if (mismatch !== null) {
      assert.fail(`${describeMismatch(mismatch, `seed ${seed} (length ${length})`, commands)}\n` +
        `  known engine bugs imitated: ${presentNames.join(', ') || 'none'}`);
    }
  }
}

test('differential: 500 seeded streams of 300 commands', (t) => {
  t.diagnostic(`known engine bugs imitated: ${presentNames.join(', ') || 'none'}`);
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
      const mismatch = firstMismatch(commands, { imitate: present });
      if (mismatch !== null) throw new Error(describeMismatch(mismatch, `setup ${setup}, ${steps.length} steps`, commands));
    }),
    { numRuns: 300, includeErrorInReport: true },
  );
});

for (const bug of KNOWN_BUGS) {
  test(`engine follows docs/matching.md: ${bug.title}`, { todo: `engine bug: ${bug.title}. ${bug.rule}` }, () => {
    assert.deepEqual(runEngine(bug.commands), runReference(bug.commands));
  });
}

test('differential against the doc alone (no imitated bugs): 150 streams', { todo: presentNames.length > 0 ? `engine bugs: ${presentNames.join(', ')}` : false }, () => {
  for (let seed = 1; seed <= 150; seed++) {
    const commands = generateStream(seed, 300);
    const mismatch = firstMismatch(commands, { imitate: NO_ENGINE_BUGS });
    if (mismatch !== null) assert.fail(describeMismatch(mismatch, `seed ${seed}`, commands));
  }
});
