/**
 * Wire codec: layouts derived from core/schema, round trips for every template
 * (fast-check), decoding arbitrary bytes never throws, every error code provoked by a
 * crafted frame, several messages per frame, limits enforced.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import fc from 'fast-check';
import { Side } from '../core/codes';
import { encodeCommand, decodeEvent } from '../core/record-objects';
import { COMMAND_WORDS, Commands, EVENT_WORDS, Events, EventHeader, MessageSpec, packAscii7, packSymbol } from '../core/schema';
import { DecodeStep, FrameDecoder } from '../gateway/protocol/decoder';
import { FrameEncoder } from '../gateway/protocol/encoder';
import { isProtocolError, PROTOCOL_ERRORS, ProtocolError, ProtocolErrorCode } from '../gateway/protocol/errors';
import { RuleType } from '../gateway/protocol/field-rules';
import { DEFAULT_FRAME_LIMITS, FRAME_BYTES_FLOOR, validateFrameLimits } from '../gateway/protocol/frame-limits';
import { fromRecord, recordOf, toRecord } from '../gateway/protocol/messages';
import { GatewayReject } from '../gateway/protocol/reject-codes';
import { GENERATED_BEGIN, GENERATED_END, protocolTables } from '../gateway/protocol/print-protocol-tables';
import { KIND_BYTES } from '../gateway/protocol/wire-kinds';
import {
  ClientTemplates, MESSAGE_HEADER_BYTES, RECORD_WORDS, SCHEMA_VERSION, SEQUENCE_BYTES, ServerTemplates,
  EVENT_FIELDS_NOT_ON_WIRE, SUPERVISOR_ONLY_COMMANDS, TemplateTable, WireField, WireTemplate,
} from '../gateway/protocol/wire-schema';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const ALL_TEMPLATES: readonly WireTemplate[] = [...ClientTemplates.templates, ...ServerTemplates.templates];
const ERROR_CODES = new Set(Object.keys(PROTOCOL_ERRORS));

// ---------------------------------------------------------------- arbitraries

const asciiText = fc.string({ unit: fc.integer({ min: 1, max: 127 }).map((c) => String.fromCharCode(c)), maxLength: 7 });

function safeInteger(min: number): fc.Arbitrary<number> {
  const edges = [min, MAX_SAFE, 0, 1, -1, -MAX_SAFE, 2 ** 32, -(2 ** 32), 2 ** 32 - 1].filter((v) => v >= min);
  return fc.oneof(fc.integer({ min, max: MAX_SAFE }), fc.constantFrom(...edges));
}

/** A value the decoder accepts for this field: kind range, narrowed by the field's rule. */
function fieldValue(field: WireField): fc.Arbitrary<number> {
  const rule = field.rule;
  if (rule !== null && rule.type === RuleType.Enum) {
    const allowed: number[] = [];
    for (let v = 0; v < 32; v++) if (((rule.mask >>> v) & 1) === 1) allowed.push(v);
    return fc.constantFrom(...allowed);
  }
  if (rule !== null && rule.type === RuleType.Bits) return fc.integer({ min: 0, max: 255 }).map((v) => v & rule.mask);
  const min = rule !== null && rule.type === RuleType.Min ? rule.min : 0;
  switch (field.kind) {
    case 'u8': return fc.integer({ min, max: 0xff });
    case 'u16': return fc.integer({ min, max: 0xffff });
    case 'u32': return fc.oneof(fc.integer({ min, max: 0xffffffff }), fc.constant(0xffffffff));
    case 'i64': return rule === null ? safeInteger(-MAX_SAFE) : safeInteger(min);
    case 'ascii7': return asciiText.map(packAscii7);
    default: throw new Error(`no value arbitrary for ${field.kind}`);
  }
}

interface MessageCase {
  template: WireTemplate;
  values: Record<string, number>;
  sequence: number;
  blob: Uint8Array;
}

function messageCase(template: WireTemplate): fc.Arbitrary<MessageCase> {
  const shape: Record<string, fc.Arbitrary<number>> = {};
  for (const field of template.fields) if (field.word >= 0) shape[field.name] = fieldValue(field);
  return fc.record({
    values: fc.record(shape),
    sequence: template.sequenced ? safeInteger(1) : fc.constant(0),
    blob: fc.uint8Array({ minLength: 64, maxLength: 64 }),
  }).map(({ values, sequence, blob }) => ({ template, values, sequence, blob }));
}

const anyClientMessage = fc.constantFrom(...ClientTemplates.templates).chain(messageCase);

// ---------------------------------------------------------------- helpers

interface Decoded {
  template: WireTemplate;
  sequence: number;
  record: Float64Array;
  blob: Uint8Array;
}

type Step = Decoded | ProtocolError;

/** Decodes a whole frame: the frame-level error, or every message/reject in order. */
function decodeAll(decoder: FrameDecoder, frame: Uint8Array, isBinary = true): ProtocolError | Step[] {
  const fatal = decoder.begin(frame, isBinary);
  if (fatal !== null) return fatal;
  const steps: Step[] = [];
  for (let step = decoder.next(); step !== DecodeStep.End; step = decoder.next()) {
    if (step === DecodeStep.Reject) steps.push(decoder.error!);
    else steps.push({ template: decoder.template!, sequence: decoder.sequence, record: decoder.record.slice(), blob: decoder.blob.slice() });
  }
  return steps;
}

function encodeFrame(messages: readonly MessageCase[], limits = {}): Uint8Array {
  const encoder = new FrameEncoder(new Uint8Array(1 << 16), limits);
  encoder.reset();
  for (const m of messages) assert.ok(encoder.append(m.template, toRecord(m.template, m.values), 0, m.sequence, m.blob), 'fits');
  return encoder.view().slice();
}

function only(steps: ProtocolError | Step[]): Step {
  assert.ok(Array.isArray(steps), `frame refused: ${(steps as ProtocolError).message}`);
  assert.equal(steps.length, 1);
  return steps[0];
}

function assertCode(result: ProtocolError | Step, code: ProtocolErrorCode): ProtocolError {
  assert.ok(isProtocolError(result), `expected ${code}, got a message`);
  assert.equal(result.code, code, result.message);
  assert.equal(result.reason, GatewayReject[code]);
  return result;
}

function assertRoundTrip(m: MessageCase, decoded: Step): void {
  assert.ok(!isProtocolError(decoded), `rejected: ${(decoded as ProtocolError).message}`);
  const d = decoded as Decoded;
  assert.equal(d.template, m.template);
  assert.equal(d.sequence, m.sequence);
  assert.deepEqual(Array.from(d.record), Array.from(toRecord(m.template, m.values)));
  if (m.template.fields.some((f) => f.kind === 'bytes64')) assert.deepEqual(d.blob, m.blob);
}

const serverDecoder = () => new FrameDecoder(ClientTemplates);
const clientDecoder = () => new FrameDecoder(ServerTemplates);
const decoderFor = (table: TemplateTable) => new FrameDecoder(table);

/** A single valid NewOrder frame, and its bytes for crafting bad ones. */
function newOrderValues(overrides: Record<string, number> = {}): Record<string, number> {
  return { account: 7, instrument: 1, clientOrderId: 42, side: Side.Buy, orderType: 1, timeInForce: 1, price: 10_000, quantity: 5, ...overrides };
}
const NEW_ORDER = ClientTemplates.byName.NewOrder;
function newOrderFrame(sequence = 1, overrides: Record<string, number> = {}): Uint8Array {
  return encodeFrame([{ template: NEW_ORDER, values: newOrderValues(overrides), sequence, blob: new Uint8Array(64) }]);
}
function fieldOffset(template: WireTemplate, name: string): number {
  const field = template.fields.find((f) => f.name === name);
  assert.ok(field, `${template.name}.${name}`);
  return field.offset;
}

// ---------------------------------------------------------------- tests

describe('wire schema derivation', () => {
  it('has one client template per core command (supervisor-only excepted), id = code, same fields and words', () => {
    for (const spec of Object.values(Commands) as MessageSpec[]) {
      const template = ClientTemplates.byCoreCode[spec.code];
      if (SUPERVISOR_ONLY_COMMANDS.includes(spec.name as never)) {
        assert.equal(template, undefined, spec.name);
        continue;
      }
      assert.ok(template, spec.name);
      assert.equal(template.id, spec.code);
      assert.equal(template.name, spec.name);
      assert.ok(template.sequenced);
      assert.deepEqual(template.fields.map((f) => [f.name, f.kind, f.word]), spec.fields.map((f) => [f.name, f.kind, f.word]));
    }
  });

  it('has one server template per core event, with eventSequence and timestamp from the event header', () => {
    for (const spec of Object.values(Events) as MessageSpec[]) {
      const template = ServerTemplates.byCoreCode[spec.code];
      assert.ok(template, spec.name);
      assert.equal(template.id, spec.code);
      assert.deepEqual(template.fields.slice(0, 2).map((f) => [f.name, f.word]), [['eventSequence', EventHeader.sequence], ['timestamp', EventHeader.timestamp]]);
      // Every event field, but those appended after schema version 1 (kept off the wire until the next).
      const onWire = spec.fields.filter((f) => !(EVENT_FIELDS_NOT_ON_WIRE[spec.name] ?? []).includes(f.name));
      assert.deepEqual(template.fields.slice(2).map((f) => [f.name, f.kind, f.word]), onWire.map((f) => [f.name, f.kind, f.word]));
    }
    assert.equal(ServerTemplates.byName.PositionChanged!.blockLength, 68, 'PositionChanged keeps its schema-1 size (AccountSummary carries reservedCash)');
  });

  it('lays fields out back to back after the header, widths from kinds, within 16 record words', () => {
    assert.equal(RECORD_WORDS, COMMAND_WORDS);
    assert.equal(RECORD_WORDS, EVENT_WORDS);
    for (const template of ALL_TEMPLATES) {
      let offset = MESSAGE_HEADER_BYTES + (template.sequenced ? SEQUENCE_BYTES : 0);
      for (const field of template.fields) {
        assert.equal(field.offset, offset, `${template.name}.${field.name}`);
        assert.equal(field.width, KIND_BYTES[field.kind]);
        assert.ok(field.word < RECORD_WORDS);
        offset += field.width;
      }
      assert.equal(template.blockLength, offset, template.name);
    }
  });

  it('applies value rules to client-to-server fields only', () => {
    assert.ok(ClientTemplates.byName.NewOrder.fields.find((f) => f.name === 'side')!.rule);
    assert.equal(ServerTemplates.byName.OrderAccepted.fields.find((f) => f.name === 'side')!.rule, null);
  });
});

describe('round trips (fast-check)', () => {
  for (const template of ALL_TEMPLATES) {
    it(`${template.direction} ${template.name} (${template.id}): encode then decode equals`, () => {
      const decoder = decoderFor(template.direction === 'client-to-server' ? ClientTemplates : ServerTemplates);
      fc.assert(fc.property(messageCase(template), (m) => assertRoundTrip(m, only(decodeAll(decoder, encodeFrame([m]))))), { numRuns: 60 });
    });
  }

  it('several messages per frame decode in order', () => {
    const decoder = serverDecoder();
    fc.assert(fc.property(fc.array(anyClientMessage, { minLength: 1, maxLength: 40 }), (messages) => {
      const steps = decodeAll(decoder, encodeFrame(messages));
      assert.ok(Array.isArray(steps));
      assert.equal(steps.length, messages.length);
      messages.forEach((m, i) => assertRoundTrip(m, steps[i]));
      assert.equal(decoder.messageCount, messages.length);
    }), { numRuns: 200 });
  });

  it('decodes a NewOrder into exactly the core command record (ring-ready)', () => {
    const decoded = only(decodeAll(serverDecoder(), newOrderFrame(9, { stopPrice: 0, expireTime: 123 }))) as Decoded;
    const core = encodeCommand('NewOrder', newOrderValues({ expireTime: 123 }));
    assert.deepEqual(Array.from(decoded.record), Array.from(core));
    assert.equal(decoded.sequence, 9);
  });

  it('encodes a core event record and the client decodes it into the same record (origin stays home)', () => {
    const event = new Float64Array(EVENT_WORDS);
    const T = Events.Trade.at;
    event[EventHeader.type] = Events.Trade.code;
    event[EventHeader.sequence] = 123_456;
    event[EventHeader.timestamp] = 1_700_000_000_000_000;
    event[EventHeader.origin] = 77;
    event[T.instrument] = 3; event[T.makerOrderId] = 11; event[T.takerOrderId] = 12; event[T.price] = 10_050;
    event[T.quantity] = 4; event[T.aggressorSide] = Side.Sell; event[T.makerAccount] = 1; event[T.takerAccount] = 2;
    event[T.makerLeaves] = 0; event[T.takerLeaves] = 6; event[T.makerFee] = -3; event[T.takerFee] = 5;
    const encoder = new FrameEncoder(new Uint8Array(4096));
    encoder.reset();
    assert.ok(encoder.appendEvent(event, 0, 5));
    const decoded = only(decodeAll(clientDecoder(), encoder.view())) as Decoded;
    assert.equal(decoded.template.name, 'Trade');
    assert.equal(decoded.sequence, 5);
    const expected = event.slice();
    expected[EventHeader.origin] = 0;
    assert.deepEqual(Array.from(decoded.record), Array.from(expected));
    assert.equal(decodeEvent(decoded.record).makerFee, -3);
  });

  it('carries symbols as readable NUL-padded ASCII', () => {
    const [head, tail] = packSymbol('BRK.B');
    const frame = encodeFrame([{ template: ClientTemplates.byName.AddInstrument, values: { instrument: 1, symbolHead: head, symbolTail: tail, tickSize: 1, lotSize: 1 }, sequence: 1, blob: new Uint8Array(64) }]);
    const at = fieldOffset(ClientTemplates.byName.AddInstrument, 'symbolHead');
    assert.equal(Buffer.from(frame.subarray(at, at + 8)).toString('latin1'), 'BRK.B\0\0\0');
  });

  it('object helpers mirror records', () => {
    const record = recordOf(ClientTemplates, 'CancelOrder', { account: 3, orderId: 99 });
    assert.deepEqual(fromRecord(ClientTemplates.byName.CancelOrder, record), { account: 3, orderId: 99 });
    assert.throws(() => recordOf(ClientTemplates, 'CancelOrder', { nope: 1 }), /no field "nope"/);
  });
});

describe('decoding arbitrary bytes', () => {
  const checkNeverThrows = (decoder: FrameDecoder, bytes: Uint8Array, isBinary = true) => {
    const result = decodeAll(decoder, bytes, isBinary);
    const errors = Array.isArray(result) ? result.filter(isProtocolError) : [result];
    for (const error of errors) {
      assert.ok(ERROR_CODES.has(error.code), error.code);
      assert.notEqual(error.disposition, 'throw');
      if (error.disposition === 'close') assert.ok(error.closeCode >= 1000, error.code);
    }
  };

  it('never throws on random bytes, and every error comes from the factory', () => {
    const server = serverDecoder();
    const client = clientDecoder();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), (bytes, isBinary) => {
      checkNeverThrows(server, bytes, isBinary);
      checkNeverThrows(client, bytes, isBinary);
    }), { numRuns: 3000 });
  });

  it('never throws on near-valid frames (plausible headers, random bodies)', () => {
    const ids = [...ClientTemplates.templates.map((t) => t.id), 0, 99, 200, 255];
    const message = fc.record({
      id: fc.constantFrom(...ids),
      delta: fc.constantFrom(0, 0, 0, -1, 1, -8, 3),
      version: fc.constantFrom(SCHEMA_VERSION, SCHEMA_VERSION, SCHEMA_VERSION, 0, 2),
      seed: fc.uint8Array({ minLength: 128, maxLength: 128 }),
    });
    const decoder = serverDecoder();
    fc.assert(fc.property(fc.array(message, { minLength: 1, maxLength: 6 }), (messages) => {
      const parts: number[] = [];
      for (const m of messages) {
        const template = ClientTemplates.byId[m.id];
        const length = Math.max(0, (template?.blockLength ?? 20) + m.delta);
        const bytes = Array.from(m.seed.subarray(0, Math.max(length, 4)));
        bytes[0] = length & 0xff; bytes[1] = length >>> 8; bytes[2] = m.id; bytes[3] = m.version;
        parts.push(...bytes.slice(0, Math.max(length, 4)));
      }
      checkNeverThrows(decoder, Uint8Array.from(parts));
    }), { numRuns: 3000 });
  });

  it('never throws on valid frames with random byte flips', () => {
    const decoder = serverDecoder();
    fc.assert(fc.property(fc.array(anyClientMessage, { minLength: 1, maxLength: 5 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), (messages, flips) => {
      const frame = encodeFrame(messages);
      for (const [at, value] of flips) frame[at % frame.length] = value;
      checkNeverThrows(decoder, frame);
    }), { numRuns: 2000 });
  });
});

describe('every error code, from a crafted frame', () => {
  const decode = (frame: Uint8Array, options = {}, isBinary = true) => decodeAll(new FrameDecoder(ClientTemplates, options), frame, isBinary);
  const fatal = (frame: Uint8Array, code: ProtocolErrorCode, options = {}, isBinary = true) => {
    const result = decode(frame, options, isBinary);
    assert.ok(!Array.isArray(result), `expected ${code}, frame was accepted`);
    const error = assertCode(result, code);
    assert.equal(error.disposition, 'close');
    return error;
  };
  const rejected = (frame: Uint8Array, code: ProtocolErrorCode) => {
    const error = assertCode(only(decode(frame)), code);
    assert.equal(error.disposition, 'reject');
    return error;
  };

  it('PROTO_TEXT_FRAME closes with 1003', () => {
    assert.equal(fatal(newOrderFrame(), 'PROTO_TEXT_FRAME', {}, false).closeCode, 1003);
  });

  it('PROTO_OVERSIZED_FRAME closes with 1009', () => {
    const messages = Array.from({ length: 40 }, (_, i) => ({ template: NEW_ORDER, values: newOrderValues(), sequence: i + 1, blob: new Uint8Array(64) }));
    const frame = encodeFrame(messages);
    assert.equal(fatal(frame, 'PROTO_OVERSIZED_FRAME', { maxFrameBytes: frame.length - 1 }).closeCode, 1009);
    assert.ok(Array.isArray(decode(frame, { maxFrameBytes: frame.length })));
  });

  it('PROTO_TOO_MANY_MESSAGES closes with 4005', () => {
    const messages = Array.from({ length: 5 }, (_, i) => ({ template: NEW_ORDER, values: newOrderValues(), sequence: i + 1, blob: new Uint8Array(64) }));
    assert.equal(fatal(encodeFrame(messages), 'PROTO_TOO_MANY_MESSAGES', { maxMessagesPerFrame: 4 }).closeCode, 4005);
    assert.equal((decode(encodeFrame(messages), { maxMessagesPerFrame: 5 }) as Step[]).length, 5);
  });

  it('PROTO_SHORT_FRAME: empty frame, partial header, length past the end (close 4000)', () => {
    assert.equal(fatal(new Uint8Array(0), 'PROTO_SHORT_FRAME').closeCode, 4000);
    const frame = newOrderFrame();
    fatal(Uint8Array.from([...frame, 0x0c, 0x00]), 'PROTO_SHORT_FRAME');
    fatal(frame.subarray(0, frame.length - 1), 'PROTO_SHORT_FRAME');
  });

  it('PROTO_BAD_LENGTH: a length below the 4-byte header (close 4000)', () => {
    assert.equal(fatal(Uint8Array.from([3, 0, NEW_ORDER.id, SCHEMA_VERSION, 0, 0]), 'PROTO_BAD_LENGTH').closeCode, 4000);
  });

  it('PROTO_BAD_VERSION closes with 4001', () => {
    const frame = newOrderFrame();
    frame[3] = SCHEMA_VERSION + 1;
    assert.equal(fatal(frame, 'PROTO_BAD_VERSION').closeCode, 4001);
  });

  it('frame-level errors refuse the whole frame: nothing before the bad message is delivered', () => {
    const good = newOrderFrame(1);
    fatal(Uint8Array.from([...good, ...good.subarray(0, 10)]), 'PROTO_SHORT_FRAME');
  });

  it('PROTO_UNKNOWN_TEMPLATE rejects the message and decoding continues', () => {
    const unknown = Uint8Array.from([6, 0, 250, SCHEMA_VERSION, 0, 0]);
    const steps = decode(Uint8Array.from([...unknown, ...newOrderFrame(2)])) as Step[];
    assertCode(steps[0], 'PROTO_UNKNOWN_TEMPLATE');
    assert.equal((steps[1] as Decoded).sequence, 2);
    // a server template id sent to the server is unknown there
    const trade = Uint8Array.from([6, 0, ServerTemplates.byName.LogonAck.id, SCHEMA_VERSION, 0, 0]);
    assertCode(only(decode(trade)), 'PROTO_UNKNOWN_TEMPLATE');
  });

  it('PROTO_SHORT_MESSAGE and PROTO_LONG_MESSAGE reject with the refused sequence', () => {
    const frame = newOrderFrame(17);
    const short = frame.slice(0, frame.length - 1);
    short[0] = short.length;
    assert.equal(rejected(short, 'PROTO_SHORT_MESSAGE').sequence, 17);
    const long = Uint8Array.from([...frame, 0]);
    long[0] = long.length;
    const error = rejected(long, 'PROTO_LONG_MESSAGE');
    assert.equal(error.sequence, 17);
    assert.equal(error.templateId, NEW_ORDER.id);
  });

  it('PROTO_BAD_ENUM: side, order type, time in force, STP, flags, mass-cancel side', () => {
    for (const [field, value] of [['side', 0], ['side', 3], ['orderType', 5], ['timeInForce', 0], ['selfTradePrevention', 5], ['flags', 2]] as const) {
      const frame = newOrderFrame(3);
      frame[fieldOffset(NEW_ORDER, field)] = value;
      const error = rejected(frame, 'PROTO_BAD_ENUM');
      assert.match(error.message, new RegExp(`NewOrder\\.${field}`));
      assert.equal(error.sequence, 3);
    }
    const massCancel = ClientTemplates.byName.MassCancel;
    const ok = encodeFrame([{ template: massCancel, values: { account: 1, instrument: 0, side: 0 }, sequence: 1, blob: new Uint8Array(64) }]);
    assert.ok(!isProtocolError(only(decode(ok))));
    ok[fieldOffset(massCancel, 'side')] = 3;
    rejected(ok, 'PROTO_BAD_ENUM');
  });

  it('PROTO_OUT_OF_RANGE: i64 beyond safe, non-positive quantity, sequence 0, bad ascii7', () => {
    const frame = newOrderFrame();
    frame[fieldOffset(NEW_ORDER, 'price') + 7] = 0x7f; // 2^62-ish
    rejected(frame, 'PROTO_OUT_OF_RANGE');
    rejected(newOrderFrame(1, { quantity: 0 }), 'PROTO_OUT_OF_RANGE');
    rejected(newOrderFrame(1, { price: -1 }), 'PROTO_OUT_OF_RANGE');
    const seqZero = newOrderFrame(1);
    seqZero[4] = 0;
    rejected(seqZero, 'PROTO_OUT_OF_RANGE');
    const add = ClientTemplates.byName.AddInstrument;
    const [head] = packSymbol('AB');
    const ascii = encodeFrame([{ template: add, values: { instrument: 1, symbolHead: head }, sequence: 1, blob: new Uint8Array(64) }]);
    ascii[fieldOffset(add, 'symbolHead') + 3] = 0x41; // a character after the NUL padding
    rejected(ascii, 'PROTO_OUT_OF_RANGE');
    ascii[fieldOffset(add, 'symbolHead') + 3] = 0;
    ascii[fieldOffset(add, 'symbolHead') + 1] = 0x80; // not 7-bit
    rejected(ascii, 'PROTO_OUT_OF_RANGE');
  });

  it('i64 edges: ±(2^53 - 1) pass, -2^53 and 2^53 are refused', () => {
    const fees = ClientTemplates.byName.SetFeeSchedule;
    for (const value of [MAX_SAFE, -MAX_SAFE, -1, 0]) {
      const m = { template: fees, values: { makerFeeBasisPoints: value, takerFeeBasisPoints: value === 0 ? 0 : -value, feeAccount: 1 }, sequence: MAX_SAFE, blob: new Uint8Array(64) };
      assertRoundTrip(m, only(decode(encodeFrame([m]))));
    }
    const frame = encodeFrame([{ template: fees, values: { makerFeeBasisPoints: -MAX_SAFE, feeAccount: 1 }, sequence: 1, blob: new Uint8Array(64) }]);
    const at = fieldOffset(fees, 'makerFeeBasisPoints');
    frame[at] = 0; // -(2^53 - 1) - 1 = -2^53: low word 0, high word -2^21
    rejected(frame, 'PROTO_OUT_OF_RANGE');
    Buffer.from(frame.buffer, frame.byteOffset).writeBigInt64LE(2n ** 53n, at);
    rejected(frame, 'PROTO_OUT_OF_RANGE');
  });

  it('PROTO_ENCODE_INVALID: the encoder refuses values its kinds cannot carry, leaving the frame intact', () => {
    const encoder = new FrameEncoder(new Uint8Array(4096));
    encoder.reset();
    assert.ok(encoder.append(NEW_ORDER, toRecord(NEW_ORDER, newOrderValues()), 0, 1));
    const before = encoder.view().slice();
    const bad: [Record<string, number>, number][] = [
      [newOrderValues({ side: 256 }), 2], [newOrderValues({ account: 2 ** 32 }), 2], [newOrderValues({ price: 2 ** 53 }), 2],
      [newOrderValues({ price: 1.5 }), 2], [newOrderValues({ quantity: NaN }), 2], [newOrderValues(), 0], [newOrderValues(), 2 ** 53],
    ];
    for (const [values, sequence] of bad) {
      assert.throws(() => encoder.append(NEW_ORDER, toRecord(NEW_ORDER, values), 0, sequence), (e: unknown) => isProtocolError(e) && e.code === 'PROTO_ENCODE_INVALID' && e.disposition === 'throw');
    }
    const add = ClientTemplates.byName.AddInstrument;
    assert.throws(() => encoder.append(add, toRecord(add, { symbolHead: 65 }), 0, 1), /PROTO_ENCODE_INVALID/); // "\0\0\0\0\0\0A": char after padding
    assert.throws(() => encoder.appendEvent(new Float64Array(16), 0, 1), /PROTO_ENCODE_INVALID/);
    assert.deepEqual(encoder.view(), before);
    assert.equal(encoder.messageCount, 1);
  });

  it('every code in the table has a test above or in test/session.test.ts', () => {
    const here = ['PROTO_TEXT_FRAME', 'PROTO_OVERSIZED_FRAME', 'PROTO_TOO_MANY_MESSAGES', 'PROTO_SHORT_FRAME', 'PROTO_BAD_LENGTH', 'PROTO_BAD_VERSION',
      'PROTO_UNKNOWN_TEMPLATE', 'PROTO_SHORT_MESSAGE', 'PROTO_LONG_MESSAGE', 'PROTO_BAD_ENUM', 'PROTO_OUT_OF_RANGE', 'PROTO_ENCODE_INVALID'];
    for (const code of here) assert.ok(ERROR_CODES.has(code), code);
    assert.ok([...ERROR_CODES].filter((c) => c.startsWith('PROTO_')).every((c) => here.includes(c)));
  });
});

describe('limits', () => {
  it('validates options with precise messages', () => {
    assert.deepEqual(validateFrameLimits(), DEFAULT_FRAME_LIMITS);
    assert.throws(() => validateFrameLimits({ maxFrameBytes: FRAME_BYTES_FLOOR - 1 }), /maxFrameBytes must be an integer in/);
    assert.throws(() => validateFrameLimits({ maxMessagesPerFrame: 0 }), /maxMessagesPerFrame must be an integer in 1\.\./);
    assert.throws(() => new FrameDecoder(ClientTemplates, { maxMessagesPerFrame: 1.5 }), /maxMessagesPerFrame/);
    assert.throws(() => new FrameEncoder(new Uint8Array(8)), /at least/);
  });

  it('the encoder stops at maxMessagesPerFrame and maxFrameBytes (append returns false, frame unchanged)', () => {
    const record = toRecord(NEW_ORDER, newOrderValues());
    const byCount = new FrameEncoder(new Uint8Array(4096), { maxMessagesPerFrame: 3 });
    byCount.reset();
    for (let i = 1; i <= 3; i++) assert.ok(byCount.append(NEW_ORDER, record, 0, i));
    assert.equal(byCount.append(NEW_ORDER, record, 0, 4), false);
    assert.equal(byCount.length, 3 * NEW_ORDER.blockLength);
    byCount.reset();
    assert.ok(byCount.append(NEW_ORDER, record, 0, 4));

    const bySize = new FrameEncoder(new Uint8Array(4096), { maxFrameBytes: Math.max(FRAME_BYTES_FLOOR, 2 * NEW_ORDER.blockLength + 10) });
    bySize.reset();
    let appended = 0;
    while (bySize.append(NEW_ORDER, record, 0, appended + 1)) appended++;
    assert.equal(appended, Math.floor(bySize.limits.maxFrameBytes / NEW_ORDER.blockLength));
    assert.ok(bySize.length <= bySize.limits.maxFrameBytes);
  });

  it('the decoder reuses its record: no state leaks from one message to the next', () => {
    const decoder = serverDecoder();
    decodeAll(decoder, newOrderFrame(1, { expireTime: 999 }));
    const cancel = encodeFrame([{ template: ClientTemplates.byName.CancelOrder, values: { account: 7, orderId: 5 }, sequence: 2, blob: new Uint8Array(64) }]);
    const decoded = only(decodeAll(decoder, cancel)) as Decoded;
    assert.deepEqual(Array.from(decoded.record), Array.from(encodeCommand('CancelOrder', { account: 7, orderId: 5 })));
  });
});

describe('steady state and docs', () => {
  it('encoding and decoding allocate nothing per message (8M of each with values beyond 2^31: at most a stray GC)', async () => {
    let collections = 0;
    const observer = new PerformanceObserver((list) => { collections += list.getEntries().length; });
    observer.observe({ entryTypes: ['gc'] });
    const encoder = new FrameEncoder(new Uint8Array(16_384));
    const decoder = serverDecoder();
    const record = toRecord(NEW_ORDER, newOrderValues({ price: 2 ** 40 + 7, quantity: 2 ** 33, expireTime: 1_700_000_000_000_000 }));
    const event = toRecord(ServerTemplates.byName.Trade, { eventSequence: 2 ** 45, timestamp: 1_700_000_000_000_000, price: 2 ** 36, makerFee: -(2 ** 35) });
    encoder.reset();
    for (let j = 0; j < 16; j++) encoder.appendCommand(record, 0, 2 ** 40 + j);
    const frame = encoder.view().slice();
    let checksum = 0;
    const run = (frames: number) => {
      for (let i = 0; i < frames; i++) {
        encoder.reset();
        for (let j = 0; j < 16; j++) encoder.appendEvent(event, 0, i + 1); // a Smi, as session sequences are for the first 2^30 messages
        decoder.begin(frame);
        while (decoder.next() === DecodeStep.Message) checksum += decoder.record[3];
      }
    };
    run(20_000); // warm up: let the JIT settle
    await new Promise((resolve) => setTimeout(resolve, 20));
    collections = 0;
    // 8M messages each way. Even the smallest allocation per message (a 16-byte heap number)
    // would put 256 MB through a new space of at most 16 MB semispaces: 16+ scavenges. The test
    // runner and timers may add one or two of their own, so the bound sits well between the two.
    run(500_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    observer.disconnect();
    assert.ok(checksum > 0);
    assert.ok(collections <= 4, `${collections} garbage collections during steady-state coding`);
  });

  it('docs/protocol.md carries the current generated tables', () => {
    const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'protocol.md'), 'utf8');
    const begin = doc.indexOf(GENERATED_BEGIN);
    const end = doc.indexOf(GENERATED_END);
    assert.ok(begin >= 0 && end > begin, 'generated markers present');
    assert.equal(doc.slice(begin, end + GENERATED_END.length), protocolTables(), 'regenerate: node dist/gateway/protocol/print-protocol-tables.js');
  });
});
