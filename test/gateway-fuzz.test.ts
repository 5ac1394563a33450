/**
 * Fuzzing a LIVE gateway: at least 100,000 malformed frames over several raw
 * WebSocket connections, some never logged on and some logged on with real keys, while
 * a well-behaved session (key 4) keeps placing and canceling orders.
 *
 * Frames come from fast-check recipes (sampled with a fixed seed; FUZZ_SEED overrides)
 * whose bytes are filled in by a seeded PRNG: random bytes, truncated headers, wrong
 * lengths, bad schema versions, unknown templates, bad enums, out-of-range numbers,
 * text frames, oversized frames, too many messages, valid headers with garbage bodies,
 * pre-logon messages, logons with bad signatures, and on logged-on connections
 * duplicate logons, foreign accounts, missing permissions, unservable replays,
 * retransmissions, heartbeats and test requests.
 *
 * The expected outcome of every frame comes from a model: the pure FrameDecoder for the
 * decoding layer (the recipes also say which error they meant to cause, so the decoder
 * is checked against the documented codes as well) plus the documented session rules
 * (docs/protocol.md) for what the gateway does with a decoded message. Frames are
 * pipelined; each connection matches the server's answers to its frames in order.
 * Every frame must be answered as predicted (a Reject with the predicted reason and
 * refSeq, a LogonReject, a Heartbeat, a ReplayComplete) or end the connection with the
 * predicted documented close code (and the error code as close reason). Closed
 * connections reconnect. The only unpredicted close allowed is the logon timeout
 * (4003 after 5 s without a logon).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import WebSocket from 'ws';
import { startTestExchange, TestExchange } from './helpers/test-exchange';
import { ExchangeClient, ServerMessage } from '../gateway/client/exchange-client';
import { DecodeStep, FrameDecoder } from '../gateway/protocol/decoder';
import { FrameEncoder } from '../gateway/protocol/encoder';
import { ClientTemplates, SCHEMA_VERSION, ServerTemplates, WireField, WireTemplate } from '../gateway/protocol/wire-schema';
import { DEFAULT_FRAME_LIMITS } from '../gateway/protocol/frame-limits';
import { CloseCode } from '../gateway/protocol/close-codes';
import { GatewayReject } from '../gateway/protocol/reject-codes';
import { ProtocolErrorCode, PROTOCOL_ERRORS } from '../gateway/protocol/errors';
import { ruleViolation } from '../gateway/protocol/field-rules';
import { fromRecord, toRecord } from '../gateway/protocol/messages';
import { authorize, permissionMask, Principal } from '../gateway/session/permissions';
import { signLogonHmac } from '../gateway/session/auth';
import { nameOf, OrderType, Side, TimeInForce, CancelReason } from '../core/codes';

const SEED = Number(process.env.FUZZ_SEED ?? 20_251_126);
const TARGET_FRAMES = Number(process.env.FUZZ_FRAMES ?? 100_000);
/**
 * Bound on the fuzzing phase, which ends as soon as TARGET_FRAMES are verified (~20-35 s on an
 * idle 2-core machine). It bounds the suite's time, not the gateway's speed (that is a
 * benchmark's job): generous, so a machine shared with other work does not fail the test.
 */
const MAX_FUZZ_MS = Number(process.env.FUZZ_MAX_MS ?? 120_000);
/** Unanswered frames in flight per connection. */
const WINDOW = 64;
/** Connections that never log on, per gateway port (plus one logged-on connection each for keys 2, 3 and 5). */
const ANON_PER_PORT = 4;
const MAX_FRAME = DEFAULT_FRAME_LIMITS.maxFrameBytes;
const MAX_MESSAGES = DEFAULT_FRAME_LIMITS.maxMessagesPerFrame;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const DOCUMENTED_CLOSE_CODES = new Set<number>(Object.values(CloseCode));
const LOGON_TIMEOUT_MS = 5000;
const UNKNOWN_IDS = Array.from({ length: 256 }, (_, id) => id).filter((id) => ClientTemplates.byId[id] === undefined);
const T = ClientTemplates.byName;
const reason = (code: ProtocolErrorCode) => PROTOCOL_ERRORS[code].reason;

// ------------------------------------------------------------------ seeded bytes

/** xorshift32: the byte filler behind every recipe (recipes carry the seed). */
class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed | 0) === 0 ? 0x9e3779b9 : seed | 0;
  }
  u32(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x;
    return x >>> 0;
  }
  int(n: number): number {
    return this.u32() % n;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

// ------------------------------------------------------------------ message building

type FieldValue = bigint | Uint8Array;

/** Valid values of the u8/u16 fields that carry a rule (enum, bits), and invalid ones. */
const VALID_SMALL = new Map<WireField, number[]>();
const INVALID_SMALL = new Map<WireField, number[]>();
for (const t of ClientTemplates.templates) {
  for (const f of t.fields) {
    if (f.rule === null || (f.kind !== 'u8' && f.kind !== 'u16')) continue;
    const good: number[] = [];
    const bad: number[] = [];
    for (let v = 0; v < 256; v++) (ruleViolation(f.rule, v) === 0 ? good : bad).push(v);
    if (f.kind === 'u16') bad.push(256, 1000, 4095, 32768, 65535);
    VALID_SMALL.set(f, good);
    INVALID_SMALL.set(f, bad);
  }
}

function ascii7(r: Prng): Uint8Array {
  const bytes = new Uint8Array(8);
  const n = r.int(8);
  for (let i = 0; i < n; i++) bytes[i] = 48 + r.int(43); // '0'..'Z'
  return bytes;
}

/** A value its field's kind and rule accept. */
function validValue(f: WireField, r: Prng): FieldValue {
  const min = f.rule?.min ?? 0;
  switch (f.kind) {
    case 'u8':
    case 'u16': {
      const good = VALID_SMALL.get(f);
      if (good !== undefined) return BigInt(r.pick(good));
      return BigInt(r.int(f.kind === 'u8' ? 256 : 65536));
    }
    case 'u32':
      return BigInt(Math.max(min, r.int(4) === 0 ? r.int(10) : r.u32()));
    case 'i64': {
      const magnitude = r.int(3) === 0 ? r.int(100) : r.int(4) === 0 ? r.u32() * 2 ** 21 + r.int(2 ** 21) : r.u32();
      const value = f.rule !== null ? Math.max(min, magnitude) : (r.int(2) === 0 ? -magnitude : magnitude);
      return BigInt(Math.min(MAX_SAFE, value));
    }
    case 'ascii7':
      return ascii7(r);
    default:
      return r.bytes(64);
  }
}

function writeField(b: Buffer, f: WireField, value: FieldValue): void {
  if (value instanceof Uint8Array) {
    b.set(value.subarray(0, f.width), f.offset);
    return;
  }
  switch (f.kind) {
    case 'u8': b[f.offset] = Number(BigInt.asUintN(8, value)); break;
    case 'u16': b.writeUInt16LE(Number(BigInt.asUintN(16, value)), f.offset); break;
    case 'u32': b.writeUInt32LE(Number(BigInt.asUintN(32, value)), f.offset); break;
    default: b.writeBigInt64LE(BigInt.asIntN(64, value), f.offset);
  }
}

interface Draft {
  template: WireTemplate;
  sequence: bigint;
  values: FieldValue[];
}

function validDraft(t: WireTemplate, r: Prng, sequence?: number): Draft {
  return { template: t, sequence: BigInt(sequence ?? 1 + r.int(1_000_000)), values: t.fields.map((f) => validValue(f, r)) };
}

function render(d: Draft): Buffer {
  const t = d.template;
  const b = Buffer.alloc(t.blockLength);
  b.writeUInt16LE(t.blockLength, 0);
  b[2] = t.id;
  b[3] = SCHEMA_VERSION;
  if (t.sequenced) b.writeBigInt64LE(BigInt.asIntN(64, d.sequence), 4);
  t.fields.forEach((f, i) => writeField(b, f, d.values[i]));
  return b;
}

function setField(d: Draft, name: string, value: number | bigint): Draft {
  const i = d.template.fields.findIndex((f) => f.name === name);
  assert.ok(i >= 0, `${d.template.name}.${name}`);
  d.values[i] = BigInt(value);
  return d;
}

/** Bytes of one message and the reject reason it is meant to cause (0: none, it decodes; null: unknown). */
interface Part {
  bytes: Buffer;
  intended: number | null;
}

const TEMPLATES_WITH_RULES = ClientTemplates.templates.filter((t) => t.fields.some((f) => INVALID_SMALL.has(f)));
const TEMPLATES_WITH_RANGES = ClientTemplates.templates.filter((t) => t.sequenced || t.fields.some((f) => f.kind === 'i64' || f.kind === 'ascii7' || f.rule !== null));
const NON_LOGON = ClientTemplates.templates.filter((t) => t.name !== 'Logon');
const MISMATCH_TEMPLATES = ['NewOrder', 'CancelOrder', 'ReplaceOrder', 'MassCancel', 'OrderStatusRequest', 'AccountSummaryRequest', 'PositionsRequest'].map((n) => T[n]);
const FORBIDDEN_TEMPLATES = ClientTemplates.templates.filter((t) => t.source === 'command' && !['NewOrder', 'CancelOrder', 'ReplaceOrder', 'MassCancel'].includes(t.name));

/** A per-connection context for recipes that need the session (fresh client sequences, own account). */
interface BuildContext {
  account: number;
  freshSequence(): number;
}

type MessageKind =
  | 'unknown' | 'short' | 'long' | 'badEnum' | 'range' | 'garbage' | 'valid' | 'logon'
  | 'dupLogon' | 'mismatch' | 'notPermitted' | 'replayBeyond' | 'replayAll' | 'deadManBad' | 'heartbeat' | 'testRequest'
  | 'retransmit' | 'badInstrument';

interface MessageRecipe {
  m: MessageKind;
  pick: number;
  seed: number;
}

function buildMessage(recipe: MessageRecipe, ctx: BuildContext): Part {
  const r = new Prng(recipe.seed);
  const pickOf = <T>(items: readonly T[]) => items[recipe.pick % items.length];
  switch (recipe.m) {
    case 'unknown': {
      const length = 4 + r.int(60);
      const b = Buffer.concat([Buffer.from([length & 0xff, length >> 8, pickOf(UNKNOWN_IDS), SCHEMA_VERSION]), r.bytes(length - 4)]);
      return { bytes: b, intended: reason('PROTO_UNKNOWN_TEMPLATE') };
    }
    case 'short': {
      const t = pickOf(ClientTemplates.templates);
      const full = render(validDraft(t, r));
      const length = 4 + r.int(t.blockLength - 4);
      const b = Buffer.from(full.subarray(0, length));
      b.writeUInt16LE(length, 0);
      return { bytes: b, intended: reason('PROTO_SHORT_MESSAGE') };
    }
    case 'long': {
      const t = pickOf(ClientTemplates.templates);
      const b = Buffer.concat([render(validDraft(t, r)), r.bytes(1 + r.int(40))]);
      b.writeUInt16LE(b.length, 0);
      return { bytes: b, intended: reason('PROTO_LONG_MESSAGE') };
    }
    case 'badEnum': {
      const t = pickOf(TEMPLATES_WITH_RULES);
      const d = validDraft(t, r);
      const fields = t.fields.filter((f) => INVALID_SMALL.has(f));
      const f = r.pick(fields);
      d.values[t.fields.indexOf(f)] = BigInt(r.pick(INVALID_SMALL.get(f)!));
      return { bytes: render(d), intended: reason('PROTO_BAD_ENUM') };
    }
    case 'range': {
      const t = pickOf(TEMPLATES_WITH_RANGES);
      const d = validDraft(t, r);
      const targets: Array<() => void> = [];
      if (t.sequenced) {
        targets.push(() => { d.sequence = r.pick([0n, -1n, -BigInt(r.u32()), 2n ** 53n, 2n ** 53n + BigInt(r.u32()), 2n ** 63n - 1n, -(2n ** 63n)]); });
      }
      t.fields.forEach((f, i) => {
        if (f.kind === 'i64') targets.push(() => { d.values[i] = (r.int(2) === 0 ? 1n : -1n) * (2n ** 53n + BigInt(r.u32()) * BigInt(r.int(1 << 20) + 1)); });
        if (f.kind === 'i64' && f.rule !== null) targets.push(() => { d.values[i] = BigInt(f.rule!.min - 1 - r.int(1000)); });
        if (f.kind === 'u32' && f.rule !== null && f.rule.min > 0) targets.push(() => { d.values[i] = 0n; });
        if (f.kind === 'ascii7') {
          targets.push(() => {
            const bytes = ascii7(r);
            const variant = r.int(3);
            if (variant === 0) bytes[7] = 1 + r.int(255);
            else if (variant === 1) bytes[r.int(7)] = 128 + r.int(128);
            else { bytes[0] = 0; bytes[1 + r.int(6)] = 65; }
            d.values[i] = bytes;
          });
        }
      });
      if (targets.length === 0) return { bytes: render(d), intended: 0 };
      r.pick(targets)();
      return { bytes: render(d), intended: reason('PROTO_OUT_OF_RANGE') };
    }
    case 'garbage': {
      const t = pickOf(ClientTemplates.templates);
      const b = Buffer.concat([Buffer.from([t.blockLength & 0xff, t.blockLength >> 8, t.id, SCHEMA_VERSION]), r.bytes(t.blockLength - 4)]);
      return { bytes: b, intended: null };
    }
    case 'valid': {
      const t = pickOf(NON_LOGON);
      return { bytes: render(validDraft(t, r)), intended: 0 };
    }
    case 'logon':
    case 'dupLogon': {
      const d = validDraft(T.Logon, r);
      if (recipe.m === 'logon' && r.int(2) === 0) setField(d, 'keyId', 1 + r.int(10)); // real key ids: wrong port or bad signature
      setField(d, 'timestampMicros', Date.now() * 1000);
      setField(d, 'heartbeatIntervalMs', 0);
      setField(d, 'cancelOnDisconnect', 0);
      return { bytes: render(d), intended: 0 };
    }
    case 'mismatch': {
      const d = validDraft(pickOf(MISMATCH_TEMPLATES), r, ctx.freshSequence());
      setField(d, 'account', ctx.account + 1 + r.int(1000));
      return { bytes: render(d), intended: 0 };
    }
    case 'notPermitted':
      return { bytes: render(validDraft(pickOf(FORBIDDEN_TEMPLATES), r, ctx.freshSequence())), intended: 0 };
    case 'replayBeyond': {
      const d = validDraft(T.ReplayRequest, r);
      setField(d, 'fromSequence', 2 ** 40 + r.u32());
      setField(d, 'toSequence', r.int(2) === 0 ? 0 : 2 ** 41);
      return { bytes: render(d), intended: 0 };
    }
    case 'replayAll': {
      const d = validDraft(T.ReplayRequest, r);
      setField(d, 'fromSequence', 1 + r.int(50));
      setField(d, 'toSequence', r.int(2) === 0 ? 0 : r.int(100));
      return { bytes: render(d), intended: 0 };
    }
    case 'deadManBad': {
      const d = validDraft(T.DeadManSwitch, r, ctx.freshSequence());
      setField(d, 'timeoutMs', r.int(2) === 0 ? 1 + r.int(99) : 600_001 + r.int(2 ** 30));
      return { bytes: render(d), intended: 0 };
    }
    case 'heartbeat':
      return { bytes: render(setField(validDraft(T.Heartbeat, r), 'testRequestId', r.int(1000))), intended: 0 };
    case 'testRequest':
      return { bytes: render(setField(validDraft(T.TestRequest, r), 'testRequestId', 1 + r.int(2 ** 31))), intended: 0 };
    case 'retransmit': {
      const d = validDraft(pickOf(MISMATCH_TEMPLATES), r, 1 + r.int(3));
      setField(d, 'account', ctx.account + 1);
      return { bytes: render(d), intended: 0 };
    }
    case 'badInstrument': {
      const d = validDraft(T.NewOrder, r, ctx.freshSequence());
      setField(d, 'account', ctx.account);
      setField(d, 'instrument', 999);
      setField(d, 'clientOrderId', 1 + r.int(2 ** 31));
      return { bytes: render(d), intended: 0 };
    }
  }
}

// ------------------------------------------------------------------ frame recipes (fast-check)

type FrameRecipe =
  | { k: 'messages'; msgs: MessageRecipe[] }
  | { k: 'random'; length: number; seed: number }
  | { k: 'text'; text: string }
  | { k: 'empty' }
  | { k: 'oversized'; extra: number; seed: number }
  | { k: 'truncatedHeader'; prefix: MessageRecipe[]; n: number; seed: number }
  | { k: 'lengthTooSmall'; prefix: MessageRecipe[]; length: number; seed: number }
  | { k: 'lengthPastEnd'; prefix: MessageRecipe[]; msg: MessageRecipe; cut: number }
  | { k: 'badVersion'; prefix: MessageRecipe[]; msg: MessageRecipe; version: number }
  | { k: 'tooMany'; count: number; seed: number };

interface FrameSpec {
  category: string;
  data: Buffer | string;
  /** The frame-level error the recipe means to cause ('WS_1009': refused by ws itself). */
  intendedClose: ProtocolErrorCode | 'WS_1009' | null;
  parts: Part[] | null;
}

const messageRecipe = (kinds: Array<[MessageKind, number]>): fc.Arbitrary<MessageRecipe> =>
  fc.oneof(...kinds.map(([m, weight]) => ({ weight: Math.round(weight * 100), arbitrary: fc.record({ m: fc.constant(m), pick: fc.nat(), seed: fc.integer() }) })));

const REJECTING: Array<[MessageKind, number]> = [['unknown', 4], ['short', 4], ['long', 4], ['badEnum', 5], ['range', 6], ['garbage', 3]];
const SESSION_CRAFTED: Array<[MessageKind, number]> = [
  ['dupLogon', 2], ['mismatch', 5], ['notPermitted', 4], ['replayBeyond', 1], ['deadManBad', 1], ['heartbeat', 1], ['testRequest', 2],
  ['retransmit', 1], ['badInstrument', 0.3], ['replayAll', 0.05],
];

function frameRecipe(loggedOn: boolean): fc.Arbitrary<FrameRecipe> {
  const rejecting = messageRecipe(REJECTING);
  const body = loggedOn ? messageRecipe([...REJECTING, ...SESSION_CRAFTED]) : rejecting;
  const prefix = fc.array(rejecting, { maxLength: 3 });
  const w = loggedOn ? 0.25 : 1; // logged-on connections close (and log on again) less often
  const entries: Array<{ weight: number; arbitrary: fc.Arbitrary<FrameRecipe> }> = [
    { weight: 40, arbitrary: fc.record({ k: fc.constant('messages' as const), msgs: fc.array(body, { minLength: 1, maxLength: 1 }) }) },
    { weight: 30, arbitrary: fc.record({ k: fc.constant('messages' as const), msgs: fc.array(body, { minLength: 2, maxLength: 16 }) }) },
    { weight: 5 * w, arbitrary: fc.record({ k: fc.constant('random' as const), length: fc.integer({ min: 1, max: 300 }), seed: fc.integer() }) },
    { weight: 1 * w, arbitrary: fc.record({ k: fc.constant('text' as const), text: fc.string({ maxLength: 64 }) }) },
    { weight: 0.4 * w, arbitrary: fc.constant({ k: 'empty' as const }) },
    { weight: 0.4 * w, arbitrary: fc.record({ k: fc.constant('oversized' as const), extra: fc.integer({ min: 1, max: 4000 }), seed: fc.integer() }) },
    { weight: 1.5 * w, arbitrary: fc.record({ k: fc.constant('truncatedHeader' as const), prefix, n: fc.integer({ min: 1, max: 3 }), seed: fc.integer() }) },
    { weight: 1.2 * w, arbitrary: fc.record({ k: fc.constant('lengthTooSmall' as const), prefix, length: fc.integer({ min: 0, max: 3 }), seed: fc.integer() }) },
    { weight: 1.2 * w, arbitrary: fc.record({ k: fc.constant('lengthPastEnd' as const), prefix, msg: rejecting, cut: fc.integer({ min: 1, max: 60 }) }) },
    { weight: 1.5 * w, arbitrary: fc.record({ k: fc.constant('badVersion' as const), prefix, msg: rejecting, version: fc.integer({ min: 0, max: 255 }).filter((v) => v !== SCHEMA_VERSION) }) },
    { weight: 0.5 * w, arbitrary: fc.record({ k: fc.constant('tooMany' as const), count: fc.integer({ min: MAX_MESSAGES + 1, max: MAX_MESSAGES + 80 }), seed: fc.integer() }) },
  ];
  if (!loggedOn) {
    // Pre-logon: a well-formed request (LOGON_REQUIRED, close 4003) or a Logon that cannot verify (close 4002 / 4007).
    entries.push({ weight: 3, arbitrary: fc.record({ k: fc.constant('messages' as const), msgs: fc.tuple(fc.array(rejecting, { maxLength: 4 }), messageRecipe([['valid', 1]])).map(([a, b]) => [...a, b]) }) });
    entries.push({ weight: 1, arbitrary: fc.record({ k: fc.constant('messages' as const), msgs: fc.tuple(fc.array(rejecting, { maxLength: 2 }), messageRecipe([['logon', 1]])).map(([a, b]) => [...a, b]) }) });
  }
  return fc.oneof(...entries.map((e) => ({ weight: Math.round(e.weight * 100), arbitrary: e.arbitrary })));
}

function buildFrame(recipe: FrameRecipe, ctx: BuildContext): FrameSpec {
  const parts = (recipes: MessageRecipe[]) => recipes.map((m) => buildMessage(m, ctx));
  const join = (ps: Part[], tail: Buffer = Buffer.alloc(0)) => Buffer.concat([...ps.map((p) => p.bytes), tail]);
  switch (recipe.k) {
    case 'messages': {
      const ps = parts(recipe.msgs);
      const category = ps.length === 1 ? recipe.msgs[0].m : 'batch';
      return { category, data: join(ps), intendedClose: null, parts: ps };
    }
    case 'random':
      return { category: 'random', data: new Prng(recipe.seed).bytes(recipe.length), intendedClose: null, parts: null };
    case 'text':
      return { category: 'text', data: recipe.text, intendedClose: 'PROTO_TEXT_FRAME', parts: null };
    case 'empty':
      return { category: 'empty', data: Buffer.alloc(0), intendedClose: 'PROTO_SHORT_FRAME', parts: null };
    case 'oversized':
      return { category: 'oversized', data: new Prng(recipe.seed).bytes(MAX_FRAME + recipe.extra), intendedClose: 'WS_1009', parts: null };
    case 'truncatedHeader':
      return { category: 'truncatedHeader', data: join(parts(recipe.prefix), new Prng(recipe.seed).bytes(recipe.n)), intendedClose: 'PROTO_SHORT_FRAME', parts: null };
    case 'lengthTooSmall': {
      const header = Buffer.from([recipe.length, 0, new Prng(recipe.seed).int(256), SCHEMA_VERSION]);
      return { category: 'lengthTooSmall', data: join(parts(recipe.prefix), header), intendedClose: 'PROTO_BAD_LENGTH', parts: null };
    }
    case 'lengthPastEnd': {
      const last = buildMessage(recipe.msg, ctx).bytes;
      const b = Buffer.from(last);
      b.writeUInt16LE(Math.min(0xffff, last.length + recipe.cut), 0);
      return { category: 'lengthPastEnd', data: join(parts(recipe.prefix), b), intendedClose: 'PROTO_SHORT_FRAME', parts: null };
    }
    case 'badVersion': {
      const b = Buffer.from(buildMessage(recipe.msg, ctx).bytes);
      b[3] = recipe.version;
      return { category: 'badVersion', data: join(parts(recipe.prefix), b), intendedClose: 'PROTO_BAD_VERSION', parts: null };
    }
    case 'tooMany': {
      const r = new Prng(recipe.seed);
      const b = Buffer.alloc(recipe.count * 4);
      for (let i = 0; i < recipe.count; i++) b.set([4, 0, r.pick(UNKNOWN_IDS), SCHEMA_VERSION], i * 4);
      return { category: 'tooMany', data: b, intendedClose: 'PROTO_TOO_MANY_MESSAGES', parts: null };
    }
  }
}

/** Recipes sampled from fast-check in chunks, each chunk with its own seed derived from SEED. */
class FrameSource {
  private buffer: FrameRecipe[] = [];
  private chunk = 0;
  private readonly arbitrary: fc.Arbitrary<FrameRecipe>;
  constructor(private readonly seed: number, loggedOn: boolean) {
    this.arbitrary = frameRecipe(loggedOn);
  }
  next(): FrameRecipe {
    if (this.buffer.length === 0) this.buffer = fc.sample(this.arbitrary, { seed: this.seed + 7919 * this.chunk++, numRuns: 512 }).reverse();
    return this.buffer.pop()!;
  }
}

// ------------------------------------------------------------------ the model

type Answer =
  | { kind: 'reject'; reasons: number[]; refSeq: number; templateId: number; optional: boolean }
  | { kind: 'logonReject' | 'logout'; optional: false }
  | { kind: 'heartbeat'; id: number; optional: false };

interface Expectation {
  category: string;
  answers: Answer[];
  /** Next answer to match. */
  at: number;
  /** Close codes that may end the connection after the answers, or null when the connection stays up. */
  close: number[] | null;
  /** The close reason the gateway must give (its error code), when known. */
  closeReason: string | null;
  /** Per decoded message: the reject reason, or 0 when it decoded. */
  outcomes: number[];
  /** Client sequence state after the frame. */
  lastClientSequence: number;
  /**
   * ReplayRequests in the frame. Their answers are out of band: a replay served from
   * the journal runs in the background, so its ReplayComplete may follow later answers.
   */
  replays: number;
}

interface SessionModel {
  principal: Principal | null;
  lastClientSequence: number;
}

const modelDecoder = new FrameDecoder(ClientTemplates);

/** What the gateway must do with `data` (docs/protocol.md), or null when the model does not cover it (the frame is not sent). */
function predict(spec: FrameSpec, session: SessionModel): Expectation | null {
  const e: Expectation = { category: spec.category, answers: [], at: 0, close: null, closeReason: null, outcomes: [], lastClientSequence: session.lastClientSequence, replays: 0 };
  const closeWith = (codes: number[], closeReason: string | null) => {
    e.close = codes;
    e.closeReason = closeReason;
    return e;
  };
  if (typeof spec.data === 'string') return closeWith([CloseCode.UNSUPPORTED_DATA], 'PROTO_TEXT_FRAME');
  if (spec.data.length > MAX_FRAME) return closeWith([CloseCode.MESSAGE_TOO_BIG], null); // ws's maxPayload: ws closes before the gateway sees it
  const d = modelDecoder;
  const frameError = d.begin(spec.data, true);
  if (frameError !== null) return closeWith([frameError.closeCode], frameError.code);
  const reject = (codes: number[], refSeq: number, templateId: number, optional = false) => e.answers.push({ kind: 'reject', reasons: codes, refSeq, templateId, optional });
  for (let step = d.next(); step !== DecodeStep.End; step = d.next()) {
    if (step === DecodeStep.Reject) {
      const error = d.error!;
      e.outcomes.push(error.reason);
      // Before logon nothing but a well-formed Logon is answered: a refused message closes 4003.
      if (session.principal === null) return closeWith([CloseCode.LOGON_REQUIRED], 'LOGON_REQUIRED');
      reject([error.reason], error.sequence, error.templateId);
      continue;
    }
    e.outcomes.push(0);
    const t = d.template!;
    const record = d.record;
    if (session.principal === null) {
      if (t.name === 'Logon') {
        e.answers.push({ kind: 'logonReject', optional: false });
        return closeWith([CloseCode.LOGON_FAILED, CloseCode.WRONG_GATEWAY], null);
      }
      reject([reason('LOGON_REQUIRED')], d.sequence, t.id);
      return closeWith([CloseCode.LOGON_REQUIRED], 'LOGON_REQUIRED');
    }
    switch (t.name) {
      case 'Logon':
        reject([reason('LOGON_DUPLICATE')], 0, t.id);
        continue;
      case 'Logout':
        e.answers.push({ kind: 'logout', optional: false });
        return closeWith([CloseCode.NORMAL], 'logout');
      case 'Heartbeat':
        continue;
      case 'TestRequest': {
        const id = record[t.at.testRequestId];
        if (id === 0) return null; // its Heartbeat(0) looks like the server's own heartbeats
        e.answers.push({ kind: 'heartbeat', id, optional: false });
        continue;
      }
      case 'ReplayRequest': // draws on the order bucket: ReplayComplete, or Reject(THROTTLED, REPLAY_UNAVAILABLE, REPLAY_BUSY), out of band
        e.replays++;
        continue;
      default:
    }
    if (t.sequenced) {
      if (d.sequence <= e.lastClientSequence) continue; // a retransmission: ignored, unanswered
      if (d.sequence > 2 ** 52) return null; // would exhaust the key's sequence space
      e.lastClientSequence = d.sequence;
    }
    const denied = authorize(t, record, session.principal);
    if (denied !== null) {
      reject([reason(denied)], d.sequence, t.id);
      continue;
    }
    if (t.name === 'DeadManSwitch') {
      const timeoutMs = record[t.at.timeoutMs];
      if (timeoutMs === 0 || (timeoutMs >= 100 && timeoutMs <= 600_000)) return null;
      reject([reason('THROTTLED'), reason('DEAD_MAN_TIMEOUT_OUT_OF_RANGE')], d.sequence, t.id);
      continue;
    }
    if (t.name === 'NewOrder' && record[t.at.instrument] === 999) {
      reject([reason('THROTTLED'), reason('SYSTEM_BUSY')], d.sequence, t.id, true); // else an OrderRejected event, later
      continue;
    }
    return null; // reaches the matcher: not this test's subject
  }
  return e;
}

/** Does the model agree with what the recipe meant to cause? (The decoder checked against the documented codes.) */
function intentionMismatch(spec: FrameSpec, e: Expectation): string | null {
  if (spec.intendedClose === 'WS_1009') return e.close?.[0] === CloseCode.MESSAGE_TOO_BIG ? null : 'oversized frame not refused';
  if (spec.intendedClose !== null) {
    return e.closeReason === spec.intendedClose ? null : `${spec.category}: meant ${spec.intendedClose}, decoder says ${e.closeReason ?? 'no close'}`;
  }
  if (spec.parts === null) return null;
  for (let i = 0; i < spec.parts.length && i < e.outcomes.length; i++) {
    const intended = spec.parts[i].intended;
    if (intended !== null && intended !== e.outcomes[i]) return `${spec.category} message ${i}: meant ${intended}, decoder says ${e.outcomes[i]}`;
  }
  return null;
}

function mandatoryLeft(e: Expectation): boolean {
  for (let i = e.at; i < e.answers.length; i++) if (!e.answers[i].optional) return true;
  return false;
}

function matches(a: Answer, m: ServerMessage): boolean {
  switch (a.kind) {
    case 'reject': return m.type === 'Reject' && a.reasons.includes(Number(m.reason)) && Number(m.refSeq) === a.refSeq;
    case 'logonReject': return m.type === 'LogonReject';
    case 'logout': return m.type === 'Logout';
    case 'heartbeat': return m.type === 'Heartbeat' && Number(m.testRequestId) === a.id;
  }
}

const REPLAY_REJECTS = [reason('REPLAY_UNAVAILABLE'), reason('THROTTLED'), reason('REPLAY_BUSY')];

/** The answer to a ReplayRequest (not to a malformed one: the decoder's rejects carry a client-side reason). */
function isReplayAnswer(m: ServerMessage): boolean {
  return m.type === 'ReplayComplete'
    || (m.type === 'Reject' && Number(m.refTemplateId) === T.ReplayRequest.id && Number(m.refSeq) === 0 && REPLAY_REJECTS.includes(Number(m.reason)));
}

// ------------------------------------------------------------------ statistics

class Stats {
  sent = 0;
  verified = 0;
  answeredFrames = 0;
  closedAsPredicted = 0;
  rejectsMatched = 0;
  skippedUnmodeled = 0;
  connects = 0;
  logonTimeouts = 0;
  lostToLogonTimeout = 0;
  serverFramesAboveMessageLimit = 0;
  readonly byCategory = new Map<string, number>();
  readonly closeCodes = new Map<string, number>();
  readonly rejectReasons = new Map<string, number>();
  readonly logonRejectReasons = new Map<string, number>();
  readonly refTemplateIdDeviations = new Map<string, number>();
  readonly failures: string[] = [];
  stop = false;

  bump(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  fail(message: string): void {
    if (this.failures.length < 50) this.failures.push(message);
  }
}

const table = (map: Map<string, number>) => [...map.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${v}`).join(' ');

// ------------------------------------------------------------------ raw fuzz connections

interface FuzzKey {
  keyId: number;
  account: number;
  secret: string;
  principal: Principal;
}

const serverDecoder = new FrameDecoder(ServerTemplates, { maxMessagesPerFrame: 1 << 16 });
const ANSWER_TYPES = new Set(['Reject', 'LogonReject', 'Logout', 'ReplayComplete', 'Heartbeat', 'TestRequest', 'LogonAck']);
let logonClock = 0;

class FuzzConnection {
  private ws: WebSocket | undefined;
  private queue: Expectation[] = [];
  private readonly model: SessionModel = { principal: null, lastClientSequence: 0 };
  private openedAt = 0;
  private closing = false;
  private onClosed: (() => void) | undefined;
  private onProgress: (() => void) | undefined;
  private onLogon: ((m: ServerMessage) => void) | undefined;
  private readonly source: FrameSource;
  private readonly encoder = new FrameEncoder(new Uint8Array(256));
  private readonly context: BuildContext;
  /** Fresh client sequences handed out while building the current frame. */
  private freshInFrame = 0;
  /** ReplayRequests sent and not answered yet (their answers are out of band). */
  private replaysOutstanding = 0;

  constructor(readonly name: string, readonly url: string, readonly key: FuzzKey | null, seed: number, private readonly stats: Stats) {
    this.source = new FrameSource(seed, key !== null);
    this.context = {
      account: key?.account ?? 0,
      freshSequence: () => this.model.lastClientSequence + 1 + this.freshInFrame++,
    };
  }

  async run(deadline: number): Promise<void> {
    while (Date.now() < deadline && !this.stats.stop) {
      if (this.ws === undefined) {
        await this.open();
        continue;
      }
      this.freshInFrame = 0;
      let spec = buildFrame(this.source.next(), this.context);
      let e = predict(spec, this.model);
      if (e === null) {
        this.stats.skippedUnmodeled++;
        continue;
      }
      const mismatch = intentionMismatch(spec, e);
      if (mismatch !== null) this.stats.fail(`${this.name}: recipe and decoder disagree: ${mismatch}`);
      if (e.close === null && (e.answers.length === 0 || e.answers[e.answers.length - 1].optional)) {
        // Nothing (or only maybe something) would answer this frame: end it with an unknown template, which always is.
        if (spec.parts === null || spec.parts.length >= MAX_MESSAGES) continue;
        spec = { ...spec, data: Buffer.concat([spec.data as Buffer, Buffer.from([4, 0, UNKNOWN_IDS[0], SCHEMA_VERSION])]) };
        e = predict(spec, this.model);
        if (e === null) continue;
      }
      this.queue.push(e);
      this.replaysOutstanding += e.replays;
      this.model.lastClientSequence = e.lastClientSequence;
      this.ws.send(spec.data, { binary: typeof spec.data !== 'string' });
      this.stats.sent++;
      this.stats.bump(this.stats.byCategory, spec.category);
      if (e.close !== null) await this.waitClosed(`close after ${spec.category}`);
      else if (this.queue.length >= WINDOW) await this.waitProgress(WINDOW / 2);
    }
    await this.drain();
  }

  /** Waits until every frame is answered, then closes without a Logout. */
  private async drain(): Promise<void> {
    if (this.ws !== undefined) await this.waitProgress(0);
    for (const deadline = Date.now() + 5000; this.ws !== undefined && this.replaysOutstanding > 0;) {
      if (Date.now() > deadline) {
        this.stats.fail(`${this.name}: ${this.replaysOutstanding} ReplayRequests unanswered for 5 s`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const ws = this.ws;
    if (ws === undefined) return;
    this.closing = true;
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.close();
    await closed;
  }

  private async open(): Promise<void> {
    const ws = new WebSocket(this.url, { perMessageDeflate: false });
    ws.binaryType = 'nodebuffer';
    const opened = new Promise<boolean>((resolve) => {
      ws.once('open', () => resolve(true));
      ws.once('error', () => resolve(false));
    });
    ws.on('error', () => {});
    if (!(await opened)) {
      this.stats.fail(`${this.name}: the gateway refused a new connection`);
      this.stats.stop = true;
      return;
    }
    this.stats.connects++;
    this.ws = ws;
    this.openedAt = Date.now();
    this.queue = [];
    this.closing = false;
    ws.on('message', (data: Buffer) => this.onFrame(data));
    ws.on('close', (code: number, reasonBytes: Buffer) => this.onClose(ws, code, reasonBytes.toString()));
    this.model.principal = null;
    if (this.key !== null) await this.logon(ws, this.key);
  }

  private async logon(ws: WebSocket, key: FuzzKey): Promise<void> {
    logonClock = Math.max(logonClock + 1, Date.now() * 1000);
    const nonce = 1 + Math.floor(Math.random() * 2 ** 47);
    const record = toRecord(T.Logon, { keyId: key.keyId, timestampMicros: logonClock, nonce, heartbeatIntervalMs: 0, cancelOnDisconnect: key.keyId === 2 ? 1 : 2 });
    this.encoder.reset();
    this.encoder.append(T.Logon, record, 0, 0, signLogonHmac(Buffer.from(key.secret), key.keyId, logonClock, nonce));
    const answer = new Promise<ServerMessage>((resolve) => { this.onLogon = resolve; });
    ws.send(Buffer.from(this.encoder.view()));
    const m = await Promise.race([answer, new Promise<null>((resolve) => setTimeout(() => resolve(null), 5000))]);
    this.onLogon = undefined;
    if (m !== null && m.type === 'LogonAck') {
      this.model.principal = key.principal;
      this.model.lastClientSequence = Number(m.lastClientSequence);
      return;
    }
    // The previous connection's release may not have reached the gateway yet (LOGON_SESSION_ACTIVE): try again.
    if (m === null || Number(m.reason) !== GatewayReject.LOGON_SESSION_ACTIVE) this.stats.fail(`${this.name}: logon failed: ${JSON.stringify(m)}`);
    this.closing = true;
    ws.terminate();
    this.ws = undefined;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }

  private onFrame(data: Buffer): void {
    if (serverDecoder.begin(data) !== null) {
      this.stats.fail(`${this.name}: undecodable server frame: ${serverDecoder.error!.message}`);
      return;
    }
    if (serverDecoder.messageCount > MAX_MESSAGES) this.stats.serverFramesAboveMessageLimit++;
    for (let step = serverDecoder.next(); step !== DecodeStep.End; step = serverDecoder.next()) {
      if (step === DecodeStep.Reject) {
        this.stats.fail(`${this.name}: undecodable server message: ${serverDecoder.error!.message}`);
        continue;
      }
      const t = serverDecoder.template!;
      if (!ANSWER_TYPES.has(t.name)) continue; // events (cancel-on-disconnect, replays): not answers
      const m: ServerMessage = { type: t.name, sequence: serverDecoder.sequence, ...fromRecord(t, serverDecoder.record) };
      if (m.type === 'LogonReject') this.stats.bump(this.stats.logonRejectReasons, String(m.reason));
      if (m.type === 'LogonAck' || (m.type === 'LogonReject' && this.onLogon !== undefined)) {
        this.onLogon?.(m);
        continue;
      }
      if (m.type === 'TestRequest') {
        this.encoder.reset();
        this.encoder.append(T.Heartbeat, toRecord(T.Heartbeat, { testRequestId: Number(m.testRequestId) }), 0, 0);
        this.ws?.send(Buffer.from(this.encoder.view()));
        continue;
      }
      if (m.type === 'Heartbeat' && Number(m.testRequestId) === 0) continue;
      if (isReplayAnswer(m)) {
        if (this.replaysOutstanding === 0) this.stats.fail(`${this.name}: ${JSON.stringify(m)} with no ReplayRequest outstanding`);
        else this.replaysOutstanding--;
        continue;
      }
      this.consume(m);
    }
  }

  private consume(m: ServerMessage): void {
    for (;;) {
      const head = this.queue[0];
      if (head === undefined) {
        this.stats.fail(`${this.name}: unexpected ${JSON.stringify(m)} with no frame outstanding`);
        return;
      }
      while (head.at < head.answers.length) {
        const a = head.answers[head.at];
        head.at++;
        if (matches(a, m)) {
          if (a.kind === 'reject') {
            this.stats.rejectsMatched++;
            this.stats.bump(this.stats.rejectReasons, nameOf(GatewayReject, Number(m.reason)));
            if (Number(m.refTemplateId) !== a.templateId) {
              const unknown = Number(m.reason) === reason('PROTO_UNKNOWN_TEMPLATE');
              this.stats.bump(this.stats.refTemplateIdDeviations, `${nameOf(GatewayReject, Number(m.reason))}: refTemplateId ${m.refTemplateId} instead of ${unknown ? 'the unknown id' : a.templateId}`);
            }
          }
          if (!mandatoryLeft(head) && head.close === null && head.at === head.answers.length) this.complete();
          return;
        }
        if (!a.optional) {
          this.stats.fail(`${this.name}: ${head.category} frame: expected ${JSON.stringify(a)}, got ${JSON.stringify(m)}`);
          this.queue.shift();
          this.progress();
          return;
        }
      }
      if (head.close !== null) {
        this.stats.fail(`${this.name}: ${head.category} frame: ${JSON.stringify(m)} after the answers of a closing frame`);
        return;
      }
      this.complete();
    }
  }

  private complete(): void {
    this.queue.shift();
    this.stats.verified++;
    this.stats.answeredFrames++;
    this.progress();
  }

  private progress(): void {
    this.onProgress?.();
  }

  private onClose(ws: WebSocket, code: number, closeReason: string): void {
    if (ws !== this.ws) return;
    this.ws = undefined;
    const own = this.closing;
    if (!own) this.stats.bump(this.stats.closeCodes, String(code));
    const head = this.queue[0];
    const loggingOn = this.key !== null && this.model.principal === null;
    if (!own && !loggingOn) {
      if (!DOCUMENTED_CLOSE_CODES.has(code)) this.stats.fail(`${this.name}: undocumented close code ${code} (${closeReason}) after ${head?.category}`);
      if (closeReason === 'internal error') this.stats.fail(`${this.name}: the gateway hit an internal error on a ${head?.category} frame`);
      if (head !== undefined && head.close !== null) {
        if (mandatoryLeft(head)) this.stats.fail(`${this.name}: ${head.category} frame: closed ${code} before its answers ${JSON.stringify(head.answers.slice(head.at))}`);
        else if (!head.close.includes(code)) this.stats.fail(`${this.name}: ${head.category} frame: closed ${code} (${closeReason}), predicted ${head.close.join(' or ')}`);
        else if (head.closeReason !== null && closeReason !== head.closeReason) this.stats.fail(`${this.name}: ${head.category} frame: close reason "${closeReason}", predicted "${head.closeReason}"`);
        else {
          this.stats.verified++;
          this.stats.closedAsPredicted++;
        }
        if (this.queue.length > 1) this.stats.fail(`${this.name}: frames sent after a closing frame`);
      } else if (this.key === null && code === CloseCode.LOGON_REQUIRED && Date.now() - this.openedAt >= LOGON_TIMEOUT_MS - 100) {
        this.stats.logonTimeouts++;
        this.stats.lostToLogonTimeout += this.queue.length;
      } else {
        this.stats.fail(`${this.name}: unpredicted close ${code} (${closeReason}) with ${this.queue.length} frames outstanding (first: ${head?.category ?? '-'})`);
      }
    }
    this.queue = [];
    this.replaysOutstanding = 0;
    this.onClosed?.();
    this.progress();
  }

  private waitClosed(what: string): Promise<void> {
    if (this.ws === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.stats.fail(`${this.name}: no close within 5 s (${what})`);
        this.closing = true;
        this.ws?.terminate();
      }, 5000);
      this.onClosed = () => {
        clearTimeout(timer);
        this.onClosed = undefined;
        resolve();
      };
    });
  }

  /** Until at most `limit` frames are unanswered (or the connection closed). */
  private waitProgress(limit: number): Promise<void> {
    if (this.queue.length <= limit || this.ws === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.stats.fail(`${this.name}: ${this.queue.length} frames unanswered for 5 s (first: ${this.queue[0]?.category}, waiting for ${JSON.stringify(this.queue[0]?.answers[this.queue[0].at])})`);
        this.onProgress = undefined;
        this.closing = true;
        this.ws?.terminate();
        this.ws = undefined;
        this.queue = [];
        resolve();
      }, 5000);
      this.onProgress = () => {
        if (this.queue.length > limit && this.ws !== undefined) return;
        clearTimeout(timer);
        this.onProgress = undefined;
        resolve();
      };
    });
  }
}

// ------------------------------------------------------------------ the well-behaved session

interface TraderReport {
  roundTrips: number;
  errors: string[];
  maxRoundTripMs: number;
  sequenceGaps: number;
}

/** `lastSequence`: the key's last server sequence before the session (LogonAck.nextServerSequence - 1). */
async function trade(client: ExchangeClient, lastSequence: number, shouldStop: () => boolean): Promise<TraderReport> {
  const report: TraderReport = { roundTrips: 0, errors: [], maxRoundTripMs: 0, sequenceGaps: 0 };
  client.on('message', (m: ServerMessage) => {
    if (m.sequence === 0) return;
    if (m.sequence !== lastSequence + 1) report.sequenceGaps++;
    lastSequence = m.sequence;
  });
  let clientOrderId = 500_000;
  const check = (what: string, actual: unknown, expected: unknown) => {
    if (actual !== expected && report.errors.length < 20) report.errors.push(`${what}: ${String(actual)} !== ${String(expected)}`);
  };
  for (let i = 0; !shouldStop(); i++) {
    const started = Date.now();
    const id = ++clientOrderId;
    const side = Side.Buy; // account 4 is a cash account without a position: it cannot sell
    const price = 9_500 + (i % 50); // below every offer the fuzz could leave behind: nothing ever fills
    const quantity = 1 + (i % 9);
    try {
      const placed = client.next((m) => (m.type === 'OrderAccepted' || m.type === 'OrderRejected' || m.type === 'Reject') && (m.type === 'Reject' || m.clientOrderId === id), 10_000);
      const sequence = client.send('NewOrder', { account: 4, instrument: 1, clientOrderId: id, side, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, price, quantity });
      const accepted = await placed;
      check('accept type', accepted.type, 'OrderAccepted');
      if (accepted.type === 'Reject') check('reject refSeq', accepted.refSeq, sequence);
      if (accepted.type !== 'OrderAccepted') continue;
      check('account', accepted.account, 4);
      check('instrument', accepted.instrument, 1);
      check('side', accepted.side, side);
      check('price', accepted.price, price);
      check('quantity', accepted.quantity, quantity);
      check('orderType', accepted.orderType, OrderType.Limit);
      const orderId = Number(accepted.orderId);
      const canceledP = client.next((m) => (m.type === 'OrderCanceled' || m.type === 'CancelRejected') && m.orderId === orderId, 10_000);
      client.send('CancelOrder', { account: 4, orderId });
      const canceled = await canceledP;
      check('cancel type', canceled.type, 'OrderCanceled');
      check('canceledQuantity', canceled.canceledQuantity, quantity);
      check('cancel price', canceled.price, price);
      check('cancel side', canceled.side, side);
      check('cancel reason', canceled.reason, CancelReason.USER);
      report.roundTrips++;
      report.maxRoundTripMs = Math.max(report.maxRoundTripMs, Date.now() - started);
    } catch (error) {
      if (report.errors.length < 20) report.errors.push(`round trip ${i}: ${(error as Error).message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return report;
}

// ------------------------------------------------------------------ the test

let exchange: TestExchange;

before(async () => {
  exchange = await startTestExchange();
});
after(async () => {
  await exchange.stop();
});

test(`the live gateway survives ${TARGET_FRAMES} malformed frames and answers each as documented`, { timeout: MAX_FUZZ_MS + 30_000 }, async (t) => {
  const base = exchange.config.orderEntryBasePort;
  const workers = exchange.config.gatewayWorkers;
  const urlOf = (port: number) => `ws://127.0.0.1:${port}`;
  const fuzzKey = (keyId: number): FuzzKey => {
    const a = exchange.config.demoAccounts.find((x) => x.keyId === keyId)!;
    return { keyId, account: a.account, secret: a.apiSecret, principal: { account: a.account, permissionMask: permissionMask(a.permissions) } };
  };
  const stats = new Stats();
  const connections: FuzzConnection[] = [];
  for (let port = 0; port < workers; port++) {
    for (let i = 0; i < ANON_PER_PORT; i++) connections.push(new FuzzConnection(`anon-${port}.${i}`, urlOf(base + port), null, SEED + 1000 * connections.length, stats));
  }
  for (const keyId of [2, 3, 5]) connections.push(new FuzzConnection(`key-${keyId}`, urlOf(base + (keyId % workers)), fuzzKey(keyId), SEED + 1000 * connections.length, stats));

  const trader = exchange.client(4);
  trader.keepReceived = false;
  const traderAck = await trader.connect();
  const started = Date.now();
  const deadline = started + MAX_FUZZ_MS;
  // The model's decoder builds a ProtocolError per refused message: skip their stack traces while fuzzing.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const stopper = setInterval(() => { if (stats.verified >= TARGET_FRAMES) stats.stop = true; }, 20);
  const traderReport = trade(trader, Number(traderAck.nextServerSequence) - 1, () => stats.stop);
  await Promise.all(connections.map((c) => c.run(deadline)));
  stats.stop = true;
  clearInterval(stopper);
  Error.stackTraceLimit = stackTraceLimit;
  const traded = await traderReport;
  const elapsedMs = Date.now() - started;

  // The gateways still take new sessions and trade.
  for (let port = 0; port < workers; port++) {
    const raw = new WebSocket(urlOf(base + port));
    await new Promise<void>((resolve, reject) => { raw.once('open', () => resolve()); raw.once('error', reject); });
    raw.terminate();
  }
  await trader.logout();
  const again = exchange.client(4);
  await again.connect();
  again.send('NewOrder', { account: 4, instrument: 1, clientOrderId: 999_999, side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, price: 9_600, quantity: 3 });
  const accepted = await again.next((m) => m.type === 'OrderAccepted' && m.clientOrderId === 999_999);
  again.send('CancelOrder', { account: 4, orderId: Number(accepted.orderId) });
  assert.equal((await again.next((m) => m.type === 'OrderCanceled')).canceledQuantity, 3);
  await again.logout();

  t.diagnostic(`seed ${SEED}: ${stats.sent} frames sent, ${stats.verified} verified in ${elapsedMs} ms (${Math.round(stats.verified / (elapsedMs / 1000))}/s) over ${stats.connects} connections`);
  t.diagnostic(`outcomes: ${stats.answeredFrames} answered as predicted (${stats.rejectsMatched} Rejects matched), ${stats.closedAsPredicted} closed as predicted, ${stats.logonTimeouts} logon timeouts (${stats.lostToLogonTimeout} frames in flight), ${stats.skippedUnmodeled} recipes skipped (would reach the matcher)`);
  t.diagnostic(`close codes: ${table(stats.closeCodes)}`);
  t.diagnostic(`reject reasons: ${table(stats.rejectReasons)}`);
  t.diagnostic(`categories: ${table(stats.byCategory)}`);
  t.diagnostic(`LogonReject reasons: ${table(stats.logonRejectReasons)}`);
  t.diagnostic(`well-behaved key 4: ${traded.roundTrips} place+cancel round trips, max ${traded.maxRoundTripMs} ms, ${traded.sequenceGaps} sequence gaps`);
  if (stats.refTemplateIdDeviations.size > 0) t.diagnostic(`Reject.refTemplateId differing from the error's templateId: ${table(stats.refTemplateIdDeviations)}`);
  if (stats.serverFramesAboveMessageLimit > 0) t.diagnostic(`server frames above maxMessagesPerFrame ${MAX_MESSAGES}: ${stats.serverFramesAboveMessageLimit}`);

  assert.deepEqual(stats.failures, []);
  assert.deepEqual(exchange.fatal, []);
  assert.ok(stats.verified >= TARGET_FRAMES, `only ${stats.verified} frames verified within ${MAX_FUZZ_MS} ms`);
  for (const category of ['random', 'text', 'empty', 'oversized', 'truncatedHeader', 'lengthTooSmall', 'lengthPastEnd', 'badVersion', 'tooMany', 'unknown', 'short', 'long', 'badEnum', 'range', 'garbage', 'batch', 'valid', 'logon', 'dupLogon', 'mismatch', 'notPermitted', 'replayBeyond', 'testRequest']) {
    assert.ok((stats.byCategory.get(category) ?? 0) > 0, `no ${category} frames were sent`);
  }
  assert.deepEqual(traded.errors, []);
  assert.equal(traded.sequenceGaps, 0);
  assert.ok(traded.roundTrips >= 20, `the well-behaved session only completed ${traded.roundTrips} round trips`);
});

// ------------------------------------------------------------------ regressions: server bugs the fuzz found (fixed in the gateway)

test('ReplayRequest draws from the order bucket like the docs say', async () => {
  const client = exchange.client(4);
  const ack = await client.connect();
  // Tiny replays (the last message only), so the answers are quick to send.
  const last = Math.max(1, Number(ack.nextServerSequence) - 1);
  client.batch(() => { for (let i = 0; i < 120; i++) client.replay(last, last); });
  client.batch(() => { for (let i = 0; i < 120; i++) client.replay(last, last); });
  try {
    const throttled = await client.next((m) => m.type === 'Reject' && m.reason === GatewayReject.THROTTLED, 20_000).catch((error) => {
      const seen: Record<string, number> = {};
      for (const m of client.received) seen[m.type] = (seen[m.type] ?? 0) + 1;
      throw new Error(`${(error as Error).message}; received ${JSON.stringify(seen)}`);
    }); // after up to 100 full replays
    assert.ok(Number(throttled.retryAfterMs) > 0);
  } finally {
    await client.logout();
  }
});

test('replayed messages come in frames of at most maxMessagesPerFrame messages', async () => {
  const client = exchange.client(4);
  const ack = await client.connect();
  const from = Number(ack.nextServerSequence);
  client.batch(() => {
    for (let i = 0; i < 80; i++) {
      client.send('NewOrder', { account: 4, instrument: 1, clientOrderId: 700_000 + i, side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, price: 9_500, quantity: 1 });
    }
  });
  client.send('MassCancel', { account: 4, instrument: 0, side: 0 });
  await client.next((m) => m.type === 'MassCancelDone', 5000);
  const strict = new FrameDecoder(ServerTemplates);
  const refused: string[] = [];
  const socket = (client as unknown as { socket: WebSocket }).socket;
  socket.on('message', (data: Buffer) => { if (strict.begin(data) !== null) refused.push(strict.error!.message); });
  client.replay(from, 0);
  await client.next((m) => m.type === 'ReplayComplete', 5000);
  await client.logout();
  assert.deepEqual(refused, []);
});
