/**
 * Every capacity of the engine, in one place ("put a limit on everything").
 *
 * All hot-path memory is allocated from these numbers when the engine starts;
 * exceeding one is a rejection with its own reason code (ORDER_CAPACITY_EXCEEDED,
 * LEVEL_CAPACITY_EXCEEDED, ...), never growth. `validateLimits` asserts how the
 * limits relate, with a message naming the offending key.
 */
export interface EngineLimits {
  /** Live orders (resting + pending stops) across all instruments. */
  readonly maxOrders: number;
  /** Price levels in use across all books and stop ladders. */
  readonly maxPriceLevels: number;
  /** Price levels on one side of one book (also bounds one side's stop ladder). */
  readonly maxLevelsPerSide: number;
  /** Instruments; instrument ids are 1..maxInstruments. */
  readonly maxInstruments: number;
  /** Accounts; account ids are 1..maxAccounts. */
  readonly maxAccounts: number;
  /** (account, instrument) positions across all accounts. */
  readonly maxPositions: number;
  /** Client order ids remembered per trading day for duplicate detection (oldest forgotten first). */
  readonly clientOrderIdWindow: number;
  /** Deposit/withdrawal references remembered for idempotency (oldest forgotten first). */
  readonly cashReferenceWindow: number;
  /** Events one output batch holds before the engine hands it to its sink. */
  readonly eventBatchCapacity: number;
}

export const DEFAULT_LIMITS: EngineLimits = Object.freeze({
  maxOrders: 1 << 20,
  maxPriceLevels: 1 << 18,
  maxLevelsPerSide: 4096,
  maxInstruments: 256,
  maxAccounts: 1 << 16,
  maxPositions: 1 << 18,
  clientOrderIdWindow: 1 << 20,
  cashReferenceWindow: 1 << 16,
  eventBatchCapacity: 4096,
});

/** Hard ceilings that keep ids inside the bit budget of packed keys (see id-table.ts). */
export const ABSOLUTE_MAX_ACCOUNTS = 1 << 20;
export const ABSOLUTE_MAX_INSTRUMENTS = 1 << 16;
export const ABSOLUTE_MAX_ORDERS = 1 << 26;

export function validateLimits(partial: Partial<EngineLimits> = {}): EngineLimits {
  const limits: EngineLimits = { ...DEFAULT_LIMITS, ...partial };
  const positive = (key: keyof EngineLimits, max: number) => {
    const value = limits[key];
    if (!Number.isSafeInteger(value) || value < 1 || value > max) {
      throw new RangeError(`limits.${key}: expected an integer in 1..${max}, got ${value}`);
    }
  };
  positive('maxOrders', ABSOLUTE_MAX_ORDERS);
  positive('maxPriceLevels', ABSOLUTE_MAX_ORDERS);
  positive('maxLevelsPerSide', 1 << 20);
  positive('maxInstruments', ABSOLUTE_MAX_INSTRUMENTS);
  positive('maxAccounts', ABSOLUTE_MAX_ACCOUNTS);
  positive('maxPositions', ABSOLUTE_MAX_ORDERS);
  positive('clientOrderIdWindow', ABSOLUTE_MAX_ORDERS);
  positive('cashReferenceWindow', ABSOLUTE_MAX_ORDERS);
  positive('eventBatchCapacity', 1 << 20);
  if (limits.maxLevelsPerSide > limits.maxPriceLevels) {
    throw new RangeError(`limits.maxLevelsPerSide (${limits.maxLevelsPerSide}) exceeds limits.maxPriceLevels (${limits.maxPriceLevels})`);
  }
  if (limits.eventBatchCapacity < 16) {
    throw new RangeError(`limits.eventBatchCapacity must be at least 16, got ${limits.eventBatchCapacity}`);
  }
  return Object.freeze(limits);
}
