/**
 * The exchange's configuration: one JSON file (optional), environment overrides,
 * and shipped defaults that make `npm start` work with no file at all. Validated
 * at start with messages that name the key and what was expected.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { DEFAULT_LIMITS, EngineLimits } from '../limits';
import type { Durability } from '../../journal/journal';
import { CalendarConfig, DEFAULT_CALENDAR } from './trading-calendar';

export interface InstrumentConfig {
  id: number;
  symbol: string;
  name: string;
  tickSize: number;
  lotSize: number;
  bandBasisPoints: number;
  maxOrderQuantity: number;
  maxOrderNotional: number;
  referencePrice: number;
  settlementDays: number;
}

export interface DemoAccountConfig {
  account: number;
  type: 'cash' | 'margin';
  deposit: number;
  /** The API key's id (u32). Keys connect to port orderEntryBasePort + keyId mod gatewayWorkers. */
  keyId: number;
  /** HMAC-SHA256 secret, at least 32 characters (demo only: real keys come from the key store). */
  apiSecret: string;
  permissions: Array<'trade' | 'backoffice' | 'admin' | 'marketdata' | 'broker'>;
  maxShortQuantity?: number;
}

export interface ExchangeConfig {
  dataDirectory: string;
  durability: Durability;
  risk: boolean;
  host: string;
  /** Order-entry gateway worker i listens on orderEntryBasePort + i. */
  orderEntryBasePort: number;
  gatewayWorkers: number;
  /**
   * A running order-entry gateway saves its start-up scan state every this many journal events
   * (gateway/order-entry/gateway-checkpoint.ts), so a restart after a crash scans at most this
   * many events plus what came after (~0.75M events/s: ≤ ~7 s at the default). It also saves
   * one at a graceful stop. Each save pauses the gateway's pump for the capture (~5 ms per 70K
   * remembered orders): every 1M events it showed in the p99 at 50K orders/s (+3–5 ms).
   */
  gatewayCheckpointEveryEvents: number;
  marketDataPort: number;
  /** Broker HTTP JSON API, live WebSocket and web terminal (gateway/broker, docs/broker-api.md); 0 = no broker. */
  brokerPort: number;
  /** Health, readiness and Prometheus metrics. */
  httpPort: number;
  inboundCapacity: number;
  outboundCapacity: number;
  limits: EngineLimits;
  fees: { makerBasisPoints: number; takerBasisPoints: number; feeAccount: number };
  snapshot: { everyEvents: number; everySeconds: number; keep: number };
  instruments: InstrumentConfig[];
  demoAccounts: DemoAccountConfig[];
  /** Run the built-in market maker and taker bots. */
  demoFlow: boolean;
  calendar: CalendarConfig;
  /** Per-session token buckets of the order-entry gateways. */
  throttle: { ordersPerSecond: number; orderBurst: number; cancelsPerSecond: number; cancelBurst: number };
  /** How often the supervisor sends a Clock command (GTD expiry, calendar checks). */
  clockIntervalMs: number;
  /** Bearer token of the HTTP admin endpoints (status, snapshot now, drain and stop). */
  adminToken: string;
  /**
   * EventStoreDB connection string ('' = none): when set, the embedded journal is replicated,
   * record for record, into the stream journal-<eventStoreInstance> (journal/eventstore-replicator.ts).
   */
  eventStoreUrl: string;
  /** Instance id naming this exchange's EventStoreDB stream. */
  eventStoreInstance: string;
  /** Acknowledgements wait until EventStoreDB holds the events (not only the local journal). Needs eventStoreUrl. */
  eventStoreAcks: boolean;
}

const DEMO_INSTRUMENTS: Array<[string, string, number]> = [
  ['ACME', 'Acme Corporation', 10_000],
  ['GLOBX', 'Globex Industries', 25_050],
  ['INITECH', 'Initech Software', 4_200],
  ['UMBR', 'Umbrella Pharmaceuticals', 18_375],
  ['WAYNE', 'Wayne Enterprises', 61_000],
  ['STARK', 'Stark Industries', 33_310],
];

export function defaultConfig(): ExchangeConfig {
  return {
    dataDirectory: 'data',
    durability: 'fsync',
    risk: true,
    host: '127.0.0.1',
    orderEntryBasePort: 9100,
    gatewayWorkers: Math.max(1, Math.min(2, os.availableParallelism() - 1)),
    gatewayCheckpointEveryEvents: 5_000_000,
    marketDataPort: 9200,
    brokerPort: 8080,
    httpPort: 9090,
    inboundCapacity: 1 << 16,
    outboundCapacity: 1 << 18,
    limits: { ...DEFAULT_LIMITS },
    fees: { makerBasisPoints: 1, takerBasisPoints: 3, feeAccount: 1 },
    snapshot: { everyEvents: 1_000_000, everySeconds: 60, keep: 3 },
    instruments: DEMO_INSTRUMENTS.map(([symbol, name, price], i) => ({
      id: i + 1, symbol, name, tickSize: 1, lotSize: 1, bandBasisPoints: 1000, maxOrderQuantity: 1_000_000,
      maxOrderNotional: 10_000_000_000, referencePrice: price, settlementDays: 1,
    })),
    demoAccounts: [
      { account: 1, type: 'cash', deposit: 0, keyId: 1, apiSecret: 'demo-fees-secret-0123456789abcdef', permissions: [] },
      { account: 2, type: 'margin', deposit: 10_000_000_000, keyId: 2, apiSecret: 'demo-maker-secret-0123456789abcdef', permissions: ['trade', 'marketdata'], maxShortQuantity: 1_000_000 },
      { account: 3, type: 'cash', deposit: 1_000_000_000, keyId: 3, apiSecret: 'demo-taker-secret-0123456789abcdef', permissions: ['trade', 'marketdata'] },
      { account: 4, type: 'cash', deposit: 100_000_000, keyId: 4, apiSecret: 'demo-trader-secret-0123456789abcdef', permissions: ['trade', 'marketdata'] },
      { account: 5, type: 'margin', deposit: 100_000_000, keyId: 5, apiSecret: 'demo-trader2-secret-0123456789abcde', permissions: ['trade', 'marketdata'], maxShortQuantity: 10_000 },
      { account: 9, type: 'cash', deposit: 0, keyId: 9, apiSecret: 'demo-ops-secret-0123456789abcdef01', permissions: ['backoffice', 'admin', 'marketdata'] },
      // The retail broker's one session (gateway/broker): 'broker' enters orders for its customers' accounts, 'backoffice'
      // opens and funds them; account 10 is its house account.
      { account: 10, type: 'cash', deposit: 0, keyId: 10, apiSecret: 'demo-broker-secret-0123456789abcdef', permissions: ['broker', 'backoffice', 'marketdata'] },
    ],
    demoFlow: true,
    calendar: { ...DEFAULT_CALENDAR, holidays: [] },
    throttle: { ordersPerSecond: 100, orderBurst: 100, cancelsPerSecond: 500, cancelBurst: 500 },
    clockIntervalMs: 1000,
    adminToken: 'demo-admin-token-change-me',
    eventStoreUrl: '',
    eventStoreInstance: 'exchange',
    eventStoreAcks: false,
  };
}

/** Environment variables that override a key (value parsed as the key's type). */
export const ENVIRONMENT_OVERRIDES: Readonly<Record<string, keyof ExchangeConfig>> = {
  EXCHANGE_DATA_DIR: 'dataDirectory',
  EXCHANGE_DURABILITY: 'durability',
  EXCHANGE_RISK: 'risk',
  EXCHANGE_HOST: 'host',
  EXCHANGE_ORDER_ENTRY_PORT: 'orderEntryBasePort',
  EXCHANGE_GATEWAY_WORKERS: 'gatewayWorkers',
  EXCHANGE_GATEWAY_CHECKPOINT_EVERY_EVENTS: 'gatewayCheckpointEveryEvents',
  EXCHANGE_MARKET_DATA_PORT: 'marketDataPort',
  EXCHANGE_HTTP_PORT: 'httpPort',
  EXCHANGE_BROKER_PORT: 'brokerPort',
  EXCHANGE_DEMO_FLOW: 'demoFlow',
  EXCHANGE_CLOCK_INTERVAL_MS: 'clockIntervalMs',
  EXCHANGE_ADMIN_TOKEN: 'adminToken',
  EXCHANGE_ESDB_URL: 'eventStoreUrl',
  EXCHANGE_ESDB_INSTANCE: 'eventStoreInstance',
  EXCHANGE_ESDB_ACKS: 'eventStoreAcks',
};

export class ConfigError extends Error {
  constructor(readonly key: string, readonly expected: string, readonly got: unknown) {
    super(`config ${key}: expected ${expected}, got ${JSON.stringify(got)}`);
    this.name = 'ConfigError';
  }
}

/** Loads defaults <- file (if given) <- environment, then validates. */
export function loadConfig(file?: string, env: NodeJS.ProcessEnv = process.env): ExchangeConfig {
  const config = defaultConfig() as unknown as Record<string, unknown>;
  if (file !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ConfigError('(file)', `a readable JSON file at ${file}`, (error as Error).message);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError('(file)', 'a JSON object', parsed);
    for (const [key, value] of Object.entries(parsed)) {
      if (!(key in config)) throw new ConfigError(key, `one of ${Object.keys(config).join(', ')}`, 'unknown key');
      const merged = key === 'limits' || key === 'calendar' || key === 'fees' || key === 'snapshot' || key === 'throttle';
      config[key] = merged ? { ...(config[key] as object), ...(value as object) } : value;
    }
  }
  for (const [variable, key] of Object.entries(ENVIRONMENT_OVERRIDES)) {
    const raw = env[variable];
    if (raw === undefined) continue;
    const current = config[key];
    config[key] = typeof current === 'number' ? Number(raw) : typeof current === 'boolean' ? raw === 'true' || raw === '1' : raw;
  }
  return validateConfig(config as unknown as ExchangeConfig);
}

export function validateConfig(c: ExchangeConfig): ExchangeConfig {
  const integer = (key: string, value: unknown, min: number, max: number) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new ConfigError(key, `an integer in ${min}..${max}`, value);
  };
  const powerOfTwo = (key: string, value: unknown) => {
    integer(key, value, 2, 1 << 24);
    if (((value as number) & ((value as number) - 1)) !== 0) throw new ConfigError(key, 'a power of two', value);
  };
  if (typeof c.dataDirectory !== 'string' || c.dataDirectory.length === 0) throw new ConfigError('dataDirectory', 'a non-empty path', c.dataDirectory);
  if (!['fsync', 'os', 'none'].includes(c.durability)) throw new ConfigError('durability', '"fsync", "os" or "none"', c.durability);
  if (typeof c.risk !== 'boolean') throw new ConfigError('risk', 'true or false', c.risk);
  if (typeof c.demoFlow !== 'boolean') throw new ConfigError('demoFlow', 'true or false', c.demoFlow);
  // The engine validates the values (limits.ts); a misspelt key would otherwise be ignored silently.
  for (const key of Object.keys(c.limits)) {
    if (!(key in DEFAULT_LIMITS)) throw new ConfigError(`limits.${key}`, `one of ${Object.keys(DEFAULT_LIMITS).join(', ')}`, 'unknown key');
  }
  integer('orderEntryBasePort', c.orderEntryBasePort, 1, 65535);
  integer('gatewayWorkers', c.gatewayWorkers, 1, 16);
  integer('gatewayCheckpointEveryEvents', c.gatewayCheckpointEveryEvents, 1, Number.MAX_SAFE_INTEGER);
  integer('marketDataPort', c.marketDataPort, 1, 65535);
  integer('httpPort', c.httpPort, 0, 65535);
  integer('brokerPort', c.brokerPort, 0, 65535);
  powerOfTwo('inboundCapacity', c.inboundCapacity);
  powerOfTwo('outboundCapacity', c.outboundCapacity);
  if (c.outboundCapacity <= c.limits.eventBatchCapacity) throw new ConfigError('outboundCapacity', `more than limits.eventBatchCapacity (${c.limits.eventBatchCapacity})`, c.outboundCapacity);
  integer('fees.makerBasisPoints', c.fees?.makerBasisPoints, -9999, 9999);
  integer('fees.takerBasisPoints', c.fees?.takerBasisPoints, -9999, 9999);
  integer('fees.feeAccount', c.fees?.feeAccount, 0, c.limits.maxAccounts);
  integer('snapshot.everyEvents', c.snapshot?.everyEvents, 1, Number.MAX_SAFE_INTEGER);
  integer('snapshot.everySeconds', c.snapshot?.everySeconds, 1, 86_400);
  integer('snapshot.keep', c.snapshot?.keep, 1, 100);
  if (!Array.isArray(c.instruments)) throw new ConfigError('instruments', 'an array', c.instruments);
  const symbols = new Set<string>();
  c.instruments.forEach((i, n) => {
    const k = `instruments[${n}]`;
    integer(`${k}.id`, i.id, 1, c.limits.maxInstruments);
    if (typeof i.symbol !== 'string' || !/^[A-Z0-9][A-Z0-9._-]{0,13}$/.test(i.symbol)) throw new ConfigError(`${k}.symbol`, '1-14 chars [A-Z0-9._-]', i.symbol);
    if (symbols.has(i.symbol)) throw new ConfigError(`${k}.symbol`, 'a unique symbol', i.symbol);
    symbols.add(i.symbol);
    integer(`${k}.tickSize`, i.tickSize, 1, 2 ** 36);
    integer(`${k}.lotSize`, i.lotSize, 1, 2 ** 36);
    integer(`${k}.bandBasisPoints`, i.bandBasisPoints, 0, 9999);
    integer(`${k}.referencePrice`, i.referencePrice, 1, 2 ** 36);
    integer(`${k}.settlementDays`, i.settlementDays, 1, 2);
  });
  integer('clockIntervalMs', c.clockIntervalMs, 10, 60_000);
  if (typeof c.eventStoreUrl !== 'string' || (c.eventStoreUrl !== '' && !/^(esdb|esdb\+discover):\/\//.test(c.eventStoreUrl))) {
    throw new ConfigError('eventStoreUrl', '"" or an esdb:// / esdb+discover:// connection string', c.eventStoreUrl);
  }
  if (typeof c.eventStoreInstance !== 'string' || !/^[A-Za-z0-9_.-]{1,128}$/.test(c.eventStoreInstance)) {
    throw new ConfigError('eventStoreInstance', '1-128 characters of [A-Za-z0-9_.-]', c.eventStoreInstance);
  }
  if (typeof c.eventStoreAcks !== 'boolean') throw new ConfigError('eventStoreAcks', 'true or false', c.eventStoreAcks);
  if (c.eventStoreAcks && c.eventStoreUrl === '') throw new ConfigError('eventStoreAcks', 'false unless eventStoreUrl is set', c.eventStoreAcks);
  if (typeof c.adminToken !== 'string' || c.adminToken.length < 16) throw new ConfigError('adminToken', 'a string of at least 16 characters', c.adminToken);
  integer('throttle.ordersPerSecond', c.throttle?.ordersPerSecond, 1, 1_000_000);
  integer('throttle.orderBurst', c.throttle?.orderBurst, 1, 1_000_000);
  integer('throttle.cancelsPerSecond', c.throttle?.cancelsPerSecond, 1, 1_000_000);
  integer('throttle.cancelBurst', c.throttle?.cancelBurst, 1, 1_000_000);
  if (!['24x7', 'exchange', 'demo'].includes(c.calendar?.mode)) throw new ConfigError('calendar.mode', '"24x7", "exchange" or "demo"', c.calendar?.mode);
  integer('calendar.openMinute', c.calendar.openMinute, 0, 1439);
  integer('calendar.closeMinute', c.calendar.closeMinute, c.calendar.openMinute + 1, 1439);
  integer('calendar.endOfDayMinute', c.calendar.endOfDayMinute, c.calendar.closeMinute, 1439);
  integer('calendar.demoDayMinutes', c.calendar.demoDayMinutes, 1, 1440);
  if (!Array.isArray(c.calendar.holidays) || !c.calendar.holidays.every((d) => /^\d{4}-\d{2}-\d{2}$/.test(d))) {
    throw new ConfigError('calendar.holidays', 'an array of YYYY-MM-DD dates', c.calendar.holidays);
  }
  if (!Array.isArray(c.demoAccounts)) throw new ConfigError('demoAccounts', 'an array', c.demoAccounts);
  c.demoAccounts.forEach((a, n) => {
    const k = `demoAccounts[${n}]`;
    integer(`${k}.account`, a.account, 1, c.limits.maxAccounts);
    if (a.type !== 'cash' && a.type !== 'margin') throw new ConfigError(`${k}.type`, '"cash" or "margin"', a.type);
    integer(`${k}.deposit`, a.deposit, 0, 2 ** 50);
    integer(`${k}.keyId`, a.keyId, 1, 2 ** 32 - 1);
    if (typeof a.apiSecret !== 'string' || a.apiSecret.length < 32) throw new ConfigError(`${k}.apiSecret`, 'a string of at least 32 characters', a.apiSecret);
  });
  return c;
}
