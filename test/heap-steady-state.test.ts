/**
 * Steady-state matching allocates nothing per message: after warm-up, one million
 * more commands (new orders, cancels, trades, IOCs, with and without risk) leave
 * the JS heap within a small stated tolerance.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Matcher } from '../core/matcher';
import { RiskEngine } from '../core/risk-engine';
import { encodeCommand } from '../core/record-objects';
import { AccountAction, AccountType, OrderType, Side, TimeInForce } from '../core/codes';
import { Commands, packSymbol } from '../core/schema';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Heap growth allowed over 1M commands: far below one allocation per command (which would be tens of MB). */
const TOLERANCE_BYTES = 1 << 20;
const ACCOUNTS = 50;

function drive(matcher: Matcher, commands: number, state: { seed: number; clientOrderId: number }): void {
  const w = new Float64Array(16);
  const N = Commands.NewOrder.at;
  const X = Commands.CancelOrder.at;
  for (let i = 0; i < commands; i++) {
    state.seed = (Math.imul(state.seed, 1664525) + 1013904223) >>> 0;
    const r = state.seed;
    w.fill(0);
    w[1] = 1_000_000 + i;
    const account = 1 + (r % ACCOUNTS);
    if ((r >>> 8) % 10 < 6) {
      w[0] = Commands.NewOrder.code;
      w[N.account] = account;
      w[N.instrument] = 1;
      w[N.clientOrderId] = ++state.clientOrderId;
      w[N.side] = (r >>> 12) & 1 ? Side.Buy : Side.Sell;
      w[N.orderType] = OrderType.Limit;
      w[N.timeInForce] = (r >>> 13) % 8 === 0 ? TimeInForce.IOC : TimeInForce.GTC;
      w[N.price] = 990 + ((r >>> 16) % 21);
      w[N.quantity] = 1 + ((r >>> 20) % 10);
      w[N.selfTradePrevention] = 1; // NONE: keep trading within the small account set
    } else {
      w[0] = Commands.CancelOrder.code;
      w[X.account] = account;
      w[X.orderId] = Math.max(1, matcher.nextOrderId - 1 - ((r >>> 10) % 200));
    }
    matcher.process(w, 0);
    if (state.clientOrderId % 100_000 === 0) matcher.process(encodeEndOfDay(w), 0); // keep the id window bounded
  }
}

function encodeEndOfDay(w: Float64Array): Float64Array {
  w.fill(0);
  w[0] = Commands.EndOfDay.code;
  return w;
}

function setup(withRisk: boolean): Matcher {
  const matcher = new Matcher({ risk: withRisk ? new RiskEngine() : null, limits: { maxAccounts: 1024, maxOrders: 1 << 17 } });
  const [symbolHead, symbolTail] = packSymbol('HEAP');
  matcher.process(encodeCommand('AddInstrument', { instrument: 1, symbolHead, symbolTail, tickSize: 1, lotSize: 1, bandBasisPoints: 5000, maxOrderQuantity: 1e6, maxOrderNotional: 1e12, referencePrice: 1000 }), 0);
  if (withRisk) {
    for (let a = 1; a <= ACCOUNTS; a++) {
      matcher.process(encodeCommand('OpenAccount', { account: a, accountType: AccountType.Margin }), 0);
      matcher.process(encodeCommand('SetAccountStatus', { account: a, action: AccountAction.ApproveKyc }), 0);
      matcher.process(encodeCommand('Deposit', { account: a, amount: 1e12, reference: a }), 0);
      matcher.process(encodeCommand('SetAccountLimits', { account: a, maxShortQuantity: 1e9, maxPositionQuantity: 1e9 }), 0);
    }
  }
  return matcher;
}

for (const withRisk of [false, true]) {
  test(`1M commands in steady state do not grow the heap (risk ${withRisk ? "on" : "off"})`, (t) => {
    const matcher = setup(withRisk);
    const state = { seed: 12345, clientOrderId: 0 };
    drive(matcher, 300_000, state); // warm-up: JIT and every pool path touched
    gc();
    gc();
    const before = process.memoryUsage().heapUsed;
    drive(matcher, 1_000_000, state);
    gc();
    gc();
    const growth = process.memoryUsage().heapUsed - before;
    t.diagnostic(`heap growth ${growth} bytes, ${matcher.nextOrderId - 1} orders accepted`);
    assert.ok(matcher.nextOrderId > 500_000, "orders were accepted");
    assert.ok(growth < TOLERANCE_BYTES, `heap grew by ${growth} bytes over 1M commands (tolerance ${TOLERANCE_BYTES})`);
  });
}
