/**
 * Properties of the risk layer over random streams: conservation of cash and
 * shares, holds equal to the sum of the orders' holds, cash accounts never spend
 * what they do not have, no margin account below maintenance without a call, and
 * snapshot + replay reproduce the same balances and state hash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Matcher } from '../core/matcher';
import { RiskEngine } from '../core/risk-engine';
import { CollectingSink, encodeCommand } from '../core/record-objects';
import { cutImage, restoreImage, stateHash, verifyIntegrity } from '../core/state-image';
import { AccountType } from '../core/codes';
import { NO_SLOT } from '../core/order-pool';
import { PositionField } from '../core/positions';
import { marginStressFlow, riskFlow } from './helpers/risk-flow';
import { FlowCommand } from './helpers/random-flow';

const limits = { maxOrders: 8192, maxPriceLevels: 4096, maxLevelsPerSide: 1024, maxInstruments: 4, maxAccounts: 64, clientOrderIdWindow: 8192, maxPositions: 1024, cashReferenceWindow: 8192 };

function engine(sink = new CollectingSink()): { matcher: Matcher; risk: RiskEngine; sink: CollectingSink } {
  const risk = new RiskEngine();
  return { matcher: new Matcher({ limits, risk, sink }), risk, sink };
}

function apply(matcher: Matcher, c: FlowCommand): void {
  matcher.process(encodeCommand(c.name, c.fields as never, c.timestamp), 0);
  matcher.flush();
}

test('cash and shares are conserved; holds add up; cash accounts never overspend; margin shortfalls are always called', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1e9 }), (seed) => {
      const { matcher, risk, sink } = engine();
      const a = risk.accounts;
      const p = risk.positions;
      let external = 0; // deposits - withdrawals
      const called = new Set<number>();
      for (const c of riskFlow(seed, 600)) {
        apply(matcher, c);
        for (const e of sink.take()) {
          if (e.type === 'CashDeposited') external += e.amount as number;
          if (e.type === 'CashWithdrawn') external -= e.amount as number;
          if (e.type === 'MarginCall' || e.type === 'LiquidationStarted') called.add(e.account as number);
        }
        let cash = 0;
        for (let id = 1; id <= limits.maxAccounts; id++) cash += a.cash[id];
        assert.equal(cash, external, 'cash conserved');
        let shares = 0;
        for (let row = 0; row < p.used; row++) shares += p.get(row, PositionField.quantity);
        assert.equal(shares, 0, 'shares conserved');
        // Open buy/sell quantities per position equal the live orders' open quantities.
        const open = new Map<number, [number, number]>();
        const o = matcher.orders;
        for (let slot = 0; slot < o.highWater; slot++) {
          if (o.status[slot] === 0) continue;
          const row = p.find(o.account[slot], o.instrument[slot]);
          const entry = open.get(row) ?? [0, 0];
          entry[o.side[slot] === 1 ? 0 : 1] += o.leaves[slot];
          open.set(row, entry);
        }
        for (let row = 0; row < p.used; row++) {
          const [buy, sell] = open.get(row) ?? [0, 0];
          assert.equal(p.get(row, PositionField.openBuy), buy, `row ${row}: open buy quantity equals its live orders'`);
          assert.equal(p.get(row, PositionField.openSell), sell, `row ${row}: open sell quantity equals its live orders'`);
        }
        for (let id = 1; id <= limits.maxAccounts; id++) {
          if (a.status[id] === 0) continue;
          let held = 0;
          for (let s = matcher.orders.accountHead[id]; s !== NO_SLOT; s = matcher.orders.accountNext[s]) held += matcher.orders.reservedCash[s];
          assert.equal(a.reserved[id], held, `account ${id}: reserved equals its orders' holds`);
          if (a.accountType[id] === AccountType.Cash) {
            assert.ok(a.cash[id] - a.unsettledProceeds[id] - a.reserved[id] >= 0, `cash account ${id} overspent`);
          } else {
            risk.refreshRows(id); // aggregates are lazy between exact evaluations: read them at current marks
            const equity = a.cash[id] + a.marketValue[id];
            if (equity >= a.maintenanceRequirement[id]) called.delete(id);
            else assert.ok(called.has(id), `margin account ${id} below maintenance without a call`);
          }
        }
      }
      verifyIntegrity(matcher);
    }),
    { numRuns: 20, seed: 7 },
  );
});

test('margin floors and trigger ladders hold after every command of harsh margin streams', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1e9 }), (seed) => {
      const { matcher, risk } = engine();
      for (const c of marginStressFlow(seed, 1500)) {
        apply(matcher, c);
        risk.verifyMarginFloors();
      }
      verifyIntegrity(matcher);
    }),
    { numRuns: 15, seed: 23 },
  );
});

test('lazy margin evaluation is unobservable: the same events as evaluating every holder on every move', () => {
  const streams: Array<[string, (seed: number) => FlowCommand[]]> = [
    ['risk flow', (seed) => riskFlow(seed, 1500)],
    ['margin stress flow', (seed) => marginStressFlow(seed, 3000)],
  ];
  let marginCalls = 0;
  let liquidations = 0;
  for (const [name, flow] of streams) {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), (seed) => {
        const lazy = engine();
        const exhaustiveSink = new CollectingSink();
        const exhaustive = new Matcher({ limits, risk: new RiskEngine(undefined, { exhaustiveMargin: true }), sink: exhaustiveSink });
        for (const c of flow(seed)) {
          apply(lazy.matcher, c);
          apply(exhaustive, c);
        }
        const raw = (s: CollectingSink) => Buffer.concat(s.records.map((r) => Buffer.from(r.buffer))).toString('hex');
        assert.equal(raw(lazy.sink), raw(exhaustiveSink), `${name}, seed ${seed}`);
        for (const e of lazy.sink.take()) {
          if (e.type === 'MarginCall') marginCalls++;
          if (e.type === 'LiquidationStarted') liquidations++;
        }
      }),
      { numRuns: 25, seed: 31 },
    );
  }
  // The streams must actually exercise the margin machinery.
  assert.ok(marginCalls > 20 && liquidations > 20, `margin calls ${marginCalls}, liquidations ${liquidations}`);
});

test('snapshot at a random point + replay gives the same events, balances and state hash', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 0, max: 600 }), (seed, cut) => {
      const flow = riskFlow(seed, 600);
      const straight = engine();
      flow.forEach((c) => apply(straight.matcher, c));
      const first = engine();
      flow.slice(0, cut + 40).forEach((c) => apply(first.matcher, c));
      const image = cutImage(first.matcher);
      const resumedSink = new CollectingSink();
      const resumed = restoreImage(image, { sink: resumedSink, risk: new RiskEngine() });
      assert.equal(stateHash(resumed), stateHash(first.matcher));
      flow.slice(cut + 40).forEach((c) => apply(resumed, c));
      const raw = (s: CollectingSink) => Buffer.concat(s.records.map((r) => Buffer.from(r.buffer))).toString('hex');
      assert.equal(raw(first.sink) + raw(resumedSink), raw(straight.sink));
      assert.equal(stateHash(resumed), stateHash(straight.matcher));
    }),
    { numRuns: 15, seed: 11 },
  );
});
