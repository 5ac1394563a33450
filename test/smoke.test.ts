import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, types } from './helpers/harness';

test('smoke: a cross prints at the maker price', () => {
  const h = new Harness();
  assert.deepEqual(types(h.addInstrument()), ['InstrumentAdded']);
  const a = h.sell(101, 5, { account: 2 });
  assert.deepEqual(types(a), ['OrderAccepted']);
  const b = h.buy(102, 8);
  assert.deepEqual(types(b), ['OrderAccepted', 'Trade']);
  assert.equal(b[1].price, 101);
  assert.equal(b[1].quantity, 5);
  assert.deepEqual(h.depth(1), [{ price: 102, quantity: 3, orders: [2] }]);
});
