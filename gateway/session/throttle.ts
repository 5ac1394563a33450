/**
 * Per-session rate limits: token buckets, exact integer arithmetic, time passed in.
 *
 *   order bucket   NewOrder, ReplaceOrder and every other sequenced request
 *                  (queries, admin, back office, DeadManSwitch, ReplayRequest):
 *                  default 100/s, burst 100
 *   cancel bucket  CancelOrder, MassCancel: default 500/s, burst 500 — more generous so
 *                  a client can always get out of the market faster than it got in
 *   unthrottled    Logon, Logout, Heartbeat, TestRequest (bounded by the frame limits)
 *
 * A refused request is answered with Reject(THROTTLED, refSeq, retryAfterMs): the
 * earliest time, in whole ms, at which one token will be available. A throttled
 * request still consumes its client sequence number (it was processed: rejected).
 */
import { ClientTemplates, WireTemplate } from '../protocol/wire-schema';

export interface ThrottleOptions {
  readonly ordersPerSecond: number;
  readonly orderBurst: number;
  readonly cancelsPerSecond: number;
  readonly cancelBurst: number;
}

export const DEFAULT_THROTTLE_OPTIONS: ThrottleOptions = Object.freeze({
  ordersPerSecond: 100,
  orderBurst: 100,
  cancelsPerSecond: 500,
  cancelBurst: 500,
});

const RATE_MAX = 1_000_000;
const BURST_MAX = 1_000_000;
/** Token amounts are kept in micro-tokens so refill (rate per second × elapsed µs) is an exact integer. */
const UNITS_PER_TOKEN = 1_000_000;

export function validateThrottleOptions(partial: Partial<ThrottleOptions> = {}): ThrottleOptions {
  const options = { ...DEFAULT_THROTTLE_OPTIONS, ...partial };
  for (const [key, max] of [['ordersPerSecond', RATE_MAX], ['orderBurst', BURST_MAX], ['cancelsPerSecond', RATE_MAX], ['cancelBurst', BURST_MAX]] as const) {
    const value = options[key];
    if (!Number.isSafeInteger(value) || value < 1 || value > max) throw new RangeError(`throttle: ${key} must be an integer in 1..${max}, got ${value}`);
  }
  return Object.freeze(options);
}

export class TokenBucket {
  private units: number;
  private lastMicros: number;
  private readonly capacityUnits: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    nowMicros: number,
  ) {
    this.capacityUnits = burst * UNITS_PER_TOKEN;
    this.units = this.capacityUnits;
    this.lastMicros = nowMicros;
  }

  /** Takes one token: 0 if granted, else the retry-after in ms (>= 1) and nothing is taken. */
  take(nowMicros: number): number {
    this.refill(nowMicros);
    if (this.units >= UNITS_PER_TOKEN) {
      this.units -= UNITS_PER_TOKEN;
      return 0;
    }
    const waitMicros = Math.ceil((UNITS_PER_TOKEN - this.units) / this.ratePerSecond);
    return Math.max(1, Math.ceil(waitMicros / 1000));
  }

  /** Whole tokens available at `nowMicros`. */
  available(nowMicros: number): number {
    this.refill(nowMicros);
    return Math.floor(this.units / UNITS_PER_TOKEN);
  }

  private refill(nowMicros: number): void {
    const elapsedMicros = nowMicros - this.lastMicros;
    if (!(elapsedMicros > 0)) return; // time never runs backwards here
    this.lastMicros = nowMicros;
    const fillMicros = Math.min(elapsedMicros, Math.ceil(this.capacityUnits / this.ratePerSecond)); // no overflow past full
    this.units = Math.min(this.capacityUnits, this.units + fillMicros * this.ratePerSecond);
  }
}

export const ThrottleClass = { None: 0, Order: 1, Cancel: 2 } as const;
export type ThrottleClass = (typeof ThrottleClass)[keyof typeof ThrottleClass];

const UNTHROTTLED = new Set(['Logon', 'Logout', 'Heartbeat', 'TestRequest']);
const CANCELS = new Set(['CancelOrder', 'MassCancel']);
const CLASS_BY_ID: ThrottleClass[] = new Array(256).fill(ThrottleClass.None);
for (const template of ClientTemplates.templates) {
  CLASS_BY_ID[template.id] = UNTHROTTLED.has(template.name) ? ThrottleClass.None : CANCELS.has(template.name) ? ThrottleClass.Cancel : ThrottleClass.Order;
}
for (const name of [...UNTHROTTLED, ...CANCELS]) {
  if (ClientTemplates.byName[name] === undefined) throw new Error(`throttle: ${name} is not a client template`);
}

export function throttleClassOf(template: WireTemplate): ThrottleClass {
  return CLASS_BY_ID[template.id];
}

export class SessionThrottle {
  readonly options: ThrottleOptions;
  readonly orders: TokenBucket;
  readonly cancels: TokenBucket;

  constructor(options: Partial<ThrottleOptions> = {}, nowMicros: number) {
    this.options = validateThrottleOptions(options);
    this.orders = new TokenBucket(this.options.ordersPerSecond, this.options.orderBurst, nowMicros);
    this.cancels = new TokenBucket(this.options.cancelsPerSecond, this.options.cancelBurst, nowMicros);
  }

  /** 0 if a message of `template` may proceed now, else the retry-after in ms for Reject(THROTTLED). */
  admit(template: WireTemplate, nowMicros: number): number {
    switch (CLASS_BY_ID[template.id]) {
      case ThrottleClass.Order: return this.orders.take(nowMicros);
      case ThrottleClass.Cancel: return this.cancels.take(nowMicros);
      default: return 0;
    }
  }
}
