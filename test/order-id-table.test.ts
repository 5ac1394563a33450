/**
 * The e2e load generator's order-id bookkeeping (bench/e2e/order-id-table.ts) against JS Maps,
 * which it replaced: same answers over random sets, gets and deletes, with colliding ids and
 * a small capacity so probe chains shift on deletion and the capacity limit is reached.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { OldestFirst, OrderIdTable } from '../bench/e2e/order-id-table';

const orderId = fc.oneof(fc.integer({ min: 1, max: 24 }), fc.constantFrom(2 ** 32, 2 ** 32 + 1, 2 ** 45 + 3, Number.MAX_SAFE_INTEGER));
type Op = { kind: 'set' | 'delete' | 'get'; orderId: number; value: number };
const op: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('set' as const, 'set' as const, 'delete' as const, 'get' as const),
  orderId,
  value: fc.integer({ min: -1, max: 1e9 }),
});

test('OrderIdTable answers as a Map does, and refuses inserts beyond its capacity', () => {
  fc.assert(fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
    const table = new OrderIdTable(16);
    const model = new Map<number, number>();
    for (const { kind, orderId: id, value } of ops) {
      if (kind === 'set') {
        const fits = model.has(id) || model.size < 16;
        assert.equal(table.set(id, value), fits);
        if (fits) model.set(id, value);
      } else if (kind === 'delete') {
        assert.equal(table.delete(id), model.delete(id));
      }
      assert.equal(table.size, model.size);
      const expected = model.get(id);
      const actual = table.get(id);
      if (expected === undefined) assert.ok(Number.isNaN(actual), `${id} absent`);
      else assert.equal(actual, expected);
    }
    for (const [id, value] of model) assert.equal(table.get(id), value);
  }));
});

test('OldestFirst hands out members in insertion order, skipping the deleted, like a Map\'s first key', () => {
  type SetOp = { kind: 'add' | 'delete' | 'take'; pick: number };
  const setOp: fc.Arbitrary<SetOp> = fc.record({ kind: fc.constantFrom('add' as const, 'add' as const, 'add' as const, 'delete' as const, 'delete' as const, 'take' as const), pick: fc.nat(1000) });
  fc.assert(fc.property(fc.array(setOp, { maxLength: 400 }), (ops) => {
    const set = new OldestFirst(8);
    const model = new Map<number, 1>();
    const accepted: number[] = [];
    let nextId = 1;
    for (const { kind, pick } of ops) {
      if (kind === 'add') {
        const added = set.add(nextId);
        if (added) {
          model.set(nextId, 1);
          accepted.push(nextId);
        } else {
          // Refused only when the ring is full: 8 accepted ids from the oldest member on.
          const oldest: number | undefined = model.keys().next().value;
          const span = oldest === undefined ? 0 : accepted.filter((id) => id >= oldest).length;
          assert.ok(span >= 8, `add ${nextId} refused with ${span} ids in the ring from the oldest member ${oldest}`);
        }
        nextId++;
      } else if (kind === 'delete') {
        const ids = [...model.keys()];
        const id = ids.length === 0 ? nextId + 1 : ids[pick % ids.length]!;
        assert.equal(set.delete(id), model.delete(id));
      } else {
        const expected = model.keys().next().value ?? 0;
        assert.equal(set.takeOldest(), expected);
        model.delete(expected);
      }
      assert.equal(set.size, model.size);
    }
  }));
});

test('OldestFirst: a full ring whose oldest entries were deleted takes new members', () => {
  const set = new OldestFirst(8);
  for (let id = 1; id <= 8; id++) assert.equal(set.add(id), true);
  assert.equal(set.add(9), false, 'full: eight members');
  assert.equal(set.delete(1), true);
  assert.equal(set.delete(2), true);
  assert.equal(set.add(9), true, 'the deleted entries at the head make room');
  assert.equal(set.takeOldest(), 3);
  assert.equal(set.size, 6);
});
