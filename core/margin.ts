/**
 * Margin parameters and the per-position contributions to an account's margin
 * aggregates (market value and initial / maintenance / liquidation requirements).
 *
 * Requirements are basis points of the position's gross value at its mark:
 * defaults in the spirit of Reg T (50% initial, 25% maintenance) with a lower
 * liquidation level, overridable per instrument. Contributions are stored per row
 * so a new mark or quantity updates an account's aggregates by exact differences,
 * never by rescanning the account.
 */
import { AccountTable } from './accounts';
import * as instruments from './instruments';
import { ceilBasisPoints } from './integer-math';
import * as positionTable from './positions';
import { PositionTable } from './positions';

/** Module constants, not import bindings: folded into optimized code (see the note in order-pool.ts). */
const { BASIS_POINTS } = instruments;
const { PositionField: F, POSITION_STRIDE } = positionTable;

export const DEFAULT_INITIAL_BPS = 5000;
export const DEFAULT_MAINTENANCE_BPS = 2500;
export const DEFAULT_LIQUIDATION_BPS = 1500;

export class MarginParameters {
  /** Per instrument; 0 = use the default. Index 0 holds the defaults. */
  readonly initialBps: Float64Array;
  readonly maintenanceBps: Float64Array;
  readonly liquidationBps: Float64Array;

  constructor(maxInstruments: number) {
    this.initialBps = new Float64Array(maxInstruments + 1);
    this.maintenanceBps = new Float64Array(maxInstruments + 1);
    this.liquidationBps = new Float64Array(maxInstruments + 1);
    this.initialBps[0] = DEFAULT_INITIAL_BPS;
    this.maintenanceBps[0] = DEFAULT_MAINTENANCE_BPS;
    this.liquidationBps[0] = DEFAULT_LIQUIDATION_BPS;
  }

  initial(instrument: number): number {
    return this.initialBps[instrument] || this.initialBps[0];
  }
  maintenance(instrument: number): number {
    return this.maintenanceBps[instrument] || this.maintenanceBps[0];
  }
  liquidation(instrument: number): number {
    return this.liquidationBps[instrument] || this.liquidationBps[0];
  }
}

/** Recomputes one margin row's contribution at `mark` and applies the difference to its account. */
export function refreshContribution(
  row: number, mark: number, positions: PositionTable, accounts: AccountTable, params: MarginParameters, force = false,
): void {
  const rows = positions.rows;
  const at = row * POSITION_STRIDE;
  const quantity = rows[at + F.quantity];
  const value = quantity * mark;
  // Requirements depend only on |value| and the instrument's rates: an unchanged value means an
  // unchanged contribution (new rates pass force). This makes refreshing a quiet account cheap.
  if (!force && value === rows[at + F.value] && (quantity !== 0 || rows[at + F.initial] === 0)) return;
  const account = rows[at + F.account];
  const instrument = rows[at + F.instrument];
  const gross = Math.abs(quantity) * mark;
  const initial = quantity === 0 ? 0 : ceilBasisPoints(gross, params.initial(instrument));
  const maintenance = quantity === 0 ? 0 : ceilBasisPoints(gross, params.maintenance(instrument));
  const liquidation = quantity === 0 ? 0 : ceilBasisPoints(gross, params.liquidation(instrument));
  accounts.marketValue[account] += value - rows[at + F.value];
  accounts.initialRequirement[account] += initial - rows[at + F.initial];
  accounts.maintenanceRequirement[account] += maintenance - rows[at + F.maintenance];
  accounts.liquidationRequirement[account] += liquidation - rows[at + F.liquidation];
  rows[at + F.value] = value;
  rows[at + F.initial] = initial;
  rows[at + F.maintenance] = maintenance;
  rows[at + F.liquidation] = liquidation;
}

/**
 * Value minus requirement (basis points `bps` of the gross value) of a position of
 * `quantity` at `mark`: what the position adds to its account's equity above that
 * requirement level, exactly (same rounding as the rows' requirements). For a long it
 * never decreases as the mark rises, for a short it never increases (bps <= 10000), which
 * is what makes a row's value at its trigger a floor while the trigger is not crossed.
 */
export function surplusAt(quantity: number, mark: number, bps: number): number {
  return quantity * mark - ceilBasisPoints(Math.abs(quantity) * mark, bps) + 0; // + 0: never -0
}

/**
 * The integer trigger mark of a margin row that may lose `budget` of equity above
 * maintenance before it must be re-evaluated: a long loses quantity x (1 - rate) per unit
 * the mark falls, a short |quantity| x (1 + rate) per unit it rises. Rounded toward the
 * mark (less budget used, never more) and kept within half / double the mark, so a
 * trigger is never far (a row that has more budget than that keeps the rest unused) and
 * every product stays small. The caller checks the exact floor and that the trigger is
 * not already crossed (a budget under one tick's loss rounds to the mark itself).
 */
export function triggerMark(quantity: number, mark: number, budget: number, maintenanceBps: number): number {
  const rate = maintenanceBps / BASIS_POINTS;
  if (quantity > 0) return Math.max(Math.ceil(mark - budget / (quantity * (1 - rate))), Math.floor(mark / 2));
  return Math.min(Math.floor(mark + budget / (-quantity * (1 + rate))), mark * 2);
}
