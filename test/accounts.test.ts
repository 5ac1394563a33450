/**
 * Accounts, risk, settlement, margin and corporate actions, written as a broker's
 * operations team would describe them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, types } from './helpers/harness';
import { RiskEngine } from '../core/risk-engine';
import { PositionField } from '../core/positions';
import { AccountAction, AccountStatus, AccountType, CancelReason, CorporateActionKind, OrderType, RejectReason, Side, TimeInForce } from '../core/codes';

const { Buy, Sell } = Side;
const BROKER_FEES = 99;

function broker(): { h: Harness; risk: RiskEngine } {
  const risk = new RiskEngine();
  const h = new Harness({ risk });
  h.addInstrument({ instrument: 1, symbol: 'ACME', referencePrice: 1000, bandBasisPoints: 5000 });
  return { h, risk };
}

let reference = 0;
function account(h: Harness, id: number, cash: number, type: number = AccountType.Cash): void {
  assert.deepEqual(types(h.send('OpenAccount', { account: id, accountType: type })), ['AccountOpened']);
  assert.deepEqual(types(h.send('SetAccountStatus', { account: id, action: AccountAction.ApproveKyc })), ['AccountStatusChanged']);
  if (cash > 0) assert.deepEqual(types(h.send('Deposit', { account: id, amount: cash, reference: ++reference })), ['CashDeposited']);
}

/** A well-funded margin account allowed to sell short: the street's other side in these scenarios. */
function shortSeller(h: Harness, id: number): void {
  account(h, id, 10_000_000, AccountType.Margin);
  h.send('SetAccountLimits', { account: id, maxShortQuantity: 1_000_000 });
}

/** Gives `id` a long position of `quantity` at `price`, bought from a fresh short-seller account. */
function seed(h: Harness, id: number, quantity: number, price: number, sellerId: number): void {
  shortSeller(h, sellerId);
  h.sell(price, quantity, { account: sellerId });
  const ev = h.buy(price, quantity, { account: id });
  assert.ok(ev.some((e) => e.type === 'Trade'), 'seed trade happened');
}

describe('account lifecycle', () => {
  test('only ACTIVE accounts trade; suspension cancels open orders; resume; close needs an empty account', () => {
    const { h } = broker();
    h.send('OpenAccount', { account: 1, accountType: AccountType.Cash });
    assert.equal(h.buy(1000, 1)[0].reason, RejectReason.ACCOUNT_NOT_ACTIVE);
    assert.equal(h.buy(1000, 1, { account: 2 })[0].reason, RejectReason.UNKNOWN_ACCOUNT);
    h.send('SetAccountStatus', { account: 1, action: AccountAction.ApproveKyc });
    h.send('Deposit', { account: 1, amount: 100_000, reference: 1 });
    h.buy(900, 10);
    const suspended = h.send('SetAccountStatus', { account: 1, action: AccountAction.Suspend });
    assert.deepEqual(types(suspended), ['AccountStatusChanged', 'OrderCanceled', 'CashReleased']);
    assert.equal(suspended[1].reason, CancelReason.ACCOUNT_SUSPENDED);
    assert.equal(h.buy(900, 1)[0].reason, RejectReason.ACCOUNT_NOT_ACTIVE);
    assert.equal(h.send('Withdraw', { account: 1, amount: 1, reference: 2 })[0].reason, RejectReason.ACCOUNT_NOT_ACTIVE);
    h.send('SetAccountStatus', { account: 1, action: AccountAction.Resume });
    assert.equal(h.send('SetAccountStatus', { account: 1, action: AccountAction.Close })[0].reason, RejectReason.ACCOUNT_NOT_EMPTY);
    h.send('Withdraw', { account: 1, amount: 100_000, reference: 3 });
    const closed = h.send('SetAccountStatus', { account: 1, action: AccountAction.Close });
    assert.equal(closed[0].status, AccountStatus.Closed);
    assert.equal(h.send('SetAccountStatus', { account: 1, action: AccountAction.Resume })[0].reason, RejectReason.INVALID_STATE_TRANSITION);
  });

  test('KYC rejection is final; unknown actions are INVALID_FIELD', () => {
    const { h } = broker();
    h.send('OpenAccount', { account: 5, accountType: AccountType.Margin });
    assert.equal(h.send('SetAccountStatus', { account: 5, action: AccountAction.RejectKyc })[0].status, AccountStatus.Rejected);
    assert.equal(h.send('SetAccountStatus', { account: 5, action: AccountAction.ApproveKyc })[0].reason, RejectReason.INVALID_STATE_TRANSITION);
    assert.equal(h.send('SetAccountStatus', { account: 5, action: 42 })[0].reason, RejectReason.INVALID_FIELD);
    assert.equal(h.send('OpenAccount', { account: 5, accountType: AccountType.Cash })[0].reason, RejectReason.ACCOUNT_EXISTS);
  });
});

describe('deposits and withdrawals', () => {
  test('the same external reference moves money once', () => {
    const { h, risk } = broker();
    account(h, 1, 0);
    h.send('Deposit', { account: 1, amount: 500, reference: 777 });
    const again = h.send('Deposit', { account: 1, amount: 500, reference: 777 });
    assert.equal(again[0].type, 'CommandRejected');
    assert.equal(again[0].reason, RejectReason.DUPLICATE_REFERENCE);
    assert.equal(risk.accounts.cash[1], 500);
  });

  test('a withdrawal is limited to settled, unreserved cash', () => {
    const { h, risk } = broker();
    account(h, 1, 10_000);
    h.buy(900, 10); // holds 9,000
    assert.equal(h.send('Withdraw', { account: 1, amount: 1_001, reference: 50 })[0].reason, RejectReason.INSUFFICIENT_FUNDS);
    assert.equal(h.send('Withdraw', { account: 1, amount: 1_000, reference: 51 })[0].type, 'CashWithdrawn');
    assert.equal(risk.accounts.cash[1], 9_000);
  });
});

describe('pre-trade risk on a cash account', () => {
  test('a buy needs price x quantity available; it is held while resting and released on cancel', () => {
    const { h, risk } = broker();
    account(h, 1, 10_000);
    assert.equal(h.buy(1001, 10)[0].reason, RejectReason.INSUFFICIENT_BUYING_POWER);
    const ev = h.buy(1000, 10);
    assert.deepEqual(types(ev), ['OrderAccepted', 'CashReserved']);
    assert.equal(ev[1].amount, 10_000);
    assert.equal(h.buy(500, 1)[0].reason, RejectReason.INSUFFICIENT_BUYING_POWER);
    const canceled = h.cancel(ev[0].orderId as number);
    assert.deepEqual(types(canceled), ['OrderCanceled', 'CashReleased']);
    assert.equal(risk.accounts.reserved[1], 0);
  });

  test('a fill moves cash and shares at trade time and releases the hold', () => {
    const { h, risk } = broker();
    account(h, 1, 10_000);
    shortSeller(h, 2);
    h.buy(1000, 10); // holds 10,000
    const ev = h.sell(990, 4, { account: 2 });
    assert.deepEqual(types(ev), ['OrderAccepted', 'CashReserved', 'Trade', 'PositionChanged', 'PositionChanged']);
    assert.equal(ev[2].price, 1000);
    const buyer = ev[3].account === 1 ? ev[3] : ev[4];
    assert.equal(buyer.quantity, 4);
    assert.equal(buyer.cashBalance, 6_000);
    assert.equal(risk.accounts.reserved[1], 6_000);
    assert.equal(buyer.reservedTotal, 6_000, 'the fill shrank the hold: PositionChanged says what is still reserved');
    const seller = ev[3].account === 2 ? ev[3] : ev[4];
    assert.equal(seller.reservedTotal, risk.accounts.reserved[2]);
  });

  test('engine semantics 1 (journals written before 2): the same events with reservedTotal left 0', () => {
    const run = (semantics: 1 | 2) => {
      const risk = new RiskEngine(undefined, { semantics });
      const h = new Harness({ risk });
      h.addInstrument({ instrument: 1, symbol: 'ACME', referencePrice: 1000, bandBasisPoints: 5000 });
      account(h, 1, 10_000);
      shortSeller(h, 2);
      h.buy(1000, 10);
      return { events: h.sell(990, 4, { account: 2 }), reserved: risk.accounts.reserved[1] };
    };
    const [v1, v2] = [run(1), run(2)];
    assert.deepEqual(types(v1.events), types(v2.events));
    assert.equal(v1.reserved, v2.reserved, 'the state is the same; only what the events say differs');
    const fills = (events: typeof v1.events) => events.filter((e) => e.type === 'PositionChanged');
    assert.deepEqual(fills(v1.events).map((e) => e.reservedTotal), [0, 0]);
    assert.ok(fills(v2.events).some((e) => e.reservedTotal === 6_000));
    const strip = (events: typeof v1.events) => events.map((e) => ({ ...e, reservedTotal: 0 }));
    assert.deepEqual(strip(v1.events), strip(v2.events), 'nothing else differs');
  });

  test('a sell must be covered by the position less shares held by open sells', () => {
    const { h } = broker();
    account(h, 1, 100_000);
    assert.equal(h.sell(1000, 1)[0].reason, RejectReason.INSUFFICIENT_POSITION);
    seed(h, 1, 10, 1000, 2);
    assert.deepEqual(types(h.sell(1100, 6)), ['OrderAccepted']);
    assert.equal(h.sell(1100, 5)[0].reason, RejectReason.INSUFFICIENT_POSITION);
    assert.deepEqual(types(h.sell(1100, 4)), ['OrderAccepted']);
  });

  test('market buys hold at the protection price', () => {
    const { h } = broker();
    account(h, 1, 1_499 * 10); // band 50%: protection 1500
    assert.equal(h.order({ side: Buy, orderType: OrderType.Market, quantity: 10 })[0].reason, RejectReason.INSUFFICIENT_BUYING_POWER);
    h.send('Deposit', { account: 1, amount: 10, reference: 999 });
    assert.equal(h.order({ side: Buy, orderType: OrderType.Market, quantity: 10 })[0].type, 'OrderAccepted');
  });

  test('account limits: open orders, order notional, position', () => {
    const { h } = broker();
    account(h, 1, 1_000_000);
    h.send('SetAccountLimits', { account: 1, maxOpenOrders: 2, maxOrderNotional: 50_000, maxPositionQuantity: 30 });
    assert.equal(h.buy(1000, 51)[0].reason, RejectReason.RISK_LIMIT); // notional 51,000
    h.buy(900, 20);
    assert.equal(h.buy(900, 11)[0].reason, RejectReason.RISK_LIMIT); // 20 open + 11 > 30
    h.buy(900, 10);
    assert.equal(h.buy(900, 1)[0].reason, RejectReason.RISK_LIMIT); // third open order
  });
});

describe('fees', () => {
  test('maker and taker fees go to the fee account and cash is conserved', () => {
    const { h, risk } = broker();
    account(h, BROKER_FEES, 0);
    account(h, 1, 100_000);
    account(h, 4, 100_000);
    seed(h, 4, 50, 1000, 2);
    assert.equal(h.send('SetFeeSchedule', { makerFeeBasisPoints: 10, takerFeeBasisPoints: 30, feeAccount: 77 })[0].reason, RejectReason.UNKNOWN_ACCOUNT);
    h.send('SetFeeSchedule', { makerFeeBasisPoints: 10, takerFeeBasisPoints: 30, feeAccount: BROKER_FEES });
    const total = () => Array.from(risk.accounts.cash).reduce((a, b) => a + b, 0);
    const before = total();
    h.sell(1000, 10, { account: 4 });
    const ev = h.buy(1000, 10);
    const trade = ev.find((e) => e.type === 'Trade')!;
    assert.equal(trade.makerFee, 10); // 10,000 x 10bp
    assert.equal(trade.takerFee, 30);
    assert.equal(risk.accounts.cash[BROKER_FEES], 40);
    assert.equal(total(), before);
  });
});

describe('T+1 settlement', () => {
  test('sale proceeds are unsettled until the next trading day, then withdrawable', () => {
    const { h, risk } = broker();
    account(h, 1, 0);
    shortSeller(h, 9);
    account(h, 3, 100_000);
    // account 1 receives shares from a settled previous day
    h.send('Deposit', { account: 1, amount: 10_000, reference: 4242 });
    h.sell(1000, 10, { account: 9 });
    h.buy(1000, 10);
    h.send('EndOfDay', {});
    h.send('EndOfDay', {});
    h.buy(1000, 10, { account: 3 });
    const sale = h.sell(1000, 10); // account 1 sells its 10 shares for 10,000
    assert.ok(sale.some((e) => e.type === 'Trade'));
    assert.equal(risk.accounts.cash[1], 10_000);
    assert.equal(h.send('Withdraw', { account: 1, amount: 1, reference: 5000 })[0].reason, RejectReason.INSUFFICIENT_FUNDS);
    assert.equal(h.buy(1000, 1)[0].reason, RejectReason.INSUFFICIENT_BUYING_POWER); // cash account: unsettled proceeds do not buy
    const eod = h.send('EndOfDay', {});
    const settled = eod.filter((e) => e.type === 'Settled' && e.account === 1);
    assert.deepEqual(settled.map((e) => [e.quantity, e.cash, e.tradeDate]), [[-10, 10_000, 4]]);
    assert.equal(h.send('Withdraw', { account: 1, amount: 10_000, reference: 5001 })[0].type, 'CashWithdrawn');
  });

  test('T+2 instruments settle two days later', () => {
    const { h } = broker();
    h.addInstrument({ instrument: 2, symbol: 'BOND', referencePrice: 1000, bandBasisPoints: 5000, settlementDays: 2 });
    account(h, 1, 100_000);
    account(h, 2, 0, AccountType.Margin);
    h.send('SetAccountLimits', { account: 2, maxShortQuantity: 100 });
    h.send('Deposit', { account: 2, amount: 100_000, reference: 8080 });
    h.order({ account: 2, instrument: 2, side: Sell, price: 1000, quantity: 5 });
    h.order({ account: 1, instrument: 2, side: Buy, price: 1000, quantity: 5 });
    assert.equal(h.send('EndOfDay', {}).filter((e) => e.type === 'Settled').length, 0);
    assert.equal(h.send('EndOfDay', {}).filter((e) => e.type === 'Settled').length, 2);
  });
});

describe('margin', () => {
  test('a margin account is called below maintenance and liquidated below the liquidation level', () => {
    const { h, risk } = broker();
    account(h, 1, 50_000, AccountType.Margin); // buys 100 @ 1000 = 100,000 with 50% initial
    account(h, 2, 0, AccountType.Margin);
    h.send('SetAccountLimits', { account: 2, maxShortQuantity: 1000 });
    h.send('Deposit', { account: 2, amount: 1_000_000, reference: 90 });
    account(h, 3, 1_000_000);
    h.sell(1000, 100, { account: 2 });
    const bought = h.buy(1000, 100);
    assert.ok(bought.some((e) => e.type === 'Trade'));
    assert.equal(risk.accounts.cash[1], -50_000);
    // price falls to 650: equity = -50,000 + 65,000 = 15,000 < maintenance 25% x 65,000 = 16,250
    h.buy(650, 10, { account: 3 });
    const call = h.sell(650, 10, { account: 2 });
    const calls = call.filter((e) => e.type === 'MarginCall');
    assert.equal(calls.length, 1);
    assert.equal(calls[0].account, 1);
    assert.equal(calls[0].equity, 15_000);
    // a second trade at the same level does not call again
    h.buy(650, 1, { account: 3 });
    assert.equal(h.sell(650, 1, { account: 2 }).filter((e) => e.type === 'MarginCall').length, 0);
    // liquidity for the square-off, then a fall to 580: equity 8,000 < 15% x 58,000 = 8,700 -> liquidation
    h.buy(570, 100, { account: 3 });
    h.buy(580, 1, { account: 3 });
    const crash = h.sell(580, 1, { account: 2 });
    const kinds = types(crash);
    const start = kinds.indexOf('LiquidationStarted');
    assert.ok(start > 0, `liquidation started: ${kinds.join(',')}`);
    const squareOff = crash.slice(start).find((e) => e.type === 'OrderAccepted')!;
    assert.equal(squareOff.account, 1);
    assert.equal(squareOff.side, Sell);
    assert.equal(squareOff.quantity, 100);
    assert.equal(squareOff.clientOrderId, 0);
    assert.equal(risk.positions.get(risk.positions.find(1, 1), PositionField.quantity), 0);
  });

  test('short selling only on margin accounts and within the short limit', () => {
    const { h } = broker();
    account(h, 1, 100_000);
    account(h, 2, 100_000, AccountType.Margin);
    assert.equal(h.sell(1000, 5)[0].reason, RejectReason.INSUFFICIENT_POSITION);
    assert.equal(h.sell(1000, 5, { account: 2 })[0].reason, RejectReason.SHORT_SELL_NOT_ALLOWED);
    h.send('SetAccountLimits', { account: 2, maxShortQuantity: 5 });
    assert.equal(h.sell(1000, 5, { account: 2 })[0].type, 'OrderAccepted');
    assert.equal(h.sell(1000, 1, { account: 2 })[0].reason, RejectReason.SHORT_SELL_NOT_ALLOWED);
  });

  test('a margin withdrawal may not breach the initial requirement', () => {
    const { h } = broker();
    account(h, 1, 50_000, AccountType.Margin);
    seed(h, 1, 50, 1000, 2); // 50,000 of stock on 25,000 initial
    const r = h.send('Withdraw', { account: 1, amount: 25_001, reference: 31 });
    assert.equal(r[0].reason, RejectReason.INSUFFICIENT_FUNDS); // only 0 settled cash: stock bought today
  });
});

describe('corporate actions', () => {
  test('a 2:1 split in the middle of open orders', () => {
    const { h, risk } = broker();
    account(h, 1, 1_000_000);
    seed(h, 1, 10, 1000, 2);
    h.buy(900, 5);
    h.sell(1200, 3);
    const ev = h.send('StockSplit', { instrument: 1, numerator: 2, denominator: 1 });
    const kinds = types(ev);
    assert.equal(kinds[0], 'InstrumentStateChanged');
    assert.equal(ev.filter((e) => e.type === 'OrderCanceled').every((e) => e.reason === CancelReason.CORPORATE_ACTION), true);
    assert.equal(ev.filter((e) => e.type === 'OrderCanceled').length, 2);
    assert.equal(kinds.at(-1), 'InstrumentStateChanged');
    const row = risk.positions.find(1, 1);
    assert.equal(risk.positions.get(row, PositionField.quantity), 20);
    assert.equal(risk.positions.get(row, PositionField.costBasis), 10_000);
    assert.equal(h.matcher.instruments.referencePrice[1], 500);
    assert.equal(risk.accounts.reserved[1], 0);
  });

  test('a 3:2 split pays cash in lieu of fractional shares', () => {
    const { h, risk } = broker();
    account(h, 1, 100_000);
    seed(h, 1, 5, 1200, 2); // 5 x 1.5 = 7.5 shares
    const ev = h.send('StockSplit', { instrument: 1, numerator: 3, denominator: 2 });
    const mine = ev.find((e) => e.type === 'CorporateActionApplied' && e.account === 1)!;
    assert.equal(mine.kind, CorporateActionKind.Split);
    assert.equal(mine.quantity, 2); // 5 -> 7
    assert.equal(mine.cash, 400); // half a share at 1200 x 2/3 = 800
    assert.equal(risk.positions.get(risk.positions.find(1, 1), PositionField.quantity), 7);
  });

  test('a cash dividend credits holders', () => {
    const { h, risk } = broker();
    account(h, 1, 100_000);
    seed(h, 1, 10, 1000, 2);
    const before = risk.accounts.cash[1];
    h.send('CashDividend', { instrument: 1, amountPerShare: 25 });
    assert.equal(risk.accounts.cash[1], before + 250);
    assert.equal(risk.accounts.cash[2], 10_000_000 + 10 * 1000 - 250); // the short seller pays
  });
});

describe('DAY orders with holds', () => {
  test('expiry at close releases the hold', () => {
    const { h, risk } = broker();
    account(h, 1, 10_000);
    h.buy(1000, 10, { timeInForce: TimeInForce.DAY });
    const ev = h.send('SessionClose', { instrument: 1 });
    assert.deepEqual(types(ev), ['InstrumentStateChanged', 'OrderCanceled', 'CashReleased']);
    assert.equal(risk.accounts.reserved[1], 0);
  });
});
