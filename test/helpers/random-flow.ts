/**
 * A small seeded command stream for tests that need "some realistic activity"
 * (snapshot/restore, heap, determinism): limit/market/IOC/stop orders, cancels,
 * replaces, clocks and occasional halts on two instruments and eight accounts.
 */
import { CommandFields } from '../../core/record-objects';
import { CommandName, packSymbol } from '../../core/schema';
import { OrderType, Side, TimeInForce } from '../../core/codes';

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type FlowCommand = { [N in CommandName]: { name: N; fields: CommandFields<N>; timestamp: number } }[CommandName];

export function randomFlow(seed: number, count: number, accounts = 8): FlowCommand[] {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const flow: FlowCommand[] = [];
  let time = 1_000_000;
  let clientOrderId = 0;
  let issued = 0; // upper bound of order ids (accepted orders get 1..n)
  for (const instrument of [1, 2]) {
    const [symbolHead, symbolTail] = packSymbol(`RND${instrument}`);
    flow.push({ name: 'AddInstrument', timestamp: time, fields: {
      instrument, symbolHead, symbolTail, tickSize: 1, lotSize: 1, bandBasisPoints: 2000,
      maxOrderQuantity: 1000, maxOrderNotional: 1e9, referencePrice: 1000, settlementDays: 1, initialState: 0,
    } });
  }
  for (let i = 0; i < count; i++) {
    time += 1 + Math.floor(rnd() * 1000);
    const r = rnd();
    const instrument = rnd() < 0.7 ? 1 : 2;
    const account = 1 + Math.floor(rnd() * accounts);
    if (r < 0.6) {
      const side = rnd() < 0.5 ? Side.Buy : Side.Sell;
      const offset = Math.round((rnd() - 0.5) * 20 + (rnd() < 0.05 ? (rnd() - 0.5) * 300 : 0));
      const price = Math.max(1, 1000 + offset);
      const t = rnd();
      const orderType = t < 0.75 ? OrderType.Limit : t < 0.85 ? OrderType.Market : t < 0.93 ? OrderType.Stop : OrderType.StopLimit;
      const tif = pick([TimeInForce.GTC, TimeInForce.GTC, TimeInForce.DAY, TimeInForce.GTD, TimeInForce.IOC, TimeInForce.FOK]);
      issued++;
      flow.push({ name: 'NewOrder', timestamp: time, fields: {
        account, instrument, clientOrderId: ++clientOrderId, side, orderType, timeInForce: tif, price,
        quantity: 1 + Math.floor(rnd() * 20), stopPrice: price + (side === Side.Buy ? 3 : -3),
        selfTradePrevention: Math.floor(rnd() * 5), expireTime: time + Math.floor(rnd() * 20_000),
      } });
    } else if (r < 0.8) {
      flow.push({ name: 'CancelOrder', timestamp: time, fields: { account, orderId: 1 + Math.floor(rnd() * (issued + 2)) } });
    } else if (r < 0.93) {
      flow.push({ name: 'ReplaceOrder', timestamp: time, fields: {
        account, orderId: 1 + Math.floor(rnd() * (issued + 2)), price: rnd() < 0.5 ? 0 : 990 + Math.floor(rnd() * 20), quantity: Math.floor(rnd() * 25),
      } });
    } else if (r < 0.97) {
      flow.push({ name: 'Clock', timestamp: time, fields: {} });
    } else if (r < 0.985) {
      flow.push({ name: 'HaltInstrument', timestamp: time, fields: { instrument } });
    } else {
      flow.push({ name: 'ResumeInstrument', timestamp: time, fields: { instrument } });
    }
  }
  return flow;
}
