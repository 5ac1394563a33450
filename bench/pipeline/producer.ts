/**
 * Pipeline bench producer thread: writes limit orders (crossing, so they trade)
 * and cancels straight into the inbound ring, either as fast as the ring takes them
 * (rate 0) or open-loop at a fixed rate, recording each command's intended send
 * time (epoch ms, µs resolution) in a shared array indexed by command number.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { MpscRing } from '../../core/ring';
import { Commands } from '../../core/schema';
import { OrderType, Side, TimeInForce } from '../../core/codes';

const { inbound, intended, count, ratePerSecond, batch } = workerData as {
  inbound: SharedArrayBuffer; intended: SharedArrayBuffer; count: number; ratePerSecond: number; batch: number;
};
const ring = MpscRing.attach(inbound);
const sendTimes = new Float64Array(intended);
const N = Commands.NewOrder.at;
const X = Commands.CancelOrder.at;
const now = () => performance.timeOrigin + performance.now();
const sleepCell = new Int32Array(new SharedArrayBuffer(4));
const SLEEP_MS = 0.1;
let seed = 12345;
let orders = 0;

function write(index: number, offset: number, t: number): void {
  const w = ring.words;
  w.fill(0, offset, offset + 16);
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  w[offset + 1] = Math.round(t * 1000);
  w[offset + 2] = index; // origin: the tap finds the command by it
  if (index % 4 === 3 && orders > 8) {
    w[offset] = Commands.CancelOrder.code;
    w[offset + X.account] = 1 + (seed % 50);
    w[offset + X.orderId] = Math.max(1, orders - (seed % 8));
    return;
  }
  orders++;
  w[offset] = Commands.NewOrder.code;
  w[offset + N.account] = 1 + (seed % 50);
  w[offset + N.instrument] = 1;
  w[offset + N.clientOrderId] = index + 1;
  w[offset + N.side] = (seed >>> 8) & 1 ? Side.Buy : Side.Sell;
  w[offset + N.orderType] = OrderType.Limit;
  w[offset + N.timeInForce] = TimeInForce.GTC;
  w[offset + N.price] = 9_995 + ((seed >>> 10) % 11);
  w[offset + N.quantity] = 1 + ((seed >>> 16) % 10);
  w[offset + N.selfTradePrevention] = 1;
}

const start = now();
let index = 0;
while (index < count) {
  let n = Math.min(batch, count - index);
  if (ratePerSecond > 0) {
    const due = Math.floor(((now() - start) / 1000) * ratePerSecond);
    if (due <= index) {
      // Open loop: sleep ~100 µs until the next intended send time. A spinning generator would
      // take a whole core from the pipeline it measures (this machine has two); latency still
      // counts from each command's intended time, so the sleep's lateness is measured, not hidden.
      Atomics.wait(sleepCell, 0, 0, SLEEP_MS);
      continue;
    }
    n = Math.min(n, due - index);
  }
  while (!ring.tryClaimBatch(n, 1000)) { /* full: the pipeline is saturated; keep trying */ }
  for (let i = 0; i < n; i++) {
    const intendedAt = ratePerSecond > 0 ? start + ((index + i) / ratePerSecond) * 1000 : now();
    sendTimes[index + i] = intendedAt;
    write(index + i, ring.claimedOffset(i), intendedAt);
  }
  ring.publish();
  index += n;
}
parentPort!.postMessage({ done: true, seconds: (now() - start) / 1000 });
