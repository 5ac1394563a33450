/**
 * Seeds the market-data publisher from a matcher state (restored from a snapshot)
 * instead of from event 1 of the journal: each instrument is announced
 * (InstrumentAdded, then its trading state), and every live order is announced as
 * an OrderAccepted for its open quantity, book level by book level in FIFO order,
 * each as its own command, so the view rebuilds the same books with the same
 * priority. Pending stops are announced as stops. The synthetic events carry the
 * snapshot's sequence; real events after it follow from the journal and the ring.
 */
import type { Matcher } from '../../core/matcher';
import { EVENT_WORDS, EventHeader, Events } from '../../core/schema';
import { NO_SLOT, OrderStatus } from '../../core/order-pool';
import { OrderType, TimeInForce } from '../../core/codes';
import type { MarketDataPublisher } from './publisher';

export function seedFromMatcher(publisher: MarketDataPublisher, matcher: Matcher): { instruments: number; orders: number } {
  const words = new Float64Array(EVENT_WORDS);
  const sequence = matcher.out.sequence;
  const ins = matcher.instruments;
  const orders = matcher.orders;
  const emit = (code: number, fields: Record<string, number>, at: Readonly<Record<string, number>>) => {
    words.fill(0);
    words[EventHeader.type] = code;
    words[EventHeader.sequence] = sequence;
    words[EventHeader.timestamp] = matcher.now;
    for (const [name, value] of Object.entries(fields)) words[at[name]] = value;
    publisher.onRecord(words, 0);
    publisher.endCommand();
  };
  let instrumentCount = 0;
  let orderCount = 0;
  for (let i = 1; i <= matcher.limits.maxInstruments; i++) {
    if (ins.exists[i] !== 1) continue;
    instrumentCount++;
    emit(Events.InstrumentAdded.code, {
      instrument: i, symbolHead: ins.symbolHead[i], symbolTail: ins.symbolTail[i], tickSize: ins.tickSize[i], lotSize: ins.lotSize[i],
      bandBasisPoints: ins.bandBasisPoints[i], referencePrice: ins.referencePrice[i], state: ins.state[i], settlementDays: ins.settlementDays[i],
    }, Events.InstrumentAdded.at);
    for (const ladder of [ins.bids[i], ins.asks[i], ins.buyStops[i], ins.sellStops[i]]) {
      for (let l = ladder.count - 1; l >= 0; l--) {
        for (let slot = matcher.levels.head[ladder.levels[l]]; slot !== NO_SLOT; slot = orders.next[slot]) {
          const stop = orders.status[slot] === OrderStatus.PendingStop;
          orderCount++;
          emit(Events.OrderAccepted.code, {
            orderId: orders.orderId[slot], account: orders.account[slot], instrument: i, clientOrderId: orders.clientOrderId[slot],
            side: orders.side[slot], orderType: stop ? orders.orderType[slot] : OrderType.Limit, timeInForce: TimeInForce.GTC,
            price: stop && orders.orderType[slot] === OrderType.Stop ? 0 : orders.price[slot], quantity: orders.leaves[slot],
            stopPrice: stop ? orders.stopPrice[slot] : 0,
          }, Events.OrderAccepted.at);
        }
      }
    }
  }
  return { instruments: instrumentCount, orders: orderCount };
}
