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
