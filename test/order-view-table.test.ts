/**
 * OrderViewTable (the gateway read model's orders): against a model of two Maps, over random
 * inserts, re-inserts, removals and lookups, from a tiny capacity so it grows and its probe
 * chains collide and shift on removal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ORDER_VIEW_FIELDS, OrderViewTable } from '../gateway/order-entry/order-view-table';

type Op = { kind: 'insert'; orderId: number; account: number; clientOrderId: number; price: number } | { kind: 'remove'; orderId: number };

const orderIdArbitrary = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(2 ** 32 + 1, 2 ** 40 + 7, Number.MAX_SAFE_INTEGER));
const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('insert' as const), orderId: orderIdArbitrary, account: fc.integer({ min: 1, max: 4 }), clientOrderId: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.constant(2 ** 32 - 1)), price: fc.integer({ min: 1, max: 1e6 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), orderId: orderIdArbitrary }) },
);

test('finds what a model of Maps finds, through growth, collisions, removals and reused client order ids', () => {
  fc.assert(fc.property(fc.array(opArbitrary, { maxLength: 300 }), (ops) => {
    const table = new OrderViewTable(2);
    const orders = new Map<number, { account: number; clientOrderId: number; price: number }>();
    const byClient = new Map<string, number>();
    for (const op of ops) {
      if (op.kind === 'insert') {
        const previous = orders.get(op.orderId);
        if (previous !== undefined && byClient.get(`${previous.account}:${previous.clientOrderId}`) === op.orderId) byClient.delete(`${previous.account}:${previous.clientOrderId}`);
        orders.set(op.orderId, { account: op.account, clientOrderId: op.clientOrderId, price: op.price });
        byClient.set(`${op.account}:${op.clientOrderId}`, op.orderId);
        const row = ORDER_VIEW_FIELDS.map((field) => (field === 'orderId' ? op.orderId : field === 'account' ? op.account : field === 'clientOrderId' ? op.clientOrderId : field === 'price' ? op.price : 0));
        assert.ok(table.insert(row) >= 0);
      } else {
        const order = orders.get(op.orderId);
        if (order !== undefined) {
          orders.delete(op.orderId);
          if (byClient.get(`${order.account}:${order.clientOrderId}`) === op.orderId) byClient.delete(`${order.account}:${order.clientOrderId}`);
        }
        const slot = table.find(op.orderId);
        assert.equal(slot >= 0, order !== undefined);
        if (slot >= 0) table.remove(slot);
      }
      assert.equal(table.size, orders.size);
      for (const [orderId, order] of orders) {
        const slot = table.find(orderId);
        assert.ok(slot >= 0, `order ${orderId} found`);
        assert.equal(table.rows[slot * ORDER_VIEW_FIELDS.length + ORDER_VIEW_FIELDS.indexOf('price')], order.price);
      }
      for (let account = 1; account <= 4; account++) {
        for (const clientOrderId of [1, 2, 3, 4, 5, 6, 2 ** 32 - 1]) {
          const expected = byClient.get(`${account}:${clientOrderId}`);
          const slot = table.findByClient(account, clientOrderId);
          assert.equal(slot < 0 ? undefined : table.rows[slot * ORDER_VIEW_FIELDS.length], expected, `client ${account}:${clientOrderId}`);
        }
      }
    }
    assert.equal(table.size, orders.size);
    // The dense rows and client-entry flags, as a checkpoint saves them, load into an equal table.
    const copy = new OrderViewTable(2);
    assert.equal(copy.load(table.rows.slice(0, table.size * ORDER_VIEW_FIELDS.length), table.clientEntry.slice(0, table.size)), table.size);
    for (const orderId of orders.keys()) assert.deepEqual(rowOf(copy, copy.find(orderId)), rowOf(table, table.find(orderId)), `loaded order ${orderId}`);
    for (let account = 1; account <= 4; account++) {
      for (const clientOrderId of [1, 2, 3, 4, 5, 6, 2 ** 32 - 1]) {
        const expected = byClient.get(`${account}:${clientOrderId}`);
        const slot = copy.findByClient(account, clientOrderId);
        assert.equal(slot < 0 ? undefined : copy.rows[slot * ORDER_VIEW_FIELDS.length], expected, `loaded client ${account}:${clientOrderId}`);
      }
    }
  }), { numRuns: 200 });
});

function rowOf(table: OrderViewTable, slot: number): number[] {
  return [...table.rows.subarray(slot * ORDER_VIEW_FIELDS.length, (slot + 1) * ORDER_VIEW_FIELDS.length)];
}

test('load refuses rows and flags that do not fit together', () => {
  const rows = new Float64Array(2 * ORDER_VIEW_FIELDS.length);
  rows[0] = 7;
  rows[ORDER_VIEW_FIELDS.length] = 7; // the same order id twice
  assert.throws(() => new OrderViewTable(2).load(rows, new Float64Array([1, 0])), /saved twice/);
  assert.throws(() => new OrderViewTable(2).load(rows, new Float64Array([1])), /not 1 rows/);
  rows[ORDER_VIEW_FIELDS.length] = 8; // two orders, same (account 0, client order id 0), both flagged
  assert.throws(() => new OrderViewTable(2).load(rows, new Float64Array([1, 1])), /two saved orders/);
  assert.equal(new OrderViewTable(2).load(rows, new Float64Array([0, 1])), 2);
});
