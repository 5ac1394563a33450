/**
 * One test (at least) per rule of shared/matching-rules.md and docs/matching.md,
 * each of which fails if its rule is broken.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, types } from './helpers/harness';
import { CancelReason, InstrumentState, OrderFlag, OrderType, RejectReason, SelfTradePrevention, Side, StateChangeReason, TimeInForce } from '../core/codes';
import { cutImage, restoreImage } from '../core/state-image';

const { Buy, Sell } = Side;

function open(terms = {}): Harness {
  const h = new Harness();
  h.addInstrument(terms);
  return h;
}

describe('priority and trade price', () => {
  test('FIFO within a level: the earliest order at a price fills first', () => {
    const h = open();
    h.sell(100, 5, { account: 2 }); // order 1
    h.sell(100, 5, { account: 3 }); // order 2
    const ev = h.buy(100, 5);
    assert.deepEqual(types(ev), ['OrderAccepted', 'Trade']);
    assert.equal(ev[1].makerOrderId, 1);
    assert.deepEqual(h.depth(Sell), [{ price: 100, quantity: 5, orders: [2] }]);
  });

  test('better price first, each fill at the maker price, in match order', () => {
    const h = open();
    h.sell(102, 5, { account: 2 });
    h.sell(101, 5, { account: 2 });
    const ev = h.buy(103, 8);
    const trades = ev.filter((e) => e.type === 'Trade');
    assert.deepEqual(trades.map((t) => [t.makerOrderId, t.price, t.quantity, t.aggressorSide]), [[2, 101, 5, Buy], [1, 102, 3, Buy]]);
    assert.equal(trades[1].takerLeaves, 0);
    assert.equal(trades[1].makerLeaves, 2);
  });

  test('sequence numbers are global, gap-free, and carry the command timestamp', () => {
    const h = open();
    h.sell(100, 5, { account: 2 });
    const ev = h.send('NewOrder', { account: 1, instrument: 1, clientOrderId: 77, side: Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, price: 100, quantity: 5 }, 9_999_999);
    assert.deepEqual(ev.map((e) => e.sequence), [3, 4]);
    assert.ok(ev.every((e) => e.timestamp === 9_999_999));
  });
});

describe('order types and time in force', () => {
  test('IOC residual is canceled with reason IOC', () => {
    const h = open();
    h.sell(100, 3, { account: 2 });
    const ev = h.buy(100, 5, { timeInForce: TimeInForce.IOC });
    assert.deepEqual(types(ev), ['OrderAccepted', 'Trade', 'OrderCanceled']);
    assert.equal(ev[2].reason, CancelReason.IOC);
    assert.equal(ev[2].canceledQuantity, 2);
    assert.deepEqual(h.depth(Buy), []);
  });

  test('GTC residual rests', () => {
    const h = open();
    h.buy(99, 5);
    assert.deepEqual(h.depth(Buy), [{ price: 99, quantity: 5, orders: [1] }]);
  });

  test('market order into an empty book is accepted then canceled NO_LIQUIDITY', () => {
    const h = open();
    const ev = h.order({ side: Buy, orderType: OrderType.Market, quantity: 5 });
    assert.deepEqual(types(ev), ['OrderAccepted', 'OrderCanceled']);
    assert.equal(ev[1].reason, CancelReason.NO_LIQUIDITY);
  });

  test('market order beyond protection is canceled PROTECTION', () => {
    const h = open({ bandBasisPoints: 1000, referencePrice: 100 });
    h.sell(110, 1, { account: 2 });
    h.sell(100, 1, { account: 2 });
    const first = h.order({ side: Buy, orderType: OrderType.Market, quantity: 1 }); // takes 100
    assert.equal(first[1].price, 100);
    // protection for the next buy is 110 (ref 100): the 110 ask is reachable
    const second = h.order({ side: Buy, orderType: OrderType.Market, quantity: 1 });
    assert.equal(second[1].price, 110);
    // ref 110 -> band 99..121. Rest an ask at 121, then lower the ref by trading at 100 via a sell
    h.sell(121, 1, { account: 2 });
    h.buy(100, 1, { account: 3 });
    h.sell(100, 1, { account: 2 }); // trades at 100 -> band 90..110
    const third = h.order({ side: Buy, orderType: OrderType.Market, quantity: 1 });
    assert.deepEqual(types(third), ['OrderAccepted', 'OrderCanceled']);
    assert.equal(third[1].reason, CancelReason.PROTECTION);
  });

  test('FOK that cannot fill: Accepted then Canceled(FOK), no trades, book unchanged', () => {
    const h = open();
    h.sell(100, 3, { account: 2 });
    h.sell(101, 3, { account: 2 });
    const before = JSON.stringify(h.depth(Sell));
    const ev = h.buy(101, 7, { timeInForce: TimeInForce.FOK });
    assert.deepEqual(types(ev), ['OrderAccepted', 'OrderCanceled']);
    assert.equal(ev[1].reason, CancelReason.FOK);
    assert.equal(ev[1].canceledQuantity, 7);
    assert.equal(JSON.stringify(h.depth(Sell)), before);
  });

  test('FOK that can fill fills completely', () => {
    const h = open();
    h.sell(100, 3, { account: 2 });
    h.sell(101, 3, { account: 2 });
    const ev = h.buy(101, 6, { timeInForce: TimeInForce.FOK });
    assert.deepEqual(types(ev), ['OrderAccepted', 'Trade', 'Trade']);
  });

  test('POST_ONLY that would cross is rejected; one that would not rests', () => {
    const h = open();
    h.sell(101, 3, { account: 2 });
    const ev = h.buy(101, 1, { flags: OrderFlag.PostOnly });
    assert.deepEqual(types(ev), ['OrderRejected']);
    assert.equal(ev[0].reason, RejectReason.POST_ONLY_WOULD_CROSS);
    assert.deepEqual(types(h.buy(100, 1, { flags: OrderFlag.PostOnly })), ['OrderAccepted']);
  });

  test('DAY orders expire at SessionClose with reason EXPIRED; GTC stay', () => {
    const h = open();
    h.buy(99, 1, { timeInForce: TimeInForce.DAY });
    h.buy(98, 1, { timeInForce: TimeInForce.GTC });
    const ev = h.send('SessionClose', { instrument: 1 });
    assert.deepEqual(types(ev), ['InstrumentStateChanged', 'OrderCanceled']);
    assert.equal(ev[1].orderId, 1);
    assert.equal(ev[1].reason, CancelReason.EXPIRED);
    assert.deepEqual(h.depth(Buy).map((l) => l.price), [98]);
  });

  test('GTD expires at the first Clock at or after its expiry time', () => {
    const h = open();
    h.buy(99, 1, { timeInForce: TimeInForce.GTD, expireTime: 5_000_000 });
    assert.deepEqual(types(h.send('Clock', {}, 4_999_999)), ['ClockAdvanced']);
    const ev = h.send('Clock', {}, 5_000_000);
    assert.deepEqual(types(ev), ['ClockAdvanced', 'OrderCanceled']);
    assert.equal(ev[1].reason, CancelReason.EXPIRED);
    assert.deepEqual(h.depth(Buy), []);
  });

  test('GTD with an expiry in the past is rejected', () => {
    const h = open();
    const ev = h.buy(99, 1, { timeInForce: TimeInForce.GTD, expireTime: 1 });
    assert.equal(ev[0].reason, RejectReason.EXPIRE_TIME_IN_PAST);
  });
});

describe('stops', () => {
  test('buy stop triggers when last >= stop and enters as market', () => {
    const h = open();
    h.order({ side: Buy, orderType: OrderType.Stop, stopPrice: 102, quantity: 2 }); // order 1
    h.sell(102, 1, { account: 2 });
    h.sell(103, 5, { account: 2 });
    const ev = h.buy(102, 1, { account: 3 }); // trade at 102 touches the stop
    assert.deepEqual(types(ev), ['OrderAccepted', 'Trade', 'StopTriggered', 'Trade']);
    assert.equal(ev[2].orderId, 1);
    assert.equal(ev[3].takerOrderId, 1);
    assert.equal(ev[3].price, 103);
  });

  test('sell stop-limit triggers when last <= stop and rests at its limit', () => {
    const h = open();
    h.order({ side: Sell, orderType: OrderType.StopLimit, stopPrice: 98, price: 97, quantity: 2 }); // 1
    h.buy(98, 1, { account: 2 });
    const ev = h.sell(98, 1, { account: 3 });
    assert.deepEqual(types(ev), ['OrderAccepted', 'Trade', 'StopTriggered']);
    assert.deepEqual(h.depth(Sell), [{ price: 97, quantity: 2, orders: [1] }]);
  });

  test('stops triggered by one trade enter most aggressive first, then by arrival', () => {
    const h = open();
    h.order({ side: Buy, orderType: OrderType.StopLimit, stopPrice: 101, price: 90, quantity: 1 }); // 1
    h.order({ side: Buy, orderType: OrderType.StopLimit, stopPrice: 102, price: 90, quantity: 1 }); // 2
    h.order({ side: Buy, orderType: OrderType.StopLimit, stopPrice: 101, price: 90, quantity: 1 }); // 3
    h.sell(102, 1, { account: 2 });
    const ev = h.buy(102, 1, { account: 3 });
    assert.deepEqual(ev.filter((e) => e.type === 'StopTriggered').map((e) => e.orderId), [2, 1, 3]);
    // time priority from the trigger moment: level 90 holds them in trigger order
    assert.deepEqual(h.depth(Buy)[0].orders, [2, 1, 3]);
  });

  test('a cascade: trades of triggered stops trigger further stops in the same command', () => {
    const h = open();
    h.order({ side: Buy, orderType: OrderType.Stop, stopPrice: 101, quantity: 1 }); // 1
    h.order({ side: Buy, orderType: OrderType.Stop, stopPrice: 103, quantity: 1 }); // 2
    h.sell(101, 1, { account: 2 });
    h.sell(103, 1, { account: 2 });
    h.sell(104, 1, { account: 2 });
    const ev = h.buy(101, 1, { account: 3 });
    assert.deepEqual(types(ev), ['OrderAccepted', 'Trade', 'StopTriggered', 'Trade', 'StopTriggered', 'Trade']);
    assert.deepEqual(ev.filter((e) => e.type === 'Trade').map((e) => e.price), [101, 103, 104]);
  });
});

describe('cancel, replace, reduce', () => {
  test('cancel of a live order: Canceled(USER)', () => {
    const h = open();
    h.buy(99, 5);
    const ev = h.cancel(1);
    assert.deepEqual(types(ev), ['OrderCanceled']);
    assert.equal(ev[0].reason, CancelReason.USER);
    assert.equal(ev[0].canceledQuantity, 5);
  });

  test('cancel of filled / unknown / foreign orders is rejected with the reason', () => {
    const h = open();
    h.sell(100, 1, { account: 2 });
    h.buy(100, 1);
    h.buy(90, 1); // order 3, live
    assert.equal(h.cancel(1, 2)[0].reason, RejectReason.TOO_LATE_TO_CANCEL);
    assert.equal(h.cancel(999)[0].reason, RejectReason.UNKNOWN_ORDER);
    const foreign = h.cancel(3, 2);
    assert.deepEqual(types(foreign), ['CancelRejected']);
    assert.equal(foreign[0].reason, RejectReason.NOT_AUTHORIZED);
    h.cancel(3);
    assert.equal(h.cancel(3)[0].reason, RejectReason.TOO_LATE_TO_CANCEL);
  });

  test('pure quantity decrease keeps time priority', () => {
    const h = open();
    h.buy(99, 5); // 1
    h.buy(99, 5, { account: 2 }); // 2
    const ev = h.replace(1, 0, 3);
    assert.equal(ev[0].type, 'OrderReplaced');
    assert.equal(ev[0].priorityKept, 1);
    assert.deepEqual(h.depth(Buy), [{ price: 99, quantity: 8, orders: [1, 2] }]);
  });

  test('quantity increase loses priority (back of the level)', () => {
    const h = open();
    h.buy(99, 5); // 1
    h.buy(99, 5, { account: 2 }); // 2
    assert.equal(h.replace(1, 0, 6)[0].priorityKept, 0);
    assert.deepEqual(h.depth(Buy), [{ price: 99, quantity: 11, orders: [2, 1] }]);
  });

  test('price change re-inserts and may trade immediately', () => {
    const h = open();
    h.sell(101, 2, { account: 2 });
    h.buy(99, 5); // 2
    const ev = h.replace(2, 101, 5);
    assert.deepEqual(types(ev), ['OrderReplaced', 'Trade']);
    assert.equal(ev[1].takerOrderId, 2);
    assert.deepEqual(h.depth(Buy), [{ price: 101, quantity: 3, orders: [2] }]);
  });

  test('replace quantities are totals; at or below filled cancels the order', () => {
    const h = open();
    h.buy(100, 10); // 1
    h.sell(100, 4, { account: 2 }); // fills 4 of order 1
    const ev = h.replace(1, 0, 4);
    assert.deepEqual(types(ev), ['OrderCanceled']);
    assert.equal(ev[0].reason, CancelReason.REPLACED_TO_FILLED);
    assert.equal(ev[0].canceledQuantity, 6);
  });

  test('replace to a total above filled sets leaves = total - filled', () => {
    const h = open();
    h.buy(100, 10);
    h.sell(100, 4, { account: 2 });
    const ev = h.replace(1, 0, 8);
    assert.equal(ev[0].leavesQuantity, 4);
    assert.deepEqual(h.depth(Buy), [{ price: 100, quantity: 4, orders: [1] }]);
  });

  test('replace of a non-live order is rejected like a cancel', () => {
    const h = open();
    const ev = h.replace(42, 100, 1);
    assert.deepEqual(types(ev), ['CancelRejected']);
    assert.equal(ev[0].reason, RejectReason.UNKNOWN_ORDER);
  });
});

describe('self-trade prevention', () => {
  const setup = (stp: number) => {
    const h = open();
    h.sell(100, 5, { account: 1 }); // 1: own resting
    h.sell(100, 5, { account: 2 }); // 2
    return { h, ev: h.buy(100, 5, { account: 1, selfTradePrevention: stp }) };
  };

  test('default is CANCEL_TAKER', () => {
    const { h, ev } = setup(0);
    assert.deepEqual(types(ev), ['OrderAccepted', 'OrderCanceled']);
    assert.equal(ev[1].orderId, 3);
    assert.equal(ev[1].reason, CancelReason.SELF_TRADE);
    assert.deepEqual(h.depth(Sell)[0].orders, [1, 2]);
  });

  test('CANCEL_MAKER cancels the resting order and continues', () => {
    const { h, ev } = setup(SelfTradePrevention.CancelMaker);
    assert.deepEqual(types(ev), ['OrderAccepted', 'OrderCanceled', 'Trade']);
    assert.equal(ev[1].orderId, 1);
    assert.equal(ev[2].makerOrderId, 2);
    assert.deepEqual(h.depth(Sell), []);
  });

  test('CANCEL_BOTH cancels both', () => {
    const { ev } = setup(SelfTradePrevention.CancelBoth);
    assert.deepEqual(types(ev), ['OrderAccepted', 'OrderCanceled', 'OrderCanceled']);
    assert.deepEqual([ev[1].orderId, ev[2].orderId], [1, 3]);
  });

  test('NONE lets the account trade with itself', () => {
    const { ev } = setup(SelfTradePrevention.None);
    assert.deepEqual(types(ev), ['OrderAccepted', 'Trade']);
    assert.equal(ev[1].makerAccount, ev[1].takerAccount);
  });
});

describe('trading states and circuit breakers', () => {
  test('orders and replaces are rejected unless OPEN; cancels always work', () => {
    const h = open();
    h.buy(99, 1);
    h.send('HaltInstrument', { instrument: 1 });
    assert.equal(h.buy(99, 1)[0].reason, RejectReason.INSTRUMENT_HALTED);
    assert.equal(h.replace(1, 98, 1)[0].reason, RejectReason.INSTRUMENT_HALTED);
    assert.deepEqual(types(h.cancel(1)), ['OrderCanceled']);
    h.send('SessionClose', { instrument: 1 });
    assert.equal(h.buy(99, 1)[0].reason, RejectReason.INSTRUMENT_CLOSED);
  });

  test('PRE_OPEN rejects until SessionOpen', () => {
    const h = open({ initialState: InstrumentState.PreOpen });
    assert.equal(h.buy(99, 1)[0].reason, RejectReason.INSTRUMENT_NOT_OPEN);
    const ev = h.send('SessionOpen', { instrument: 0 });
    assert.equal(ev[0].state, InstrumentState.Open);
    assert.deepEqual(types(h.buy(99, 1)), ['OrderAccepted']);
  });

  test('limit price outside the band is rejected', () => {
    const h = open({ bandBasisPoints: 500, referencePrice: 100 }); // 95..105
    assert.equal(h.buy(106, 1)[0].reason, RejectReason.PRICE_OUTSIDE_BANDS);
    assert.equal(h.sell(94, 1)[0].reason, RejectReason.PRICE_OUTSIDE_BANDS);
    assert.deepEqual(types(h.buy(105, 1)), ['OrderAccepted']);
  });

  test('band reference is the last trade price', () => {
    const h = open({ bandBasisPoints: 500, referencePrice: 100 });
    h.sell(105, 1, { account: 2 });
    h.buy(105, 1);
    assert.deepEqual(types(h.buy(110, 1)), ['OrderAccepted']); // 105 * 1.05 = 110.25
  });

  test('band halt: event order and reason', () => {
    const k = open({ bandBasisPoints: 1000, referencePrice: 100 });
    k.sell(90, 1, { account: 2 }); // order 1 rests at 90 (band 90..110)
    k.sell(110, 1, { account: 2 }); // order 2
    k.buy(110, 1, { account: 3 }); // trades at 90 -> ref 90, band 81..99; order 2 @110 now outside
    k.buy(99, 1, { account: 3 }); // rests at 99 (no ask <= 99)
    k.sell(99, 1, { account: 4 }); // trades at 99 -> ref 99, band 90..108 ; 110 still outside
    // STOP_LIMIT buy with limit 110 is not band-checked; it triggers at once (last 99 >= stop 95)
    const ev = k.order({ account: 5, side: Buy, orderType: OrderType.StopLimit, stopPrice: 95, price: 110, quantity: 1 });
    assert.deepEqual(types(ev), ['OrderAccepted', 'StopTriggered', 'InstrumentStateChanged', 'OrderCanceled']);
    assert.equal(ev[2].state, InstrumentState.Halted);
    assert.equal(ev[2].reason, StateChangeReason.PriceBand);
    assert.equal(ev[3].reason, CancelReason.HALTED);
    assert.equal(k.buy(100, 1)[0].reason, RejectReason.INSTRUMENT_HALTED);
    assert.equal(k.send('ResumeInstrument', { instrument: 1 })[0].state, InstrumentState.Open);
  });
});

describe('validation reasons', () => {
  test('each bad field is rejected with its stable reason and no side effect', () => {
    const h = open({ tickSize: 5, lotSize: 10, maxOrderQuantity: 1000, maxOrderNotional: 50_000, referencePrice: 100 });
    const reason = (ev: ReturnType<Harness['order']>) => (assert.deepEqual(types(ev), ['OrderRejected']), ev[0].reason);
    assert.equal(reason(h.order({ instrument: 9, price: 100 })), RejectReason.UNKNOWN_INSTRUMENT);
    assert.equal(reason(h.buy(101, 10)), RejectReason.PRICE_OFF_TICK);
    assert.equal(reason(h.buy(100, 15)), RejectReason.QUANTITY_OFF_LOT);
    assert.equal(reason(h.buy(100, 1010)), RejectReason.QUANTITY_ABOVE_MAX);
    assert.equal(reason(h.buy(100, 600)), RejectReason.NOTIONAL_ABOVE_MAX);
    assert.equal(reason(h.buy(0, 10)), RejectReason.INVALID_FIELD);
    assert.equal(reason(h.buy(100, -10)), RejectReason.INVALID_FIELD);
    assert.equal(reason(h.buy(100.5, 10)), RejectReason.INVALID_FIELD);
    assert.equal(reason(h.order({ side: 7, price: 100 })), RejectReason.INVALID_FIELD);
    assert.equal(reason(h.order({ orderType: 9, price: 100 })), RejectReason.INVALID_FIELD);
    assert.equal(reason(h.order({ timeInForce: 0, price: 100 })), RejectReason.INVALID_FIELD);
    assert.equal(reason(h.order({ price: Number.NaN })), RejectReason.INVALID_FIELD);
    assert.equal(reason(h.order({ price: 100, account: 0 })), RejectReason.INVALID_FIELD);
    assert.deepEqual(h.depth(Buy), []);
  });

  test('duplicate client order id is rejected without side effects; EndOfDay forgets ids', () => {
    const h = open();
    h.order({ clientOrderId: 5, price: 99, quantity: 1 });
    const dup = h.order({ clientOrderId: 5, price: 98, quantity: 1 });
    assert.equal(dup[0].reason, RejectReason.DUPLICATE_CLIENT_ORDER_ID);
    assert.deepEqual(h.depth(Buy).map((l) => l.price), [99]);
    assert.deepEqual(types(h.order({ clientOrderId: 5, account: 2, price: 98, quantity: 1 })), ['OrderAccepted']);
    h.send('EndOfDay', {});
    assert.deepEqual(types(h.order({ clientOrderId: 5, price: 97, quantity: 1 })), ['OrderAccepted']);
  });

  test('a dated EndOfDay ends its day once (the supervisor may resend after a restart); undated always ends one', () => {
    const h = open();
    const ended = (fields: Record<string, number>) => h.send('EndOfDay', fields);
    const first = ended({ calendarDate: 20261127 });
    assert.deepEqual(first.map((e) => [e.type, e.tradeDate]), [['TradingDayEnded', 2]]);
    for (const again of [20261127, 20261126]) {
      const ev = ended({ calendarDate: again });
      assert.deepEqual(ev.map((e) => [e.type, e.reason, e.reference]), [['CommandRejected', RejectReason.TRADING_DAY_ALREADY_ENDED, again]]);
    }
    assert.deepEqual(ended({ calendarDate: 1.5 }).map((e) => [e.type, e.reason]), [['CommandRejected', RejectReason.INVALID_FIELD]]);
    assert.deepEqual(ended({}).map((e) => [e.type, e.tradeDate]), [['TradingDayEnded', 3]], 'undated: unconditional');
    assert.deepEqual(ended({ calendarDate: 20261130 }).map((e) => [e.type, e.tradeDate]), [['TradingDayEnded', 4]]);
    const restored = restoreImage(cutImage(h.matcher));
    assert.equal(restored.lastEndedCalendarDate, 20261130, 'the last ended day survives a snapshot');
  });

  test('unknown command type is rejected, nothing throws', () => {
    const h = open();
    const words = new Float64Array(16);
    words[0] = 250;
    h.matcher.process(words, 0);
    h.matcher.flush();
    const ev = h.sink.take();
    assert.equal(ev[0].type, 'CommandRejected');
    assert.equal(ev[0].reason, RejectReason.UNKNOWN_COMMAND);
  });
});

describe('capacity limits', () => {
  test('order pool exhaustion is ORDER_CAPACITY_EXCEEDED', () => {
    const h = new Harness({ limits: { maxOrders: 3, maxPriceLevels: 64, maxLevelsPerSide: 16, maxInstruments: 2, maxAccounts: 8, clientOrderIdWindow: 64, maxPositions: 8} });
    h.addInstrument();
    h.buy(90, 1);
    h.buy(91, 1);
    h.buy(92, 1);
    assert.equal(h.buy(93, 1)[0].reason, RejectReason.ORDER_CAPACITY_EXCEEDED);
    h.cancel(1);
    assert.deepEqual(types(h.buy(93, 1)), ['OrderAccepted']);
  });

  test('levels per side exhaustion is LEVEL_CAPACITY_EXCEEDED, joining an existing level still works', () => {
    const h = new Harness({ limits: { maxOrders: 64, maxPriceLevels: 64, maxLevelsPerSide: 2, maxInstruments: 2, maxAccounts: 8, clientOrderIdWindow: 64, maxPositions: 8} });
    h.addInstrument();
    h.buy(90, 1);
    h.buy(91, 1);
    assert.equal(h.buy(92, 1)[0].reason, RejectReason.LEVEL_CAPACITY_EXCEEDED);
    assert.deepEqual(types(h.buy(91, 1)), ['OrderAccepted']);
  });
});
