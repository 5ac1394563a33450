/**
 * The client-order-id memory against a plain model of its documented rule: an id is
 * remembered while it is within CLIENT_ORDER_ID_BITMAP_BITS of its account's highest
 * id today, or when it arrived below that range (then it sits in the bounded FIFO).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ClientOrderIds, CLIENT_ORDER_ID_BITMAP_BITS } from '../core/client-order-ids';

const B = CLIENT_ORDER_ID_BITMAP_BITS;

test('has/add agree with the documented rule on random id streams (jumps, gaps of every size, out of order)', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.oneof(
      fc.integer({ min: 1, max: 40 }), // small steps up
      fc.integer({ min: 990, max: 1100 }), // around the window size
      fc.integer({ min: 2000, max: 100_000 }), // big jumps
      fc.integer({ min: -3000, max: -1 }), // out of order, below the highest
    )), { maxLength: 400 }), (steps) => {
      const ids = new ClientOrderIds(4, 100_000);
      const highest = [0, 0, 0, 0];
      const remembered = new Map<string, 'recent' | 'older'>();
      for (const [account, step] of steps) {
        const id = Math.max(1, highest[account] + step);
        const kind = remembered.get(`${account}/${id}`);
        const expected = kind === 'older' || (kind === 'recent' && id > highest[account] - B);
        assert.equal(ids.has(account, id), expected, `account ${account} id ${id} (highest ${highest[account]})`);
        if (expected) continue;
        ids.add(account, id);
        remembered.set(`${account}/${id}`, id <= highest[account] - B ? 'older' : 'recent');
        if (id > highest[account]) highest[account] = id;
      }
    }),
    { numRuns: 300, seed: 1125 },
  );
});

test('clear forgets everything', () => {
  const ids = new ClientOrderIds(2, 16);
  ids.add(1, 5);
  ids.add(1, 5000);
  ids.add(1, 7);
  assert.ok(ids.has(1, 5000) && ids.has(1, 7));
  ids.clear();
  assert.ok(!ids.has(1, 5000) && !ids.has(1, 7) && !ids.has(1, 5));
});

test('ids skipped by a jump are not remembered, even where older ids left their bits', () => {
  const ids = new ClientOrderIds(2, 16);
  for (let id = 1; id <= 2000; id++) ids.add(1, id); // every ring bit set by some old id
  ids.add(1, 2500); // skips 2001..2499
  for (let id = 2001; id < 2500; id++) assert.equal(ids.has(1, id), false, `id ${id} was never used`);
  for (let id = 2500 - B + 1; id <= 2000; id++) assert.equal(ids.has(1, id), true, `id ${id} is within the window`);
  assert.equal(ids.has(1, 2500 - B), false, 'just below the window: forgotten');
});

test('the ids just below the highest may span 33 blocks of 32: none of them shares a ring word', () => {
  const ids = new ClientOrderIds(2, 16);
  const highest = 32 * 40; // first id of block 40: the window (highest - B, highest] starts in block 8
  for (let id = highest - B + 1; id <= highest; id++) ids.add(1, id);
  for (let id = highest - B + 1; id <= highest; id++) assert.equal(ids.has(1, id), true, `id ${id} is within the window`);
  assert.equal(ids.has(1, highest - B), false, 'never used');
  // Sliding up in steps of 7: after each step exactly the used ids of the window are remembered.
  const used = new Set<number>();
  for (let id = highest - B + 1; id <= highest; id++) used.add(id);
  for (let id = highest + 7; id <= highest + 3 * B; id += 7) {
    ids.add(1, id);
    used.add(id);
    for (let probe = id - B - 40; probe <= id; probe++) {
      assert.equal(ids.has(1, probe), probe > id - B && used.has(probe), `id ${probe} with highest ${id}`);
    }
  }
});

test('a re-tagged word forgets the old block and only it', () => {
  const ids = new ClientOrderIds(2, 16);
  ids.add(1, 5); // block 0, word 0
  ids.add(1, 64 * 32 + 9); // block 64 re-tags word 0; id 5 is far out of the window anyway
  assert.equal(ids.has(1, 64 * 32 + 9), true);
  assert.equal(ids.has(1, 64 * 32 + 5), false, 'bit 5 of the old block does not leak into the new one');
  assert.equal(ids.has(1, 5), false);
});
