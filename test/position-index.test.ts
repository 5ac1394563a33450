/**
 * The (account, instrument) -> position row index (core/position-index.ts) against a Map:
 * same answers over random inserts and lookups, with accounts and instruments chosen so
 * that clusters overlap and wrap around the end of the table, and a small capacity so
 * the limit is reached; rebuilt after clear() it answers the same again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PositionIndex } from '../core/position-index';
import { NO_SLOT } from '../core/order-pool';

const account = fc.oneof(fc.integer({ min: 1, max: 12 }), fc.constantFrom(4095, 4096, 65_535, 2 ** 20));
const instrument = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(255, 256, 65_535));
const key = fc.tuple(account, instrument);

test('PositionIndex answers as a Map does, and refuses rows beyond its capacity', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), key), { maxLength: 300 }), (ops) => {
    const capacity = 24;
    const index = new PositionIndex(capacity);
    const model = new Map<string, number>();
    let nextRow = 0;
    for (const [insert, [a, i]] of ops) {
      const name = `${a}/${i}`;
      if (insert && !model.has(name)) {
        const fits = model.size < capacity;
        assert.equal(index.set(a, i, nextRow), fits, `set ${name} with ${model.size} rows`);
        if (fits) model.set(name, nextRow++);
      }
      assert.equal(index.get(a, i), model.get(name) ?? NO_SLOT, `get ${name}`);
    }
    assert.equal(index.size, model.size);
    index.clear();
    assert.equal(index.size, 0);
    for (const name of model.keys()) {
      const [a, i] = name.split('/').map(Number);
      assert.equal(index.get(a!, i!), NO_SLOT, `${name} gone after clear`);
    }
    for (const [name, row] of model) {
      const [a, i] = name.split('/').map(Number);
      assert.ok(index.set(a!, i!, row));
    }
    for (const [name, row] of model) {
      const [a, i] = name.split('/').map(Number);
      assert.equal(index.get(a!, i!), row, `${name} after rebuild`);
    }
  }), { numRuns: 300 });
});

test('an account\'s rows for a block of eight instruments are neighbours in the table (what the clustering is for)', () => {
  const index = new PositionIndex(65_536);
  for (let a = 1; a <= 500; a++) for (let i = 8; i <= 15; i++) assert.ok(index.set(a, i, (a - 1) * 8 + i - 8));
  // Entries are 16 bytes: an account's eight rows span 8 slots plus what probing displaced them.
  const slotsOf = (a: number): number[] => {
    const found: number[] = [];
    for (let s = 0; s < index.entries.length / 4; s++) if (index.entries[s * 4] === a) found.push(s);
    return found;
  };
  let spread = 0;
  for (let a = 1; a <= 500; a++) {
    const slots = slotsOf(a);
    assert.equal(slots.length, 8);
    spread = Math.max(spread, slots[slots.length - 1]! - slots[0]!);
  }
  assert.ok(spread < 32, `an account's rows span ${spread} slots`);
});
