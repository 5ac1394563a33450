/**
 * A scripted trading day, run through the real engine (Matcher + RiskEngine, echoCommands)
 * and cut by the RecordBuilder into a real sqlite journal: the auditor's test fixture.
 *
 * Friday 2024-03-15 (UTC). Prices in cents, fees maker 1 bp / taker 2 bp (truncated), T+1.
 * Accounts: 1 Alice (cash), 2 Bob (cash), 3 Carol (margin, may short 1000), 9 fee account.
 * Every number in DAY_FACTS was worked out by hand from docs/matching.md and docs/accounts
 * rules (see the comments), not read back from the engine.
 */
import { declareEngine } from '../../journal/engine-declaration';
import { Matcher } from '../../core/matcher';
import { RiskEngine } from '../../core/risk-engine';
import { CommandFields, encodeCommand } from '../../core/record-objects';
import { CommandName, packSymbol } from '../../core/schema';
import { AccountAction, AccountType, InstrumentState, OrderType, Side, TimeInForce } from '../../core/codes';
import { RecordBuilder } from '../../journal/record-builder';
import type { JournalRecord } from '../../journal/journal-record';
import { SqliteJournal } from '../../journal/sqlite-journal';
import type { EngineSemantics } from '../../core/engine-semantics';

type Step = { [N in CommandName]: { name: N; fields: CommandFields<N>; at: string } }[CommandName];

/** Microseconds since the epoch of a UTC time of the day. */
export function dayTime(hhmmss: string): number {
  return Date.parse(`2024-03-15T${hhmmss}Z`) * 1000;
}

const AAPL = 1;
const MSFT = 2;
export const ALICE = 1;
export const BOB = 2;
export const CAROL = 3;
export const FEES = 9;

function instrument(id: number, symbol: string, referencePrice: number): Step {
  const [symbolHead, symbolTail] = packSymbol(symbol);
  return {
    name: 'AddInstrument', at: '12:00:00', fields: {
      instrument: id, symbolHead, symbolTail, tickSize: 1, lotSize: 1, bandBasisPoints: 1000, maxOrderQuantity: 100_000,
      maxOrderNotional: 1e12, referencePrice, settlementDays: 1, initialState: InstrumentState.PreOpen,
    },
  };
}

let clientOrderId = 100;
function order(at: string, account: number, instrumentId: number, side: number, quantity: number, price: number, timeInForce: number = TimeInForce.GTC): Step {
  return { name: 'NewOrder', at, fields: { account, instrument: instrumentId, clientOrderId: ++clientOrderId, side, orderType: OrderType.Limit, timeInForce, price, quantity } };
}

function script(): Step[] {
  clientOrderId = 100;
  return [
    instrument(AAPL, 'AAPL', 17000),
    instrument(MSFT, 'MSFT', 40000),
    ...[ALICE, BOB, CAROL, FEES].flatMap((account): Step[] => [
      { name: 'OpenAccount', at: '12:10:00', fields: { account, accountType: account === CAROL ? AccountType.Margin : AccountType.Cash } },
      { name: 'SetAccountStatus', at: '12:10:00', fields: { account, action: AccountAction.ApproveKyc } },
    ]),
    { name: 'Deposit', at: '12:20:00', fields: { account: ALICE, amount: 100_000_000, reference: 1001 } },
    { name: 'Deposit', at: '12:20:01', fields: { account: BOB, amount: 50_000_000, reference: 1002 } },
    { name: 'Deposit', at: '12:20:02', fields: { account: CAROL, amount: 50_000_000, reference: 1003 } },
    { name: 'SetAccountLimits', at: '12:30:00', fields: { account: CAROL, maxShortQuantity: 1000 } },
    { name: 'SetFeeSchedule', at: '12:30:00', fields: { makerFeeBasisPoints: 1, takerFeeBasisPoints: 2, feeAccount: FEES } },
    { name: 'SessionOpen', at: '13:30:00', fields: { instrument: 0 } },
    order('14:00:00', CAROL, AAPL, Side.Sell, 300, 17000), // order 1 rests (short sale)
    order('14:01:00', ALICE, AAPL, Side.Buy, 100, 17000), // order 2: trade 1
    order('14:02:00', BOB, AAPL, Side.Buy, 50, 16950), // order 3 rests
    order('14:03:00', ALICE, AAPL, Side.Buy, 200, 17010), // order 4: trade 2 at the maker's 17000
    order('14:10:00', CAROL, MSFT, Side.Sell, 100, 40000), // order 5 rests
    order('14:11:00', BOB, MSFT, Side.Buy, 60, 40000, TimeInForce.IOC), // order 6: trade 3
    order('14:20:00', ALICE, AAPL, Side.Buy, 100, 16900), // order 7 rests
    { name: 'ReplaceOrder', at: '14:21:00', fields: { account: ALICE, orderId: 7, price: 16920, quantity: 150 } },
    { name: 'CancelOrder', at: '14:22:00', fields: { account: ALICE, orderId: 7 } },
    order('14:30:00', ALICE, AAPL, Side.Sell, 120, 16950), // order 8: trade 4 with Bob's bid, 70 rest
    order('14:31:00', CAROL, AAPL, Side.Buy, 70, 16950), // order 9: trade 5 with Alice's rest
    order('14:40:00', BOB, AAPL, Side.Sell, 100, 17000), // rejected: Bob holds 50 (cash account)
    order('14:50:00', BOB, MSFT, Side.Buy, 10, 39000, TimeInForce.DAY), // order 10 rests, expires at the close
    { name: 'Withdraw', at: '15:00:00', fields: { account: BOB, amount: 5_000_000, reference: 2001 } },
    { name: 'CancelOrder', at: '15:10:00', fields: { account: BOB, orderId: 1 } }, // rejected: Carol's, and filled
    { name: 'SessionClose', at: '20:00:00', fields: { instrument: 0 } },
    { name: 'EndOfDay', at: '21:00:00', fields: {} },
  ];
}

export interface DayTrade {
  sequence?: number;
  symbol: string;
  price: number;
  quantity: number;
  makerOrderId: number;
  takerOrderId: number;
  makerAccount: number;
  takerAccount: number;
  aggressorSide: 'Buy' | 'Sell';
  makerFee: number;
  takerFee: number;
  at: string;
}

/** The day's trades: fee = trunc(price × quantity × bps / 10000). */
export const DAY_TRADES: readonly DayTrade[] = [
  { symbol: 'AAPL', price: 17000, quantity: 100, makerOrderId: 1, takerOrderId: 2, makerAccount: CAROL, takerAccount: ALICE, aggressorSide: 'Buy', makerFee: 170, takerFee: 340, at: '14:01:00' },
  { symbol: 'AAPL', price: 17000, quantity: 200, makerOrderId: 1, takerOrderId: 4, makerAccount: CAROL, takerAccount: ALICE, aggressorSide: 'Buy', makerFee: 340, takerFee: 680, at: '14:03:00' },
  { symbol: 'MSFT', price: 40000, quantity: 60, makerOrderId: 5, takerOrderId: 6, makerAccount: CAROL, takerAccount: BOB, aggressorSide: 'Buy', makerFee: 240, takerFee: 480, at: '14:11:00' },
  // 847,500 × 1 / 10000 = 84.75 → 84; × 2 → 169.5 → 169
  { symbol: 'AAPL', price: 16950, quantity: 50, makerOrderId: 3, takerOrderId: 8, makerAccount: BOB, takerAccount: ALICE, aggressorSide: 'Sell', makerFee: 84, takerFee: 169, at: '14:30:00' },
  // 1,186,500 → 118.65 → 118; 237.3 → 237
  { symbol: 'AAPL', price: 16950, quantity: 70, makerOrderId: 8, takerOrderId: 9, makerAccount: ALICE, takerAccount: CAROL, aggressorSide: 'Buy', makerFee: 118, takerFee: 237, at: '14:31:00' },
];

export const DAY_DEPOSITS: Readonly<Record<number, number>> = { [ALICE]: 100_000_000, [BOB]: 50_000_000, [CAROL]: 50_000_000, [FEES]: 0 };
export const DAY_WITHDRAWALS: Readonly<Record<number, number>> = { [ALICE]: 0, [BOB]: 5_000_000, [CAROL]: 0, [FEES]: 0 };

/** End-of-day cash, worked out by hand (and by dayLedger below, from the trade list). */
export const DAY_END_CASH: Readonly<Record<number, number>> = {
  [ALICE]: 96_932_693, // 100,000,000 − 1,700,340 − 3,400,680 + 847,331 + 1,186,382
  [BOB]: 41_751_936, // 50,000,000 − 2,400,480 − 847,584 − 5,000,000
  [CAROL]: 56_312_513, // 50,000,000 + 1,699,830 + 3,399,660 + 2,399,760 − 1,186,737
  [FEES]: 2_858, // the sum of every fee
};

/** End-of-day positions: average cost; realized P&L before fees. */
export const DAY_END_POSITIONS = {
  [ALICE]: { AAPL: { quantity: 180, costBasis: 3_060_000, realizedPnl: -6_000 } }, // sold 50 (−2,500) and 70 (−3,500) below the 17,000 average
  [BOB]: { AAPL: { quantity: 50, costBasis: 847_500, realizedPnl: 0 }, MSFT: { quantity: 60, costBasis: 2_400_000, realizedPnl: 0 } },
  [CAROL]: { AAPL: { quantity: -230, costBasis: -3_910_000, realizedPnl: 3_500 }, MSFT: { quantity: -60, costBasis: -2_400_000, realizedPnl: 0 } },
} as const;

/** Settled at EndOfDay (trade date 1 → 2, T+1): net shares and net cash (fees included) per position. */
export const DAY_SETTLEMENTS = [
  { account: ALICE, symbol: 'AAPL', quantity: 180, cash: -3_067_307 },
  { account: BOB, symbol: 'AAPL', quantity: 50, cash: -847_584 },
  { account: BOB, symbol: 'MSFT', quantity: 60, cash: -2_400_480 },
  { account: CAROL, symbol: 'AAPL', quantity: -230, cash: 3_912_753 },
  { account: CAROL, symbol: 'MSFT', quantity: -60, cash: 2_399_760 },
] as const;

/** Cash per account from deposits, withdrawals and DAY_TRADES alone (an independent ledger). */
export function dayLedger(): Record<number, number> {
  const cash: Record<number, number> = {};
  for (const account of [ALICE, BOB, CAROL, FEES]) cash[account] = DAY_DEPOSITS[account]! - DAY_WITHDRAWALS[account]!;
  for (const t of DAY_TRADES) {
    const notional = t.price * t.quantity;
    const makerBuys = t.aggressorSide === 'Sell';
    cash[t.makerAccount]! += (makerBuys ? -notional : notional) - t.makerFee;
    cash[t.takerAccount]! += (makerBuys ? notional : -notional) - t.takerFee;
    cash[FEES]! += t.makerFee + t.takerFee;
  }
  return cash;
}

export interface TradingDay {
  path: string;
  /** Records = commands (no command of the day causes more than 4096 events). */
  records: number;
  lastSequence: number;
  /** Head hash as the journal writer computed it on append (hex). */
  headHash: string;
  /** Record first sequences by step label, for tampering tests. */
  recordOf: (at: string, name?: CommandName) => { firstSequence: number; lastSequence: number };
}

/** Runs the day through the real engine into a fresh sqlite journal at `path`. */
export function writeTradingDay(
  path: string,
  options: {
    risk?: boolean; declare?: boolean; semantics?: EngineSemantics;
    /** 1: raw words, as journals before packed words */ recordVersion?: 1 | 2;
    /** Several records per row, as the journal thread writes them (the whole day is one transaction then). */ packRows?: boolean;
  } = {},
): TradingDay {
  const builder = new RecordBuilder();
  const matcher = new Matcher({
    echoCommands: true,
    risk: options.risk === false ? null : new RiskEngine(undefined, { semantics: options.semantics }),
    sink: { onEvents: (words, count) => builder.consume(words, count) },
  });
  const journal = SqliteJournal.open({ path, durability: 'none', packRows: options.packRows === true });
  if (options.declare === true) journal.declareEngine(declareEngine(options.risk !== false, {}, options.semantics)); // as the exchange does
  const index: Array<{ at: string; name: CommandName; firstSequence: number; lastSequence: number }> = [];
  let records = 0;
  let last: { hash: Uint8Array; lastSequence: number } | undefined;
  const pending: JournalRecord[] = [];
  try {
    for (const step of script()) {
      matcher.process(encodeCommand(step.name, step.fields as CommandFields<typeof step.name>, dayTime(step.at)), 0);
      matcher.flush();
      builder.finishCurrent();
      const done = builder.take();
      if (options.recordVersion === 1) for (const record of done) record.version = 1;
      if (options.packRows === true) pending.push(...done);
      else journal.appendSync(done);
      records += done.length;
      for (const record of done) index.push({ at: step.at, name: step.name, firstSequence: record.firstSequence, lastSequence: record.lastSequence });
      last = done[done.length - 1];
    }
    if (pending.length > 0) journal.appendSync(pending);
  } finally {
    void journal.close();
  }
  return {
    path,
    records,
    lastSequence: last!.lastSequence,
    headHash: Buffer.from(last!.hash).toString('hex'),
    recordOf: (at, name) => {
      const found = index.find((entry) => entry.at === at && (name === undefined || entry.name === name));
      if (found === undefined) throw new Error(`no record at ${at}`);
      return found;
    },
  };
}
