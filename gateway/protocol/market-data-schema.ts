/**
 * The market-data wire templates (docs/market-data.md, "Wire protocol").
 *
 * Same frame and message header, field kinds, codec and error factory as the
 * order-entry protocol (wire-schema.ts), but the templates live in their own two
 * tables — the market-data endpoint is a separate port and a separate schema, like a
 * second SBE schema sharing the header. Ids continue the session id space so no id
 * means two different things on the two ports: client → server 137.. (plus the shared
 * Heartbeat 130), server → client 200.. (plus Heartbeat 130).
 *
 * Every template is unsequenced in the header sense (the header's sequence slot is
 * for order-entry session sequences, always >= 1); market data carries its own
 * per-(instrument, channel) sequence as a field instead, because a snapshot may be
 * valid at sequence 0. Every server → client data message starts with
 * `instrument` (u32), `sequence` (i64: the channel sequence) and `timestamp` (i64, µs).
 *
 * Variable-length messages are flattened into runs of fixed messages:
 *   L2 snapshot    = L2SnapshotBegin + one L2Level per level (bids then asks, best first) + L2SnapshotEnd(checksum)
 *   L2 update      = one L2Change per change, all with the update's sequence, changeIndex 0..changeCount-1,
 *                    each carrying the checksum of the book after the whole update
 *   order snapshot = OrderSnapshotBegin + one OrderSnapshotEntry per order + OrderSnapshotEnd
 *
 * Records: decoding fills a 16-word record with word 0 = 0 and the fields at words
 * 1, 2, 3, ... in schema order (market-data templates are not core records).
 */
import { CHANNELS, Channel } from '../market-data/messages';
import { FieldRule, RuleType } from './field-rules';
import { SessionTemplateSpec, SessionTemplates } from './session-schema';
import { Direction, KIND_BYTES, KindCode, WireKind } from './wire-kinds';
import {
  ClientTemplates, MESSAGE_BYTES_MAX, MESSAGE_HEADER_BYTES, RECORD_WORDS, ServerTemplates, TemplateTable, WireField, WireTemplate,
} from './wire-schema';

/** Channel codes on the wire: CHANNELS index + 1 (0 is never a channel). */
export const ChannelCode: Readonly<Record<Channel, number>> = Object.freeze({
  orders: 1, l2: 2, trades: 3, bbo: 4, candles: 5, status: 6,
});

export function channelCode(channel: Channel): number {
  const code = ChannelCode[channel];
  if (code === undefined) throw new RangeError(`unknown market-data channel "${channel}"`);
  return code;
}

/** The channel of a wire code, or undefined. */
export function channelOfCode(code: number): Channel | undefined {
  return code >= 1 && code <= CHANNELS.length ? CHANNELS[code - 1] : undefined;
}

/** L2Change.action. */
export const L2Action = { Set: 1, Delete: 2 } as const;

/**
 * SubscriptionReject.reason for requests that are well formed but refused. Malformed
 * messages get the protocol reasons of errors.ts (1000..1011); these follow the
 * gateway's 1000..1999 reason space in a block of their own.
 */
export const MarketDataReject = {
  /** No instrument with this id (yet): subscribe after its InstrumentAdded. */
  UNKNOWN_INSTRUMENT: 1300,
  /** The connection already follows maxSubscriptionsPerConnection (instrument, channel) pairs. */
  TOO_MANY_SUBSCRIPTIONS: 1301,
  /** The endpoint is shutting down. */
  SHUTTING_DOWN: 1302,
} as const;

export const MD_CLIENT_TEMPLATE_ID_MIN = 137;
export const MD_SERVER_TEMPLATE_ID_MIN = 200;

const ENUM_VALUE_MAX = 31;
function oneOf(label: string, values: Readonly<Record<string, number>>): FieldRule {
  let mask = 0;
  for (const value of Object.values(values)) {
    if (!Number.isInteger(value) || value < 0 || value > ENUM_VALUE_MAX) throw new Error(`market-data-schema: ${label} value ${value} outside 0..${ENUM_VALUE_MAX}`);
    mask |= 1 << value;
  }
  return Object.freeze({ type: RuleType.Enum, mask, min: 0, text: `${label}: ${Object.entries(values).map(([n, v]) => `${v} ${n}`).join(', ')}` });
}
const atLeast = (min: number): FieldRule => Object.freeze({ type: RuleType.Min, mask: 0, min, text: `>= ${min}` });

/** Value rules the endpoint enforces on client → server fields (by field name). */
export const MD_FIELD_RULES: Readonly<Record<string, FieldRule>> = Object.freeze({
  instrument: atLeast(1),
  channel: oneOf('Channel', ChannelCode),
  snapshot: oneOf('Snapshot', { no: 0, yes: 1 }),
});

function spec(id: number, name: string, direction: SessionTemplateSpec['direction'], fields: Readonly<Record<string, WireKind>>): SessionTemplateSpec {
  return Object.freeze({ id, name, direction, sequenced: false, fields: Object.freeze({ ...fields }) });
}

/** Fields every server → client data message starts with. */
const HEAD = { instrument: 'u32', sequence: 'i64', timestamp: 'i64' } as const;

export const MarketDataTemplates = {
  /** Follow (instrument, channel). snapshot 1: first send the channel's current state (l2, orders, bbo, status). */
  Subscribe: spec(137, 'Subscribe', 'client-to-server', { instrument: 'u32', channel: 'u8', snapshot: 'u8' }),
  Unsubscribe: spec(138, 'Unsubscribe', 'client-to-server', { instrument: 'u32', channel: 'u8' }),
  /** The order-entry Heartbeat (same id and layout): a client's Heartbeat with testRequestId ≠ 0 is echoed. */
  Heartbeat: SessionTemplates.Heartbeat,

  /** The subscription is in effect; sequence: the channel's sequence then (the next message has sequence + 1, or a snapshot at >= sequence). */
  Subscribed: spec(200, 'Subscribed', 'server-to-client', { ...HEAD, channel: 'u8', snapshot: 'u8' }),
  /** The subscription is gone: nothing more of (instrument, channel) follows. */
  Unsubscribed: spec(201, 'Unsubscribed', 'server-to-client', { ...HEAD, channel: 'u8' }),
  /** A refused client message: reason is a protocol reason (errors.ts) or a MarketDataReject. */
  SubscriptionReject: spec(202, 'SubscriptionReject', 'server-to-client', { ...HEAD, channel: 'u8', reason: 'u16', refTemplateId: 'u8' }),

  OrderAdd: spec(203, 'OrderAdd', 'server-to-client', { ...HEAD, orderId: 'i64', side: 'u8', price: 'i64', quantity: 'i64' }),
  OrderExecute: spec(204, 'OrderExecute', 'server-to-client', {
    ...HEAD, orderId: 'i64', side: 'u8', price: 'i64', quantity: 'i64', leaves: 'i64', tradeId: 'i64',
  }),
  OrderCancel: spec(205, 'OrderCancel', 'server-to-client', { ...HEAD, orderId: 'i64', side: 'u8', price: 'i64', canceledQuantity: 'i64', reason: 'u16' }),
  OrderReplace: spec(206, 'OrderReplace', 'server-to-client', {
    ...HEAD, orderId: 'i64', side: 'u8', oldPrice: 'i64', oldQuantity: 'i64', price: 'i64', quantity: 'i64', priorityKept: 'u8',
  }),
  OrderDelete: spec(207, 'OrderDelete', 'server-to-client', { ...HEAD, orderId: 'i64', side: 'u8', price: 'i64' }),
  OrderSnapshotBegin: spec(208, 'OrderSnapshotBegin', 'server-to-client', { ...HEAD, bidCount: 'u32', askCount: 'u32' }),
  OrderSnapshotEntry: spec(209, 'OrderSnapshotEntry', 'server-to-client', { ...HEAD, side: 'u8', orderId: 'i64', price: 'i64', quantity: 'i64' }),
  OrderSnapshotEnd: spec(210, 'OrderSnapshotEnd', 'server-to-client', { ...HEAD }),

  L2SnapshotBegin: spec(211, 'L2SnapshotBegin', 'server-to-client', { ...HEAD, depth: 'u16', bidCount: 'u16', askCount: 'u16' }),
  L2Level: spec(212, 'L2Level', 'server-to-client', { ...HEAD, side: 'u8', price: 'i64', quantity: 'i64', count: 'u32' }),
  L2SnapshotEnd: spec(213, 'L2SnapshotEnd', 'server-to-client', { ...HEAD, checksum: 'u32' }),
  /** One change of an L2 update; the update is complete at changeIndex = changeCount - 1. checksum: of the book after the whole update. */
  L2Change: spec(214, 'L2Change', 'server-to-client', {
    ...HEAD, changeIndex: 'u16', changeCount: 'u16', action: 'u8', side: 'u8', price: 'i64', quantity: 'i64', count: 'u32', checksum: 'u32',
  }),

  TradePrint: spec(215, 'TradePrint', 'server-to-client', {
    ...HEAD, tradeId: 'i64', price: 'i64', quantity: 'i64', aggressorSide: 'u8', makerOrderId: 'i64', takerOrderId: 'i64',
  }),
  Bbo: spec(216, 'Bbo', 'server-to-client', { ...HEAD, bidPrice: 'i64', bidQuantity: 'i64', askPrice: 'i64', askQuantity: 'i64' }),
  /** A closed candle covering [start, start + intervalMicros). */
  Candle: spec(217, 'Candle', 'server-to-client', {
    ...HEAD, intervalMicros: 'i64', start: 'i64', open: 'i64', high: 'i64', low: 'i64', close: 'i64', volume: 'i64', notional: 'i64', trades: 'u32',
  }),
  InstrumentStatus: spec(218, 'InstrumentStatus', 'server-to-client', {
    ...HEAD, symbolHead: 'ascii7', symbolTail: 'ascii7', state: 'u8', previousState: 'u8', reason: 'u8',
  }),
} as const;

export type MarketDataTemplateName = keyof typeof MarketDataTemplates;

/** Fields start at record word 1 (word 0 stays 0). */
const FIRST_FIELD_WORD = 1;

function buildTemplate(spec: SessionTemplateSpec, direction: Direction): WireTemplate {
  let offset = MESSAGE_HEADER_BYTES;
  let word = FIRST_FIELD_WORD;
  const fields: WireField[] = [];
  const at: Record<string, number> = {};
  for (const [name, kind] of Object.entries(spec.fields)) {
    if (kind === 'bytes64') throw new Error(`market-data-schema: ${spec.name}.${name}: no bytes64 fields in market data`);
    if (word >= RECORD_WORDS) throw new Error(`market-data-schema: ${spec.name} has more fields than a ${RECORD_WORDS}-word record holds`);
    const rule = direction === 'client-to-server' ? MD_FIELD_RULES[name] ?? null : null;
    if (rule !== null && rule.type !== RuleType.Min && kind !== 'u8' && kind !== 'u16') throw new Error(`market-data-schema: enum rule on ${kind} field ${spec.name}.${name}`);
    const width = KIND_BYTES[kind];
    fields.push(Object.freeze({ name, kind, kindCode: KindCode[kind], offset, width, word, rule }));
    at[name] = word;
    offset += width;
    word++;
  }
  if (offset > MESSAGE_BYTES_MAX) throw new Error(`market-data-schema: ${spec.name} is ${offset} bytes`);
  return Object.freeze({
    id: spec.id, name: spec.name, direction, source: 'session', coreCode: 0, sequenced: false, blockLength: offset,
    fields: Object.freeze(fields), at: Object.freeze(at),
  });
}

function buildTable(direction: Direction): TemplateTable {
  const templates: WireTemplate[] = [];
  const byId: (WireTemplate | undefined)[] = new Array(256).fill(undefined);
  const byName: Record<string, WireTemplate> = {};
  let maxBlockLength = 0;
  const orderEntry = direction === 'client-to-server' ? ClientTemplates : ServerTemplates;
  for (const s of Object.values(MarketDataTemplates) as SessionTemplateSpec[]) {
    if (s.direction !== 'both' && s.direction !== direction) continue;
    const template = buildTemplate(s, direction);
    const min = direction === 'client-to-server' ? MD_CLIENT_TEMPLATE_ID_MIN : MD_SERVER_TEMPLATE_ID_MIN;
    const shared = orderEntry.byId[template.id];
    if (s.direction === 'both') {
      // Shared with the order-entry schema: same id, same layout.
      if (shared === undefined || shared.name !== template.name || shared.blockLength !== template.blockLength) {
        throw new Error(`market-data-schema: ${template.name} must match the order-entry template with id ${template.id}`);
      }
    } else if (template.id < min || template.id > 254) {
      throw new Error(`market-data-schema: ${template.name} id ${template.id} outside ${min}..254`);
    }
    // Other ids are kept clear of the order-entry tables by convention (test/market-data-endpoint.test.ts
    // checks it); an overlap would still decode correctly, the tables being separate.
    if (byId[template.id] !== undefined) throw new Error(`market-data-schema: id ${template.id} used twice`);
    byId[template.id] = template;
    byName[template.name] = template;
    templates.push(template);
    maxBlockLength = Math.max(maxBlockLength, template.blockLength);
  }
  return Object.freeze({
    direction, templates: Object.freeze(templates), byId: Object.freeze(byId), byName: Object.freeze(byName),
    byCoreCode: Object.freeze(new Array(256).fill(undefined)), maxBlockLength,
  });
}

/** Templates the market-data endpoint decodes (Subscribe, Unsubscribe, Heartbeat). */
export const MarketDataClientTemplates: TemplateTable = buildTable('client-to-server');
/** Templates the market-data endpoint sends. */
export const MarketDataServerTemplates: TemplateTable = buildTable('server-to-client');

/**
 * Frame limits of the server → client direction (both peers must use them): a frame
 * holds up to 64 KiB and 4096 messages, so an L2 snapshot of 50 levels per side fits
 * one frame. Client → server frames use the protocol defaults (frame-limits.ts).
 */
export const MD_SERVER_FRAME_LIMITS = Object.freeze({ maxFrameBytes: 65_536, maxMessagesPerFrame: 4096 });

/** Markdown tables of every market-data template (pasted into docs/market-data.md; a test compares). */
export function describeMarketDataTemplates(): string {
  const lines: string[] = [];
  for (const table of [MarketDataClientTemplates, MarketDataServerTemplates]) {
    const arrow = table.direction === 'client-to-server' ? 'client → server' : 'server → client';
    lines.push(`#### Market data, ${arrow}`, '', '| id | template | bytes | fields (offset kind name) |', '| --- | --- | --- | --- |');
    for (const t of table.templates) {
      const fields = t.fields.map((f) => `${f.offset} ${f.kind} \`${f.name}\`${f.rule !== null ? ` (${f.rule.text})` : ''}`).join(' · ');
      lines.push(`| ${t.id} | \`${t.name}\` | ${t.blockLength} | ${fields} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

export const MD_GENERATED_BEGIN = '<!-- BEGIN GENERATED: describeMarketDataTemplates() -->';
export const MD_GENERATED_END = '<!-- END GENERATED MARKET DATA -->';
