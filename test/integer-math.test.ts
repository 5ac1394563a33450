/**
 * The exact integer helpers against BigInt arithmetic: mulDivFloor / mulDivCeil /
 * mulDivTrunc on safe integers, and ceilBasisPoints (the float fast path of holds,
 * fees and margin requirements) equal to mulDivCeil on both sides of its 2^45 limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ceilBasisPoints, mulDivCeil, mulDivFloor, mulDivTrunc } from '../core/integer-math';

function bigFloor(a: number, b: number, c: number): number {
  const n = BigInt(a) * BigInt(b);
  const d = BigInt(c);
  let q = n / d;
  if (n % d !== 0n && n < 0n) q -= 1n;
  return Number(q);
}

const safe = fc.integer({ min: -(2 ** 40), max: 2 ** 40 });
const divisor = fc.integer({ min: 1, max: 2 ** 30 });

test('mulDivFloor / mulDivCeil / mulDivTrunc are exact', () => {
  fc.assert(
    fc.property(safe, fc.integer({ min: -(2 ** 20), max: 2 ** 20 }), divisor, (a, b, c) => {
      fc.pre(Math.abs(a * b) / c < 2 ** 52); // the result must be a safe integer
      const floor = bigFloor(a, b, c);
      const ceil = -bigFloor(-a, b, c);
      assert.equal(mulDivFloor(a, b, c), floor);
      assert.equal(mulDivCeil(a, b, c), ceil + 0);
      assert.equal(mulDivTrunc(a, b, c), (a * b >= 0 ? floor : ceil) + 0);
    }),
    { numRuns: 2000 },
  );
});

test('ceilBasisPoints equals mulDivCeil(amount, bps, 10000), around its fast-path limit too', () => {
  const limit = 2 ** 45;
  const amounts = fc.oneof(
    fc.integer({ min: 0, max: 2 ** 40 }),
    fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    fc.integer({ min: -3, max: 3 }).map((d) => Math.max(0, Math.floor(limit / 5000) + d)), // products near 2^45 at 5000 bps
  );
  fc.assert(
    fc.property(amounts, fc.integer({ min: 0, max: 10_000 }), (amount, bps) => {
      assert.equal(ceilBasisPoints(amount, bps), mulDivCeil(amount, bps, 10_000));
    }),
    { numRuns: 5000 },
  );
  for (const bps of [1, 2500, 5000, 9999, 10_000]) {
    for (let amount = Math.floor(limit / bps) - 2; amount <= Math.floor(limit / bps) + 2; amount++) {
      assert.equal(ceilBasisPoints(amount, bps), mulDivCeil(amount, bps, 10_000));
    }
  }
  assert.ok(Object.is(ceilBasisPoints(0, 5000), 0));
});
