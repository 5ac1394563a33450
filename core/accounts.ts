/**
 * The account table, indexed by account id (1..maxAccounts): lifecycle, type,
 * cash and holds, per-account limits, and the running margin aggregates the
 * margin module keeps incrementally. Amounts are integer minor currency units.
 *
 * Cash model: `cash` is the ledger balance, moved at trade time (a buy debits, a
 * sale credits, fees debit). Until settlement, sale proceeds are also counted in
 * `unsettledProceeds`: they are in `cash` but may be neither withdrawn nor (in a
 * cash account) used to buy. `reserved` is held for open orders.
 */
import { ImagePart } from './state-image';

export class AccountTable {
  readonly status: Uint8Array;
  readonly accountType: Uint8Array;
  readonly cash: Float64Array;
  readonly reserved: Float64Array;
  readonly unsettledProceeds: Float64Array;
  readonly realizedPnl: Float64Array;
  /** Head of the account's position list (position slots), or -1. */
  readonly positionHead: Int32Array;
  readonly maxOpenOrders: Float64Array;
  readonly maxOrderNotional: Float64Array;
  readonly maxPositionQuantity: Float64Array;
  readonly maxGrossExposure: Float64Array;
  readonly maxShortQuantity: Float64Array;
  /** Margin aggregates over the account's positions at their marks (margin accounts). */
  readonly marketValue: Float64Array;
  readonly initialRequirement: Float64Array;
  readonly maintenanceRequirement: Float64Array;
  readonly liquidationRequirement: Float64Array;
  /**
   * Margin accounts: the sums of their rows' maintenance and initial floors (positions.ts).
   * While no row's trigger is crossed, cash + maintenanceFloor >= 0 proves the account is
   * above maintenance, and cash + initialFloor - reserved is at most its buying power.
   */
  readonly maintenanceFloor: Float64Array;
  readonly initialFloor: Float64Array;
  /** 1: the floors prove nothing (called, or no slack): every move of a mark it holds re-evaluates it. */
  readonly evaluateEveryMove: Uint8Array;
  /** 1 while a margin call is outstanding (one MarginCall per episode). */
  readonly marginCalled: Uint8Array;
  /** 1 while queued for or under liquidation. */
  readonly liquidating: Uint8Array;

  constructor(readonly maxAccounts: number) {
    const n = maxAccounts + 1;
    this.status = new Uint8Array(n);
    this.accountType = new Uint8Array(n);
    this.cash = new Float64Array(n);
    this.reserved = new Float64Array(n);
    this.unsettledProceeds = new Float64Array(n);
    this.realizedPnl = new Float64Array(n);
    this.positionHead = new Int32Array(n).fill(-1);
    this.maxOpenOrders = new Float64Array(n);
    this.maxOrderNotional = new Float64Array(n);
    this.maxPositionQuantity = new Float64Array(n);
    this.maxGrossExposure = new Float64Array(n);
    this.maxShortQuantity = new Float64Array(n);
    this.marketValue = new Float64Array(n);
    this.initialRequirement = new Float64Array(n);
    this.maintenanceRequirement = new Float64Array(n);
    this.liquidationRequirement = new Float64Array(n);
    this.maintenanceFloor = new Float64Array(n);
    this.initialFloor = new Float64Array(n);
    this.evaluateEveryMove = new Uint8Array(n);
    this.marginCalled = new Uint8Array(n);
    this.liquidating = new Uint8Array(n);
  }

  exists(account: number): boolean {
    return Number.isInteger(account) && account >= 1 && account <= this.maxAccounts && this.status[account] !== 0;
  }

  imageParts(): ImagePart[] {
    const all: Array<[string, Float64Array | Int32Array | Uint8Array]> = [
      ['status', this.status], ['accountType', this.accountType], ['cash', this.cash], ['reserved', this.reserved],
      ['unsettledProceeds', this.unsettledProceeds], ['realizedPnl', this.realizedPnl], ['positionHead', this.positionHead],
      ['maxOpenOrders', this.maxOpenOrders], ['maxOrderNotional', this.maxOrderNotional],
      ['maxPositionQuantity', this.maxPositionQuantity], ['maxGrossExposure', this.maxGrossExposure],
      ['maxShortQuantity', this.maxShortQuantity], ['marketValue', this.marketValue],
      ['initialRequirement', this.initialRequirement], ['maintenanceRequirement', this.maintenanceRequirement],
      ['liquidationRequirement', this.liquidationRequirement], ['maintenanceFloor', this.maintenanceFloor],
      ['initialFloor', this.initialFloor], ['evaluateEveryMove', this.evaluateEveryMove],
      ['marginCalled', this.marginCalled], ['liquidating', this.liquidating],
    ];
    return all.map(([name, array]) => ({ name: `accounts.${name}`, array, length: array.length }));
  }
}
