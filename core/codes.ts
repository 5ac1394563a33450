/**
 * Every enumerated value of the exchange, with its stable numeric code.
 *
 * These numbers travel in ring records, journal records and wire frames and are
 * part of the public contract (docs/protocol.md, docs/matching.md): never renumber,
 * only append. Code 0 is reserved everywhere as "unset" so a zeroed slot is never
 * mistaken for a meaningful value.
 *
 * The tables are frozen: V8 then folds a code read through a module constant into an
 * immediate (see the hot-path modules' import notes).
 */

export const Side = Object.freeze({ Buy: 1, Sell: 2 } as const);
export type Side = (typeof Side)[keyof typeof Side];

export const OrderType = Object.freeze({ Limit: 1, Market: 2, Stop: 3, StopLimit: 4 } as const);
export type OrderType = (typeof OrderType)[keyof typeof OrderType];

export const TimeInForce = Object.freeze({ GTC: 1, DAY: 2, GTD: 3, IOC: 4, FOK: 5 } as const);
export type TimeInForce = (typeof TimeInForce)[keyof typeof TimeInForce];

/** Self-trade prevention mode of the incoming (taker) order. 0 on the wire means the default, CANCEL_TAKER. */
export const SelfTradePrevention = Object.freeze({ None: 1, CancelTaker: 2, CancelMaker: 3, CancelBoth: 4 } as const);
export type SelfTradePrevention = (typeof SelfTradePrevention)[keyof typeof SelfTradePrevention];

/** Bit flags of a new order. */
export const OrderFlag = Object.freeze({ PostOnly: 1 } as const);
export const ORDER_FLAGS_ALL = OrderFlag.PostOnly;

export const InstrumentState = Object.freeze({ PreOpen: 1, Open: 2, Halted: 3, Closed: 4 } as const);
export type InstrumentState = (typeof InstrumentState)[keyof typeof InstrumentState];

/** Why an instrument changed state. */
export const StateChangeReason = Object.freeze({
  Admin: 1,
  SessionOpen: 2,
  SessionClose: 3,
  PriceBand: 4,
  CorporateAction: 5,
} as const);

/**
 * Reasons carried by OrderRejected and CancelRejected. Grouped by stage like
 * exchange-core's result codes: 1xx validation, 2xx trading state, 3xx order
 * lifecycle, 4xx capacity, 5xx risk and accounts.
 */
export const RejectReason = Object.freeze({
  INVALID_FIELD: 100,
  UNKNOWN_INSTRUMENT: 101,
  PRICE_OFF_TICK: 102,
  QUANTITY_OFF_LOT: 103,
  QUANTITY_ABOVE_MAX: 104,
  NOTIONAL_ABOVE_MAX: 105,
  PRICE_OUTSIDE_BANDS: 106,
  EXPIRE_TIME_IN_PAST: 107,
  INSTRUMENT_EXISTS: 108,
  UNKNOWN_ACCOUNT: 109,
  ACCOUNT_EXISTS: 110,
  INSTRUMENT_NOT_OPEN: 200,
  INSTRUMENT_HALTED: 201,
  INSTRUMENT_CLOSED: 202,
  INVALID_STATE_TRANSITION: 203,
  TRADING_DAY_ALREADY_ENDED: 204,
  DUPLICATE_CLIENT_ORDER_ID: 300,
  UNKNOWN_ORDER: 301,
  NOT_AUTHORIZED: 302,
  TOO_LATE_TO_CANCEL: 303,
  POST_ONLY_WOULD_CROSS: 304,
  DUPLICATE_REFERENCE: 305,
  ORDER_CAPACITY_EXCEEDED: 400,
  LEVEL_CAPACITY_EXCEEDED: 401,
  STOP_CAPACITY_EXCEEDED: 402,
  INSTRUMENT_CAPACITY_EXCEEDED: 403,
  ACCOUNT_CAPACITY_EXCEEDED: 404,
  POSITION_CAPACITY_EXCEEDED: 405,
  ACCOUNT_NOT_ACTIVE: 500,
  INSUFFICIENT_BUYING_POWER: 501,
  INSUFFICIENT_POSITION: 502,
  RISK_LIMIT: 503,
  INSUFFICIENT_FUNDS: 504,
  MARGIN_REQUIREMENT: 505,
  SHORT_SELL_NOT_ALLOWED: 506,
  ACCOUNT_NOT_EMPTY: 507,
  UNKNOWN_COMMAND: 900,
} as const);
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];

/** Reasons carried by OrderCanceled. */
export const CancelReason = Object.freeze({
  USER: 1,
  IOC: 2,
  FOK: 3,
  NO_LIQUIDITY: 4,
  PROTECTION: 5,
  SELF_TRADE: 6,
  HALTED: 7,
  EXPIRED: 8,
  REPLACED_TO_FILLED: 9,
  MASS_CANCEL: 10,
  CORPORATE_ACTION: 11,
  ACCOUNT_SUSPENDED: 12,
  LIQUIDATION: 13,
  /** A triggered stop-limit found no room for a new price level (see limits.maxPriceLevels). */
  CAPACITY: 14,
  /** A triggered stop needed more buying power than the account had at the trigger. */
  INSUFFICIENT_BUYING_POWER: 15,
} as const);
export type CancelReason = (typeof CancelReason)[keyof typeof CancelReason];

export const AccountType = Object.freeze({ Cash: 1, Margin: 2 } as const);
export type AccountType = (typeof AccountType)[keyof typeof AccountType];

export const AccountStatus = Object.freeze({ PendingKyc: 1, Active: 2, Rejected: 3, Suspended: 4, Closed: 5 } as const);
export type AccountStatus = (typeof AccountStatus)[keyof typeof AccountStatus];

/** Lifecycle actions of the SetAccountStatus command. */
export const AccountAction = Object.freeze({ ApproveKyc: 1, RejectKyc: 2, Suspend: 3, Resume: 4, Close: 5 } as const);

/** Kinds of CorporateActionApplied. */
export const CorporateActionKind = Object.freeze({ Split: 1, CashDividend: 2 } as const);

/** Name of a code, for logs, docs and the audit CLI. */
export function nameOf(table: Readonly<Record<string, number>>, code: number): string {
  for (const key in table) if (table[key] === code) return key;
  return `#${code}`;
}
