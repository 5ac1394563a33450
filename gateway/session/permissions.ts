/**
 * What an API key may send: permissions per key, and per client template the
 * permission it needs and whether it must name the key's own account.
 *
 *   trade       order entry and the order/account queries of its own account
 *   backoffice  account lifecycle and cash (any account), queries of any account
 *   admin       instruments, trading states, fees, margin, corporate actions; may
 *               mass-cancel any account (account 0 = every account)
 *   marketdata  market data port only; no order-entry template needs it
 *   broker      order entry (new, cancel, replace) for any account: a broker's one
 *               session trading for its customers' accounts (gateway/broker)
 *
 * Every client template has an entry (asserted at load), so a new core command
 * cannot reach the wire without a decision here.
 */
import { ProtocolErrorCode } from '../protocol/errors';
import { ClientTemplates, WireTemplate } from '../protocol/wire-schema';

export const Permission = { trade: 1, backoffice: 2, admin: 4, marketdata: 8, broker: 16 } as const;
export type PermissionName = keyof typeof Permission;
export const PERMISSION_NAMES = Object.freeze(Object.keys(Permission) as PermissionName[]);

export function permissionMask(names: readonly PermissionName[]): number {
  let mask = 0;
  for (const name of names) {
    const bit = Permission[name];
    if (bit === undefined) throw new RangeError(`unknown permission "${name}" (expected one of ${PERMISSION_NAMES.join(', ')})`);
    mask |= bit;
  }
  return mask;
}

export interface AccessRule {
  /** Any one of these permission bits admits the template; 0 = no permission needed (session traffic). */
  readonly anyOf: number;
  /** If the template has an `account` field it must equal the key's account, unless the key holds one of these bits. */
  readonly otherAccountsWith: number;
}

const P = Permission;
const open: AccessRule = { anyOf: 0, otherAccountsWith: 0 };
const trade: AccessRule = { anyOf: P.trade, otherAccountsWith: 0 };
const orderEntry: AccessRule = { anyOf: P.trade | P.broker, otherAccountsWith: P.broker };
const query: AccessRule = { anyOf: P.trade | P.backoffice | P.admin, otherAccountsWith: P.backoffice | P.admin };
const backoffice: AccessRule = { anyOf: P.backoffice, otherAccountsWith: P.backoffice };
const admin: AccessRule = { anyOf: P.admin, otherAccountsWith: P.admin };

export const ACCESS_RULES: Readonly<Record<string, AccessRule>> = Object.freeze({
  Logon: open, Logout: open, Heartbeat: open, TestRequest: open, ReplayRequest: open,
  NewOrder: orderEntry, CancelOrder: orderEntry, ReplaceOrder: orderEntry, DeadManSwitch: trade,
  MassCancel: { anyOf: P.trade | P.admin, otherAccountsWith: P.admin },
  OrderStatusRequest: query, AccountSummaryRequest: query, PositionsRequest: query,
  OpenAccount: backoffice, SetAccountStatus: backoffice, Deposit: backoffice, Withdraw: backoffice, SetAccountLimits: backoffice,
  AddInstrument: admin, SessionOpen: admin, SessionClose: admin, HaltInstrument: admin, ResumeInstrument: admin,
  SetFeeSchedule: admin, SetMarginParameters: admin, StockSplit: admin, CashDividend: admin,
});

/** Rules indexed by client template id (hot path), with the record word of its `account` field (-1 if none). */
const RULE_BY_ID: (AccessRule | undefined)[] = new Array(256).fill(undefined);
const ACCOUNT_WORD_BY_ID: number[] = new Array(256).fill(-1);

for (const template of ClientTemplates.templates) {
  const rule = ACCESS_RULES[template.name];
  if (rule === undefined) throw new Error(`permissions: client template ${template.name} has no access rule`);
  RULE_BY_ID[template.id] = rule;
  ACCOUNT_WORD_BY_ID[template.id] = template.at.account ?? -1;
}
for (const name of Object.keys(ACCESS_RULES)) {
  if (ClientTemplates.byName[name] === undefined) throw new Error(`permissions: rule for ${name}, which is not a client template`);
}

export interface Principal {
  readonly account: number;
  readonly permissionMask: number;
}

/**
 * null when `principal` may send this decoded message, else the reject code
 * (NOT_PERMITTED or ACCOUNT_MISMATCH). Reads the account from the decoded record.
 */
export function authorize(template: WireTemplate, record: Float64Array, principal: Principal): Extract<ProtocolErrorCode, 'NOT_PERMITTED' | 'ACCOUNT_MISMATCH'> | null {
  const rule = RULE_BY_ID[template.id];
  if (rule === undefined) return 'NOT_PERMITTED';
  if (rule.anyOf !== 0 && (principal.permissionMask & rule.anyOf) === 0) return 'NOT_PERMITTED';
  const word = ACCOUNT_WORD_BY_ID[template.id];
  if (word >= 0 && record[word] !== principal.account && (principal.permissionMask & rule.otherAccountsWith) === 0) {
    return 'ACCOUNT_MISMATCH';
  }
  return null;
}

/** For docs: who may send `template`, in words. */
export function describeAccess(template: WireTemplate): string {
  const rule = RULE_BY_ID[template.id];
  if (rule === undefined) return 'nobody';
  if (rule.anyOf === 0) return '—';
  const names = (mask: number) => PERMISSION_NAMES.filter((n) => (mask & Permission[n]) !== 0).join(' or ');
  const any = names(rule.anyOf);
  if (ACCOUNT_WORD_BY_ID[template.id] < 0) return any;
  if (rule.otherAccountsWith === 0) return `${any}, own account`;
  if ((rule.anyOf & ~rule.otherAccountsWith) === 0) return `${any}, any account`;
  return `${any}, own account; any account with ${names(rule.otherAccountsWith)}`;
}
