/**
 * The margin trigger ladders against a plain model: random placements, moves and
 * removals of rows on several instruments and both sides, and after every step the
 * rows a mark crosses are exactly those the model says (longs with trigger >= mark,
 * shorts with trigger <= mark, infinite triggers crossed by any mark).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MarginTriggerLadders } from '../core/margin-triggers';
import { NO_SLOT } from '../core/order-pool';

const ROWS = 64;
const INSTRUMENTS = 3;

type Entry = { instrument: number; isLong: boolean; trigger: number };

const operation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), row: fc.nat(ROWS - 1), instrument: fc.integer({ min: 1, max: INSTRUMENTS }), isLong: fc.boolean(),
    trigger: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.constant(Infinity), fc.constant(-Infinity)) }),
  fc.record({ kind: fc.constant('remove' as const), row: fc.nat(ROWS - 1) }),
  fc.record({ kind: fc.constant('take' as const), instrument: fc.integer({ min: 1, max: INSTRUMENTS }), mark: fc.integer({ min: 1, max: 200 }) }),
);

test('takeCrossed returns exactly the crossed rows, and set / remove keep every other row in place', () => {
  fc.assert(
    fc.property(fc.array(operation, { maxLength: 300 }), (operations) => {
      const ladders = new MarginTriggerLadders(ROWS, INSTRUMENTS);
      const model = new Map<number, Entry>();
      const out = new Int32Array(ROWS);
      for (const op of operations) {
        if (op.kind === 'set') {
          // An infinite trigger always points away from the mark: +Infinity for a long, -Infinity for a short.
          const trigger = Number.isFinite(op.trigger) ? op.trigger : op.isLong ? Infinity : -Infinity;
          ladders.set(op.row, op.instrument, op.isLong, trigger);
          model.set(op.row, { instrument: op.instrument, isLong: op.isLong, trigger });
        } else if (op.kind === 'remove') {
          ladders.remove(op.row);
          model.delete(op.row);
        } else {
          const count = ladders.takeCrossed(op.instrument, op.mark, out, 0);
          const taken = Array.from(out.subarray(0, count)).sort((a, b) => a - b);
          const expected = [...model].filter(([, e]) => e.instrument === op.instrument && (e.isLong ? op.mark <= e.trigger : op.mark >= e.trigger))
            .map(([row]) => row).sort((a, b) => a - b);
          assert.deepEqual(taken, expected, `mark ${op.mark} on instrument ${op.instrument}`);
          for (const row of taken) model.delete(row);
        }
        assert.equal(ladders.size, model.size);
        for (let row = 0; row < ROWS; row++) {
          const entry = model.get(row);
          assert.equal(ladders.holds(row, true), entry !== undefined && entry.isLong, `row ${row} long side`);
          assert.equal(ladders.holds(row, false), entry !== undefined && !entry.isLong, `row ${row} short side`);
        }
        // The top of each ladder is the row that fires first.
        for (let instrument = 1; instrument <= INSTRUMENTS; instrument++) {
          for (const isLong of [true, false]) {
            const rows = [...model].filter(([, e]) => e.instrument === instrument && e.isLong === isLong);
            const top = ladders.top(instrument, isLong);
            if (rows.length === 0) {
              assert.equal(top, NO_SLOT);
              continue;
            }
            const best = rows.reduce((x, y) => (isLong ? y[1].trigger > x[1].trigger : y[1].trigger < x[1].trigger) ? y : x)[1].trigger;
            assert.equal(model.get(top)?.trigger, best, `top of instrument ${instrument} ${isLong ? 'long' : 'short'}`);
          }
        }
      }
    }),
    { numRuns: 300, seed: 4242 },
  );
});

test('a mark below every long trigger and above every short trigger takes nothing', () => {
  const ladders = new MarginTriggerLadders(8, 1);
  ladders.set(0, 1, true, 90);
  ladders.set(1, 1, false, 110);
  const out = new Int32Array(8);
  assert.equal(ladders.takeCrossed(1, 100, out, 0), 0);
  assert.equal(ladders.takeCrossed(1, 90, out, 0), 1);
  assert.equal(out[0], 0);
  assert.equal(ladders.takeCrossed(1, 110, out, 0), 1);
  assert.equal(out[0], 1);
  assert.equal(ladders.size, 0);
});

test('clear empties every ladder', () => {
  const ladders = new MarginTriggerLadders(8, 2);
  for (let row = 0; row < 8; row++) ladders.set(row, 1 + (row % 2), row % 3 === 0, 50 + row);
  ladders.clear();
  assert.equal(ladders.size, 0);
  for (let row = 0; row < 8; row++) assert.ok(!ladders.holds(row, true) && !ladders.holds(row, false));
  assert.equal(ladders.takeCrossed(1, 1, new Int32Array(8), 0) + ladders.takeCrossed(2, 1000, new Int32Array(8), 0), 0);
});
