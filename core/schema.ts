/**
 * The one schema of the exchange: every command and every event, its numeric
 * code, its fields in order and each field's kind.
 *
 * Everything else derives from this table: the fixed ring/journal record layout
 * (one float64 word per field after a small header, see `at`), the binary wire
 * codec (field kinds give byte widths), the journal codec and the docs. There is no
 * second, hand-kept copy of a message layout anywhere.
 *
 * Record layout. A command record is COMMAND_WORDS float64 words:
 *   [0] type code  [1] timestamp (µs, from outside)  [2] origin (routing tag of the
 *   gateway session; opaque to the matcher, echoed in the events)  [3..] fields.
 * An event record is EVENT_WORDS float64 words:
 *   [0] type code  [1] global sequence  [2] timestamp of the causing command
 *   [3] origin of the causing command  [4..] fields.
 * Every value is a safe integer, so float64 words are exact and byte-identical on
 * every machine (IEEE-754 little-endian in every buffer we write).
 */

/** Byte width and range of a field on the wire; in records every field is one float64 word. */
export type FieldKind = 'u8' | 'u16' | 'u32' | 'i64' | 'ascii7';

export const COMMAND_WORDS = 16;
export const COMMAND_HEADER_WORDS = 3;
export const EVENT_WORDS = 16;
export const EVENT_HEADER_WORDS = 4;

/** Header word offsets, shared by every message of a kind. */
export const CommandHeader = { type: 0, timestamp: 1, origin: 2 } as const;
export const EventHeader = { type: 0, sequence: 1, timestamp: 2, origin: 3 } as const;

export interface FieldSpec {
  readonly name: string;
  readonly kind: FieldKind;
  /** Word offset of the field inside its record. */
  readonly word: number;
}

export interface MessageSpec<K extends string = string> {
  readonly code: number;
  readonly name: string;
  readonly fields: readonly FieldSpec[];
  /** Word offset of each field inside its record, by name. */
  readonly at: Readonly<Record<K, number>>;
}

function define<K extends string>(
  code: number,
  name: string,
  headerWords: number,
  recordWords: number,
  fields: Readonly<Record<K, FieldKind>>,
): MessageSpec<K> {
  const specs: FieldSpec[] = [];
  const at = {} as Record<K, number>;
  for (const key of Object.keys(fields) as K[]) {
    const word = headerWords + specs.length;
    specs.push({ name: key, kind: fields[key], word });
    at[key] = word;
  }
  if (headerWords + specs.length > recordWords) {
    throw new Error(`schema: ${name} has ${specs.length} fields, more than a ${recordWords}-word record holds`);
  }
  return Object.freeze({ code, name, fields: Object.freeze(specs), at: Object.freeze(at) });
}

const command = <K extends string>(code: number, name: string, fields: Readonly<Record<K, FieldKind>>) =>
  define(code, name, COMMAND_HEADER_WORDS, COMMAND_WORDS, fields);
const event = <K extends string>(code: number, name: string, fields: Readonly<Record<K, FieldKind>>) =>
  define(code, name, EVENT_HEADER_WORDS, EVENT_WORDS, fields);

// ---------------------------------------------------------------- commands

export const Commands = {
  AddInstrument: command(1, 'AddInstrument', {
    instrument: 'u32', symbolHead: 'ascii7', symbolTail: 'ascii7', tickSize: 'i64', lotSize: 'i64',
    bandBasisPoints: 'u32', maxOrderQuantity: 'i64', maxOrderNotional: 'i64', referencePrice: 'i64',
    settlementDays: 'u8', initialState: 'u8', currency: 'ascii7',
  }),
  NewOrder: command(2, 'NewOrder', {
    account: 'u32', instrument: 'u32', clientOrderId: 'u32', side: 'u8', orderType: 'u8',
    timeInForce: 'u8', price: 'i64', quantity: 'i64', stopPrice: 'i64', selfTradePrevention: 'u8',
    flags: 'u8', expireTime: 'i64',
  }),
  CancelOrder: command(3, 'CancelOrder', { account: 'u32', orderId: 'i64' }),
  ReplaceOrder: command(4, 'ReplaceOrder', { account: 'u32', orderId: 'i64', price: 'i64', quantity: 'i64' }),
  /** account 0 = every account (admin); instrument 0 = every instrument; side 0 = both sides. */
  MassCancel: command(5, 'MassCancel', { account: 'u32', instrument: 'u32', side: 'u8' }),
  /** instrument 0 = every instrument. */
  SessionOpen: command(6, 'SessionOpen', { instrument: 'u32' }),
  /** Closes trading and expires DAY orders. instrument 0 = every instrument. */
  SessionClose: command(7, 'SessionClose', { instrument: 'u32' }),
  HaltInstrument: command(8, 'HaltInstrument', { instrument: 'u32' }),
  ResumeInstrument: command(9, 'ResumeInstrument', { instrument: 'u32' }),
  /** Carries time only (in the header): expires GTD orders whose time has come. */
  Clock: command(10, 'Clock', {}),
  /** Ends the trading day: advances the trade date, settles what is due, forgets client order ids. */
  /**
   * calendarDate: the calendar day this ends (YYYYMMDD, or the demo day's number). A day is
   * ended once: a date at or below the last one ended is rejected (TRADING_DAY_ALREADY_ENDED),
   * so the supervisor may resend after a restart. 0 ends a day unconditionally (operators, tests).
   */
  EndOfDay: command(11, 'EndOfDay', { calendarDate: 'u32' }),
  OpenAccount: command(20, 'OpenAccount', { account: 'u32', accountType: 'u8' }),
  SetAccountStatus: command(21, 'SetAccountStatus', { account: 'u32', action: 'u8' }),
  Deposit: command(22, 'Deposit', { account: 'u32', amount: 'i64', reference: 'i64' }),
  Withdraw: command(23, 'Withdraw', { account: 'u32', amount: 'i64', reference: 'i64' }),
  /** 0 in a limit field keeps the engine default for that limit. */
  SetAccountLimits: command(24, 'SetAccountLimits', {
    account: 'u32', maxOpenOrders: 'u32', maxOrderNotional: 'i64', maxPositionQuantity: 'i64',
    maxGrossExposure: 'i64', maxShortQuantity: 'i64',
  }),
  SetFeeSchedule: command(25, 'SetFeeSchedule', { makerFeeBasisPoints: 'i64', takerFeeBasisPoints: 'i64', feeAccount: 'u32' }),
  /** instrument 0 sets the default for every instrument without an override. */
  SetMarginParameters: command(26, 'SetMarginParameters', {
    instrument: 'u32', initialBasisPoints: 'u32', maintenanceBasisPoints: 'u32', liquidationBasisPoints: 'u32',
  }),
  StockSplit: command(27, 'StockSplit', { instrument: 'u32', numerator: 'u32', denominator: 'u32' }),
  CashDividend: command(28, 'CashDividend', { instrument: 'u32', amountPerShare: 'i64' }),
} as const;

// ---------------------------------------------------------------- events

export const Events = {
  InstrumentAdded: event(1, 'InstrumentAdded', {
    instrument: 'u32', symbolHead: 'ascii7', symbolTail: 'ascii7', tickSize: 'i64', lotSize: 'i64',
    bandBasisPoints: 'u32', referencePrice: 'i64', state: 'u8', settlementDays: 'u8',
  }),
  OrderAccepted: event(2, 'OrderAccepted', {
    orderId: 'i64', account: 'u32', instrument: 'u32', clientOrderId: 'u32', side: 'u8', orderType: 'u8',
    timeInForce: 'u8', price: 'i64', quantity: 'i64', stopPrice: 'i64',
  }),
  /** orderId is 0 for a rejected new order, the order's id for a rejected replace. */
  OrderRejected: event(3, 'OrderRejected', {
    account: 'u32', instrument: 'u32', clientOrderId: 'u32', orderId: 'i64', reason: 'u16', commandType: 'u8',
  }),
  Trade: event(4, 'Trade', {
    instrument: 'u32', makerOrderId: 'i64', takerOrderId: 'i64', price: 'i64', quantity: 'i64',
    aggressorSide: 'u8', makerAccount: 'u32', takerAccount: 'u32', makerLeaves: 'i64', takerLeaves: 'i64',
    makerFee: 'i64', takerFee: 'i64',
  }),
  OrderCanceled: event(5, 'OrderCanceled', {
    orderId: 'i64', account: 'u32', instrument: 'u32', side: 'u8', price: 'i64', canceledQuantity: 'i64', reason: 'u8',
  }),
  OrderReplaced: event(6, 'OrderReplaced', {
    orderId: 'i64', account: 'u32', instrument: 'u32', side: 'u8', price: 'i64', quantity: 'i64',
    leavesQuantity: 'i64', priorityKept: 'u8', oldPrice: 'i64', oldLeaves: 'i64',
  }),
  CancelRejected: event(7, 'CancelRejected', { orderId: 'i64', account: 'u32', reason: 'u16', commandType: 'u8' }),
  StopTriggered: event(8, 'StopTriggered', {
    orderId: 'i64', account: 'u32', instrument: 'u32', stopPrice: 'i64', lastPrice: 'i64',
  }),
  InstrumentStateChanged: event(9, 'InstrumentStateChanged', {
    instrument: 'u32', state: 'u8', previousState: 'u8', reason: 'u8',
  }),
  ClockAdvanced: event(10, 'ClockAdvanced', {}),
  TradingDayEnded: event(11, 'TradingDayEnded', { tradeDate: 'u32' }),
  MassCancelDone: event(12, 'MassCancelDone', { account: 'u32', instrument: 'u32', side: 'u8', canceledCount: 'u32' }),
  /** A non-order command (admin, account, instrument) that was refused. subject: the instrument or account it named. */
  CommandRejected: event(13, 'CommandRejected', { commandType: 'u8', subject: 'u32', reason: 'u16', reference: 'i64' }),
  AccountOpened: event(20, 'AccountOpened', { account: 'u32', accountType: 'u8' }),
  AccountStatusChanged: event(21, 'AccountStatusChanged', { account: 'u32', status: 'u8', previousStatus: 'u8' }),
  CashDeposited: event(22, 'CashDeposited', { account: 'u32', amount: 'i64', reference: 'i64', cashBalance: 'i64' }),
  CashWithdrawn: event(23, 'CashWithdrawn', { account: 'u32', amount: 'i64', reference: 'i64', cashBalance: 'i64' }),
  CashReserved: event(24, 'CashReserved', { account: 'u32', orderId: 'i64', amount: 'i64', reservedTotal: 'i64' }),
  CashReleased: event(25, 'CashReleased', { account: 'u32', orderId: 'i64', amount: 'i64', reservedTotal: 'i64' }),
  PositionChanged: event(26, 'PositionChanged', {
    account: 'u32', instrument: 'u32', quantity: 'i64', costBasis: 'i64', realizedPnl: 'i64', cashBalance: 'i64',
    /** The account's reserved cash after the fill (engine semantics 2; 0 under 1: core/engine-semantics.ts). */
    reservedTotal: 'i64',
  }),
  Settled: event(27, 'Settled', { account: 'u32', instrument: 'u32', quantity: 'i64', cash: 'i64', tradeDate: 'u32' }),
  CorporateActionApplied: event(28, 'CorporateActionApplied', {
    instrument: 'u32', account: 'u32', kind: 'u8', quantity: 'i64', cash: 'i64', numerator: 'u32', denominator: 'u32',
  }),
  MarginCall: event(29, 'MarginCall', { account: 'u32', equity: 'i64', maintenanceRequirement: 'i64' }),
  LiquidationStarted: event(30, 'LiquidationStarted', { account: 'u32', equity: 'i64', liquidationRequirement: 'i64' }),
  AccountLimitsSet: event(31, 'AccountLimitsSet', {
    account: 'u32', maxOpenOrders: 'u32', maxOrderNotional: 'i64', maxPositionQuantity: 'i64',
    maxGrossExposure: 'i64', maxShortQuantity: 'i64',
  }),
  FeeScheduleSet: event(32, 'FeeScheduleSet', { makerFeeBasisPoints: 'i64', takerFeeBasisPoints: 'i64', feeAccount: 'u32' }),
  MarginParametersSet: event(33, 'MarginParametersSet', {
    instrument: 'u32', initialBasisPoints: 'u32', maintenanceBasisPoints: 'u32', liquidationBasisPoints: 'u32',
  }),
} as const;

export type CommandName = keyof typeof Commands;
export type EventName = keyof typeof Events;

function indexByCode(table: Readonly<Record<string, MessageSpec>>): readonly (MessageSpec | undefined)[] {
  const byCode: (MessageSpec | undefined)[] = [];
  for (const spec of Object.values(table)) {
    if (byCode[spec.code] !== undefined) throw new Error(`schema: code ${spec.code} used twice (${spec.name})`);
    byCode[spec.code] = spec;
  }
  return byCode;
}

/** Message specs indexed by numeric code (undefined where no message has that code). */
export const commandByCode = indexByCode(Commands);
export const eventByCode = indexByCode(Events);

/** Highest command/event code; codes fit one byte on the wire. */
export const MAX_MESSAGE_CODE = 255;

// ---------------------------------------------------------------- ascii7 packing

/** Characters per ascii7 word: 7 chars x 7 bits = 49 bits, inside a safe integer. */
export const ASCII7_CHARS = 7;

/** Packs up to 7 ASCII characters (codes 1..127) into one safe integer; first char most significant. */
export function packAscii7(text: string): number {
  if (text.length > ASCII7_CHARS) throw new RangeError(`ascii7: "${text}" is longer than ${ASCII7_CHARS} characters`);
  let value = 0;
  for (let i = 0; i < ASCII7_CHARS; i++) {
    const code = i < text.length ? text.charCodeAt(i) : 0;
    if (code > 127 || (i < text.length && code === 0)) throw new RangeError(`ascii7: "${text}" has a non-ASCII character`);
    value = value * 128 + code;
  }
  return value;
}

export function unpackAscii7(value: number): string {
  let text = '';
  for (let i = ASCII7_CHARS - 1; i >= 0; i--) {
    const code = Math.floor(value / 128 ** i) % 128;
    if (code !== 0) text += String.fromCharCode(code);
  }
  return text;
}

/** A symbol is up to 14 characters, carried in two ascii7 words (head, tail). */
export const MAX_SYMBOL_LENGTH = 2 * ASCII7_CHARS;

export function packSymbol(symbol: string): [number, number] {
  if (symbol.length === 0 || symbol.length > MAX_SYMBOL_LENGTH) {
    throw new RangeError(`symbol "${symbol}" must have 1..${MAX_SYMBOL_LENGTH} characters`);
  }
  return [packAscii7(symbol.slice(0, ASCII7_CHARS)), packAscii7(symbol.slice(ASCII7_CHARS))];
}

export function unpackSymbol(head: number, tail: number): string {
  return unpackAscii7(head) + unpackAscii7(tail);
}
