/**
 * Value rules the decoder enforces on client-to-server fields, on top of the kind's
 * own range: enumerations from core/codes.ts, bit sets, and signs.
 *
 * These are well-formedness rules only (a side is 1 or 2, a quantity is positive).
 * Business rules that need state — tick and lot multiples, price bands, instrument
 * state, the cross-field rules of docs/matching.md — stay in the matcher, which
 * answers them with OrderRejected(INVALID_FIELD, ...). Server-to-client messages are
 * checked for kind ranges only: the client trusts the server's values.
 *
 * A rule is found by "Template.field" first, then by field name alone.
 */
import {
  AccountAction, AccountType, InstrumentState, ORDER_FLAGS_ALL, OrderType, SelfTradePrevention, Side, TimeInForce,
} from '../../core/codes';
import { CancelOnDisconnect } from './session-schema';

export const RuleType = { Enum: 1, Bits: 2, Min: 3 } as const;
export type RuleType = (typeof RuleType)[keyof typeof RuleType];

export interface FieldRule {
  readonly type: RuleType;
  /** Enum: bit v set for each allowed value v (values 0..31). Bits: the allowed bits. */
  readonly mask: number;
  /** Min: the smallest allowed value. */
  readonly min: number;
  /** For docs and error details. */
  readonly text: string;
}

const ENUM_VALUE_MAX = 31;

/** zeroMeans: what 0 stands for when it is allowed (e.g. "default"), else 0 is refused. */
function oneOf(label: string, table: Readonly<Record<string, number>>, zeroMeans?: string): FieldRule {
  const entries: [string, number][] = [...(zeroMeans === undefined ? [] : [[zeroMeans, 0] as [string, number]]), ...Object.entries(table)];
  let mask = 0;
  for (const [, value] of entries) {
    if (!Number.isInteger(value) || value < 0 || value > ENUM_VALUE_MAX) throw new Error(`field-rules: ${label} value ${value} outside 0..${ENUM_VALUE_MAX}`);
    mask |= 1 << value;
  }
  return Object.freeze({ type: RuleType.Enum, mask, min: 0, text: `${label}: ${entries.map(([name, value]) => `${value} ${name}`).join(', ')}` });
}

function bits(mask: number): FieldRule {
  return Object.freeze({ type: RuleType.Bits, mask, min: 0, text: `OrderFlag bits within 0x${mask.toString(16)}` });
}

function atLeast(min: number): FieldRule {
  return Object.freeze({ type: RuleType.Min, mask: 0, min, text: `>= ${min}` });
}

/** Rules by field name, for every client-to-server template that has the field. */
export const FIELD_RULES: Readonly<Record<string, FieldRule>> = Object.freeze({
  side: oneOf('Side', Side),
  orderType: oneOf('OrderType', OrderType),
  timeInForce: oneOf('TimeInForce', TimeInForce),
  selfTradePrevention: oneOf('SelfTradePrevention', SelfTradePrevention, 'default (CancelTaker)'),
  flags: bits(ORDER_FLAGS_ALL),
  accountType: oneOf('AccountType', AccountType),
  action: oneOf('AccountAction', AccountAction),
  initialState: oneOf('InstrumentState', InstrumentState, 'default (Open)'),
  cancelOnDisconnect: oneOf('CancelOnDisconnect', CancelOnDisconnect),
  quantity: atLeast(1),
  price: atLeast(0),
  stopPrice: atLeast(0),
  expireTime: atLeast(0),
  orderId: atLeast(1),
  clientOrderId: atLeast(1),
  amount: atLeast(1),
  timestampMicros: atLeast(0),
  fromSequence: atLeast(1),
  toSequence: atLeast(0),
});

/** Template-specific exceptions ("Template.field"). Every key must name a real field (asserted by wire-schema). */
export const FIELD_RULE_OVERRIDES: Readonly<Record<string, FieldRule>> = Object.freeze({
  /** 0 = both sides. */
  'MassCancel.side': oneOf('Side', Side, 'both'),
  /** 0 keeps the quantity (docs/matching.md). */
  'ReplaceOrder.quantity': atLeast(0),
  /** Either id may be 0: orderId 0 means "look up by clientOrderId". */
  'OrderStatusRequest.orderId': atLeast(0),
  'OrderStatusRequest.clientOrderId': atLeast(0),
});

export function ruleFor(templateName: string, fieldName: string): FieldRule | null {
  return FIELD_RULE_OVERRIDES[`${templateName}.${fieldName}`] ?? FIELD_RULES[fieldName] ?? null;
}

/** 0 when `value` passes `rule`; otherwise which check failed (1 enum/bits, 2 range). */
export function ruleViolation(rule: FieldRule, value: number): number {
  switch (rule.type) {
    case RuleType.Enum: return value <= ENUM_VALUE_MAX && ((rule.mask >>> value) & 1) === 1 ? 0 : 1;
    case RuleType.Bits: return (value & ~rule.mask) === 0 ? 0 : 1;
    case RuleType.Min: return value >= rule.min ? 0 : 2;
  }
}
