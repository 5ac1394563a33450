/**
 * Exact integer arithmetic for money: no floating-point rounding ever reaches a
 * balance. Inputs are safe integers; when an intermediate product would leave the
 * safe range the computation switches to BigInt (rare: large notionals only).
 */

/** floor(a * b / c) for safe integers a, b and positive c, exactly (rounds toward -infinity). */
export function mulDivFloor(a: number, b: number, c: number): number {
  const product = a * b;
  if (Number.isSafeInteger(product)) {
    let q = Math.floor(product / c);
    const r = product - q * c;
    if (r < 0) q--;
    else if (r >= c) q++;
    return q + 0; // never -0: records must be byte-identical
  }
  const big = BigInt(a) * BigInt(b);
  const bc = BigInt(c);
  let q = big / bc;
  if (big % bc !== 0n && big < 0n) q -= 1n;
  return checkedNumber(q);
}

/** Below this, amount x basis points / 10000 is exact in float64 (see ceilBasisPoints). */
const FAST_BASIS_POINTS_PRODUCT = 2 ** 45;

/**
 * ceil(amount x bps / 10000) for amount >= 0 and 0 <= bps <= 10000, exactly: mulDivCeil(amount,
 * bps, 10000). Fast path: for products below 2^45 the quotient is below 2^32, where a float64
 * holds it to ~1e-6, far finer than the 1e-4 steps of a non-integral quotient, so Math.ceil is
 * exact. Small enough to inline, so holds, fees and requirements in the hot paths pass no boxed
 * doubles to a call (a non-inlined call with double arguments allocates a heap number for each).
 */
export function ceilBasisPoints(amount: number, bps: number): number {
  const product = amount * bps;
  return product < FAST_BASIS_POINTS_PRODUCT ? Math.ceil(product / 10000) : mulDivCeil(amount, bps, 10000);
}

/** ceil(a * b / c), exactly. */
export function mulDivCeil(a: number, b: number, c: number): number {
  return 0 - mulDivFloor(-a, b, c);
}

/** trunc(a * b / c), exactly (rounds toward zero). */
export function mulDivTrunc(a: number, b: number, c: number): number {
  return a * b >= 0 ? mulDivFloor(a, b, c) : mulDivCeil(a, b, c);
}

function checkedNumber(value: bigint): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`integer result ${value} is outside the safe range`);
  return n;
}

/**
 * Whether `step` divides `value`, for integers 0 <= value < 2^53 and step >= 1.
 * One float division instead of `%`: V8 runs a float64 remainder as a slow library
 * loop, and it was ~7% of the matcher's time (tick and lot checks of every order).
 * Exact: when step does not divide value, value / step lies at least 1/step from an
 * integer, more than its rounding error below 2^53, so floor(value / step) x step
 * (an exact product, at most value) equals value only when step divides it.
 */
export function isMultipleOf(value: number, step: number): boolean {
  return Math.floor(value / step) * step === value;
}
