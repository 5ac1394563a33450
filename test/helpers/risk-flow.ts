/**
 * A seeded stream for the risk layer: opens cash and margin accounts, funds them,
 * allows some short selling, then trades, cancels, replaces, withdraws and ends
 * days at random. Prices wander so margin accounts get called and liquidated.
 */
import { AccountAction, AccountType, OrderType, Side, TimeInForce } from '../../core/codes';
import { FlowCommand, mulberry32 } from './random-flow';
import { packSymbol } from '../../core/schema';

export function riskFlow(seed: number, count: number, accounts = 10): FlowCommand[] {
  const rnd = mulberry32(seed);
  const flow: FlowCommand[] = [];
  let time = 1_000_000;
  let reference = 0;
  let clientOrderId = 0;
  let issued = 0;
  const [symbolHead, symbolTail] = packSymbol('RSK');
  flow.push({ name: 'AddInstrument', timestamp: time, fields: {
    instrument: 1, symbolHead, symbolTail, tickSize: 1, lotSize: 1, bandBasisPoints: 3000, maxOrderQuantity: 500,
    maxOrderNotional: 1e9, referencePrice: 1000, settlementDays: 1, initialState: 0,
  } });
  for (let a = 1; a <= accounts; a++) {
    flow.push({ name: 'OpenAccount', timestamp: time, fields: { account: a, accountType: a % 3 === 0 ? AccountType.Margin : AccountType.Cash } });
    flow.push({ name: 'SetAccountStatus', timestamp: time, fields: { account: a, action: AccountAction.ApproveKyc } });
    flow.push({ name: 'Deposit', timestamp: time, fields: { account: a, amount: 50_000 + Math.floor(rnd() * 200_000), reference: ++reference } });
    if (a % 3 === 0) flow.push({ name: 'SetAccountLimits', timestamp: time, fields: { account: a, maxShortQuantity: 300 } });
  }
  flow.push({ name: 'SetFeeSchedule', timestamp: time, fields: { makerFeeBasisPoints: 5, takerFeeBasisPoints: 20, feeAccount: accounts } });
  let mid = 1000;
  for (let i = 0; i < count; i++) {
    time += 1 + Math.floor(rnd() * 1000);
    mid = Math.max(300, Math.min(3000, mid + Math.round((rnd() - 0.5) * 30)));
    const account = 1 + Math.floor(rnd() * accounts);
    const r = rnd();
    if (r < 0.62) {
      const side = rnd() < 0.5 ? Side.Buy : Side.Sell;
      const price = Math.max(1, mid + Math.round((rnd() - 0.5) * 40));
      const t = rnd();
      const orderType = t < 0.8 ? OrderType.Limit : t < 0.9 ? OrderType.Market : t < 0.95 ? OrderType.Stop : OrderType.StopLimit;
      issued++;
      flow.push({ name: 'NewOrder', timestamp: time, fields: {
        account, instrument: 1, clientOrderId: ++clientOrderId, side, orderType,
        timeInForce: rnd() < 0.8 ? TimeInForce.GTC : TimeInForce.IOC, price, quantity: 1 + Math.floor(rnd() * 60),
        stopPrice: price + (side === Side.Buy ? 5 : -5), selfTradePrevention: 0,
      } });
    } else if (r < 0.8) {
      flow.push({ name: 'CancelOrder', timestamp: time, fields: { account, orderId: 1 + Math.floor(rnd() * (issued + 1)) } });
    } else if (r < 0.9) {
      flow.push({ name: 'ReplaceOrder', timestamp: time, fields: {
        account, orderId: 1 + Math.floor(rnd() * (issued + 1)), price: mid + Math.round((rnd() - 0.5) * 40), quantity: Math.floor(rnd() * 70),
      } });
    } else if (r < 0.95) {
      flow.push({ name: 'Withdraw', timestamp: time, fields: { account, amount: 1 + Math.floor(rnd() * 20_000), reference: ++reference } });
    } else if (r < 0.97) {
      flow.push({ name: 'Deposit', timestamp: time, fields: { account, amount: 1 + Math.floor(rnd() * 20_000), reference: rnd() < 0.2 ? reference : ++reference } });
    } else {
      flow.push({ name: 'EndOfDay', timestamp: time, fields: {} });
    }
  }
  return flow;
}

/**
 * A harsher seeded stream for the margin machinery: one to three instruments, mostly
 * margin accounts funded close to their requirements (or, for some seeds, generously),
 * prices that wander far (halts resumed), fee rebates, stock splits, dividends and new
 * margin parameters. Margin calls and liquidations are frequent.
 */
export function marginStressFlow(seed: number, count: number): FlowCommand[] {
  const rnd = mulberry32(seed);
  const flow: FlowCommand[] = [];
  let time = 1_000_000;
  let reference = 0;
  let clientOrderId = 0;
  let issued = 0;
  const instruments = 1 + Math.floor(rnd() * 3);
  const accounts = 4 + Math.floor(rnd() * 12);
  const tight = rnd() < 0.6;
  const mids: number[] = [];
  for (let i = 1; i <= instruments; i++) {
    const [symbolHead, symbolTail] = packSymbol(`MS${i}`);
    const referencePrice = 500 + Math.floor(rnd() * 1500);
    mids.push(referencePrice);
    flow.push({ name: 'AddInstrument', timestamp: time, fields: {
      instrument: i, symbolHead, symbolTail, tickSize: 1, lotSize: 1, bandBasisPoints: 3000 + Math.floor(rnd() * 5000),
      maxOrderQuantity: 1000, maxOrderNotional: 1e12, referencePrice, settlementDays: 1 + (i % 2), initialState: 0,
    } });
  }
  for (let a = 1; a <= accounts; a++) {
    const margin = rnd() < 0.7;
    flow.push({ name: 'OpenAccount', timestamp: time, fields: { account: a, accountType: margin ? AccountType.Margin : AccountType.Cash } });
    flow.push({ name: 'SetAccountStatus', timestamp: time, fields: { account: a, action: AccountAction.ApproveKyc } });
    flow.push({ name: 'Deposit', timestamp: time, fields: { account: a, amount: tight ? 3000 + Math.floor(rnd() * 40_000) : 1e9, reference: ++reference } });
    if (margin) flow.push({ name: 'SetAccountLimits', timestamp: time, fields: { account: a, maxShortQuantity: 200 + Math.floor(rnd() * 2000) } });
  }
  if (rnd() < 0.5) {
    flow.push({ name: 'SetFeeSchedule', timestamp: time, fields: { makerFeeBasisPoints: rnd() < 0.3 ? -2 : 5, takerFeeBasisPoints: 20, feeAccount: 1 + Math.floor(rnd() * accounts) } });
  }
  for (let i = 0; i < count; i++) {
    time += 1 + Math.floor(rnd() * 1000);
    const instrument = 1 + Math.floor(rnd() * instruments);
    const mid = mids[instrument - 1] = Math.max(50, Math.min(5000, mids[instrument - 1] + Math.round((rnd() - 0.5) * (tight ? 100 : 40))));
    const account = 1 + Math.floor(rnd() * accounts);
    const r = rnd();
    if (r < 0.6) {
      const side = rnd() < 0.5 ? Side.Buy : Side.Sell;
      const price = Math.max(1, mid + Math.round((rnd() - 0.5) * 40));
      const t = rnd();
      const orderType = t < 0.8 ? OrderType.Limit : t < 0.9 ? OrderType.Market : t < 0.95 ? OrderType.Stop : OrderType.StopLimit;
      issued++;
      flow.push({ name: 'NewOrder', timestamp: time, fields: {
        account, instrument, clientOrderId: ++clientOrderId, side, orderType, timeInForce: rnd() < 0.8 ? TimeInForce.GTC : TimeInForce.IOC,
        price, quantity: 1 + Math.floor(rnd() * 80), stopPrice: price + (side === Side.Buy ? 5 : -5), selfTradePrevention: rnd() < 0.2 ? 1 : 0,
      } });
    } else if (r < 0.75) {
      flow.push({ name: 'CancelOrder', timestamp: time, fields: { account, orderId: 1 + Math.floor(rnd() * (issued + 1)) } });
    } else if (r < 0.85) {
      flow.push({ name: 'ReplaceOrder', timestamp: time, fields: {
        account, orderId: 1 + Math.floor(rnd() * (issued + 1)), price: mid + Math.round((rnd() - 0.5) * 40), quantity: Math.floor(rnd() * 90),
      } });
    } else if (r < 0.9) {
      flow.push({ name: 'Withdraw', timestamp: time, fields: { account, amount: 1 + Math.floor(rnd() * 20_000), reference: ++reference } });
    } else if (r < 0.93) {
      flow.push({ name: 'Deposit', timestamp: time, fields: { account, amount: 1 + Math.floor(rnd() * 20_000), reference: ++reference } });
    } else if (r < 0.94) {
      flow.push({ name: 'EndOfDay', timestamp: time, fields: {} });
    } else if (r < 0.945) {
      flow.push({ name: 'StockSplit', timestamp: time, fields: { instrument, numerator: rnd() < 0.5 ? 2 : 1, denominator: rnd() < 0.5 ? 3 : 2 } });
    } else if (r < 0.95) {
      flow.push({ name: 'CashDividend', timestamp: time, fields: { instrument, amountPerShare: 1 + Math.floor(rnd() * 5) } });
    } else if (r < 0.953) {
      flow.push({ name: 'SetMarginParameters', timestamp: time, fields: {
        instrument: rnd() < 0.5 ? 0 : instrument, initialBasisPoints: 3000 + Math.floor(rnd() * 5000),
        maintenanceBasisPoints: 1500 + Math.floor(rnd() * 1500), liquidationBasisPoints: 1000,
      } });
    } else if (r < 0.975) {
      flow.push({ name: 'ResumeInstrument', timestamp: time, fields: { instrument } });
    } else {
      issued++;
      flow.push({ name: 'NewOrder', timestamp: time, fields: {
        account, instrument, clientOrderId: ++clientOrderId, side: rnd() < 0.5 ? Side.Buy : Side.Sell, orderType: OrderType.Market,
        timeInForce: TimeInForce.IOC, price: 0, quantity: 1 + Math.floor(rnd() * 200), stopPrice: 0, selfTradePrevention: 0,
      } });
    }
  }
  return flow;
}
