/**
 * Minimal reproductions of three disagreements between the engine and
 * docs/matching.md that the differential test once found and that are now fixed.
 * Each is kept as a regression test (test/matcher-differential.test.ts): the
 * engine's events must equal the reference matcher's, which follows the doc.
 */
import { OrderType, Side, TimeInForce } from '../../core/codes';
import { CommandObject, EventObject } from '../../core/record-objects';
import { packSymbol } from '../../core/schema';
import { EngineRunner } from './differential';
import { makeCommand, REFERENCE_OPTIONS } from './order-flow';
import { ReferenceMatcher } from './reference-matcher';

export interface Regression {
  title: string;
  /** The rule of docs/matching.md the engine once broke. */
  rule: string;
  commands: CommandObject[];
}

function instrument(id: number, symbol: string, bandBasisPoints: number): CommandObject {
  const [symbolHead, symbolTail] = packSymbol(symbol);
  return makeCommand('AddInstrument', {
    instrument: id, symbolHead, symbolTail, tickSize: 1, lotSize: 1, bandBasisPoints, maxOrderQuantity: 1_000_000,
    maxOrderNotional: 1e12, referencePrice: 100, settlementDays: 1, initialState: 0,
  }, 1000, 0);
}

function limit(time: number, account: number, clientOrderId: number, side: number, price: number, quantity: number, timeInForce: number = TimeInForce.GTC): CommandObject {
  return makeCommand('NewOrder', {
    account, instrument: 1, clientOrderId, side, orderType: OrderType.Limit, timeInForce, price, quantity,
  }, time, 0);
}

export const REGRESSIONS: readonly Regression[] = [
  {
    title: 'FOK check counts with the band at entry, so a FOK order is partly filled and then canceled by a band halt',
    rule: 'docs/matching.md "Acceptance and matching" 1: the FOK check counts what matching would fill, including the ' +
      'band stop; "The band is recomputed after every trade". shared/matching-rules.md: FOK fills completely or not at all.',
    commands: [
      instrument(1, 'FOKBAND', 1000), // band 10%: [90, 110] around 100
      limit(1001, 2, 1, Side.Sell, 90, 1),
      limit(1002, 2, 2, Side.Sell, 100, 1),
      // Buy FOK 2 @ 100: after the fill at 90 the band is [81, 99], so 100 halts: only 1 of 2 can fill.
      // Doc: OrderAccepted, OrderCanceled(FOK, 2). The bug gave: OrderAccepted, Trade 1 @ 90,
      // InstrumentStateChanged(HALTED, PRICE_BAND), OrderCanceled(HALTED, 1).
      limit(1003, 1, 1, Side.Buy, 100, 2, TimeInForce.FOK),
    ],
  },
  {
    title: 'a fractional order id (never issued) is rejected TOO_LATE_TO_CANCEL instead of UNKNOWN_ORDER',
    rule: 'docs/matching.md "Cancel, replace, mass cancel": TOO_LATE_TO_CANCEL is for an id that was issued but is no ' +
      'longer live; UNKNOWN_ORDER for an id never issued.',
    commands: [
      instrument(1, 'FRACID', 1000),
      limit(1001, 1, 1, Side.Buy, 100, 1),
      limit(1002, 1, 2, Side.Buy, 100, 1),
      // Doc: CancelRejected(orderId 0, UNKNOWN_ORDER). The bug gave: CancelRejected(orderId 0, TOO_LATE_TO_CANCEL).
      makeCommand('CancelOrder', { account: 1, orderId: 1.5 }, 1003, 0),
    ],
  },
  {
    title: 'a negative (rebate) fee that truncates to zero is written as -0, not 0',
    rule: 'docs/matching.md "Trade": fees = trunc(price × quantity × feeBps / 10000), an integer; schema.ts: every value ' +
      'is a safe integer, so records are byte-identical. -0 decodes unequal to 0 under deepStrictEqual and has other bytes.',
    commands: [
      instrument(1, 'NEGZERO', 1000),
      makeCommand('SetFeeSchedule', { makerFeeBasisPoints: -1, takerFeeBasisPoints: 0, feeAccount: 0 }, 1001, 0),
      limit(1002, 2, 1, Side.Sell, 100, 1),
      // Maker fee trunc(100 × 1 × -1 / 10000) = trunc(-0.01) = 0. The bug wrote -0.
      limit(1003, 1, 1, Side.Buy, 100, 1),
    ],
  },
];

export function runEngine(commands: readonly CommandObject[]): EventObject[] {
  const engine = new EngineRunner();
  return commands.flatMap((c) => engine.process(c));
}

export function runReference(commands: readonly CommandObject[]): EventObject[] {
  const reference = new ReferenceMatcher(REFERENCE_OPTIONS);
  return commands.flatMap((c) => reference.process(c));
}
