/**
 * The receiver side: an explicit state machine over one frame.
 *
 *   const decoder = new FrameDecoder(ClientTemplates);        // the server decodes client messages
 *   ws.on('message', (data, isBinary) => {
 *     const fatal = decoder.begin(data as Buffer, isBinary);   // frame-level checks
 *     if (fatal !== null) return ws.close(fatal.closeCode, fatal.code);
 *     for (let step = decoder.next(); step !== DecodeStep.End; step = decoder.next()) {
 *       if (step === DecodeStep.Reject) { sendReject(decoder.error!); continue; }
 *       // decoder.template, decoder.sequence, decoder.record (16 words), decoder.blob
 *     }
 *   });
 *
 * States:
 *   Idle ──begin──▶ (walk every message header: text? oversized? truncated? bad length?
 *                    bad version? too many messages?) ──ok──▶ Header ──fail──▶ Done
 *   Header ──next──▶ end of frame ▶ Done (End)
 *                  └▶ unknown template / wrong length ▶ Header (Reject, skip by length)
 *                  └▶ Body: read fields into the record, check kinds and rules
 *                          ▶ Header (Message, or Reject for a bad value)
 *
 * Frame-level errors (disposition close) are all found by `begin`, before any message
 * is delivered, so a frame is either refused whole or cut cleanly into messages.
 * Message-level errors (disposition reject) skip just that message. Nothing here
 * throws for any input bytes; errors are values built by the one factory (errors.ts).
 * Steady state allocates nothing: the record, blob and frame bookkeeping are reused;
 * only a rejected input allocates its ProtocolError.
 */
import { protocolError, ProtocolError, ProtocolErrorCode } from './errors';
import { ruleViolation } from './field-rules';
import { FrameLimits, validateFrameLimits } from './frame-limits';
import { BLOB_BYTES, KindCode } from './wire-kinds';
import {
  MESSAGE_HEADER_BYTES, MessageHeader, RECORD_WORDS, SCHEMA_VERSION, SEQUENCE_BYTES, SEQUENCE_OFFSET, TemplateTable,
  WireField, WireTemplate,
} from './wire-schema';

export const DecodeStep = {
  /** No more messages in this frame. */
  End: 0,
  /** A valid message: template, sequence, record (and blob) are set. */
  Message: 1,
  /** A refused message: `error` is set (disposition reject); call next() again. */
  Reject: 2,
} as const;
export type DecodeStep = (typeof DecodeStep)[keyof typeof DecodeStep];

const State = { Idle: 0, Header: 1, Body: 2, Done: 3 } as const;
type State = (typeof State)[keyof typeof State];

const EMPTY = new Uint8Array(0);
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export class FrameDecoder {
  readonly limits: FrameLimits;
  /** The decoded message, laid out like a core record (see wire-schema.ts). */
  readonly record = new Float64Array(RECORD_WORDS);
  /** The bytes64 field of the decoded message (Logon signature), zero-padded. */
  readonly blob = new Uint8Array(BLOB_BYTES);
  /** Template of the last Message or Reject (null when the template was unknown). */
  template: WireTemplate | null = null;
  /** Sequence number of the last message (0 for unsequenced templates). */
  sequence = 0;
  /** The last error: set with DecodeStep.Reject and when begin() refuses a frame. */
  error: ProtocolError | null = null;
  /** Messages in the current frame (known after begin()). */
  messageCount = 0;

  private state: State = State.Idle;
  private frame: Uint8Array = EMPTY;
  private offset = 0;
  private messageStart = 0;

  constructor(
    readonly templates: TemplateTable,
    options: Partial<FrameLimits> = {},
  ) {
    this.limits = validateFrameLimits(options);
  }

  /**
   * Starts a frame. Returns null when the frame can be cut into messages (then call
   * next() until End), or the frame-level error (disposition close, with closeCode).
   * `isBinary` is ws's flag; a text frame is refused.
   */
  begin(frame: Uint8Array, isBinary = true): ProtocolError | null {
    this.frame = frame;
    this.offset = 0;
    this.messageCount = 0;
    this.template = null;
    this.sequence = 0;
    this.error = null;
    this.state = State.Done;
    const error = this.walkFrame(frame, isBinary);
    if (error !== null) {
      this.error = error;
      this.frame = EMPTY;
      return error;
    }
    this.state = State.Header;
    return null;
  }

  /** Decodes the next message of the frame. */
  next(): DecodeStep {
    switch (this.state) {
      case State.Header:
        return this.readHeader();
      case State.Body:
        return this.readBody();
      case State.Idle:
      case State.Done:
        return DecodeStep.End;
    }
  }

  /** Frame-level validation: walks the message headers without decoding bodies. */
  private walkFrame(frame: Uint8Array, isBinary: boolean): ProtocolError | null {
    if (!isBinary) return protocolError('PROTO_TEXT_FRAME', 'text frame');
    const size = frame.length;
    if (size > this.limits.maxFrameBytes) return protocolError('PROTO_OVERSIZED_FRAME', `${size} bytes > maxFrameBytes ${this.limits.maxFrameBytes}`);
    if (size === 0) return protocolError('PROTO_SHORT_FRAME', 'empty frame');
    let offset = 0;
    let count = 0;
    while (offset < size) {
      if (count === this.limits.maxMessagesPerFrame) {
        return protocolError('PROTO_TOO_MANY_MESSAGES', `more than maxMessagesPerFrame ${this.limits.maxMessagesPerFrame}`);
      }
      if (size - offset < MESSAGE_HEADER_BYTES) return protocolError('PROTO_SHORT_FRAME', `${size - offset} bytes left at offset ${offset}, less than a message header`);
      const length = frame[offset] | (frame[offset + 1] << 8);
      const version = frame[offset + MessageHeader.schemaVersion];
      const templateId = frame[offset + MessageHeader.templateId];
      if (version !== SCHEMA_VERSION) return protocolError('PROTO_BAD_VERSION', `schema version ${version} at offset ${offset}; this side speaks ${SCHEMA_VERSION}`, templateId);
      if (length < MESSAGE_HEADER_BYTES) return protocolError('PROTO_BAD_LENGTH', `message length ${length} at offset ${offset}`, templateId);
      if (length > size - offset) return protocolError('PROTO_SHORT_FRAME', `message at offset ${offset} declares ${length} bytes, ${size - offset} left`, templateId);
      offset += length;
      count++;
    }
    this.messageCount = count;
    return null;
  }

  private readHeader(): DecodeStep {
    const b = this.frame;
    const start = this.offset;
    if (start >= b.length) {
      this.state = State.Done;
      this.frame = EMPTY;
      return DecodeStep.End;
    }
    const length = b[start] | (b[start + 1] << 8);
    const templateId = b[start + MessageHeader.templateId];
    this.messageStart = start;
    this.offset = start + length; // framing was validated by begin(): always lands on the next header or the end
    this.sequence = 0;
    const template = this.templates.byId[templateId];
    this.template = template ?? null;
    if (template === undefined) return this.reject('PROTO_UNKNOWN_TEMPLATE', `template id ${templateId}`, templateId);
    if (template.sequenced && length >= MESSAGE_HEADER_BYTES + SEQUENCE_BYTES) {
      const sequence = readI64(b, start + SEQUENCE_OFFSET);
      if (!(sequence >= 1 && sequence <= MAX_SAFE)) return this.reject('PROTO_OUT_OF_RANGE', `${template.name}: sequence is not a safe integer >= 1`, templateId);
      this.sequence = sequence;
    }
    if (length < template.blockLength) return this.reject('PROTO_SHORT_MESSAGE', `${template.name}: ${length} bytes, block length ${template.blockLength}`, templateId);
    if (length > template.blockLength) return this.reject('PROTO_LONG_MESSAGE', `${template.name}: ${length} bytes, block length ${template.blockLength}`, templateId);
    this.state = State.Body;
    return this.readBody();
  }

  private readBody(): DecodeStep {
    this.state = State.Header;
    const template = this.template!;
    const b = this.frame;
    const start = this.messageStart;
    const record = this.record;
    record.fill(0);
    record[0] = template.coreCode;
    const fields = template.fields;
    // Wide values (u32, i64, ascii7) never leave their branch: they are checked inline
    // against rule.min (wire-schema asserts enum and bit rules sit on u8/u16 fields) and
    // the cold reject path re-reads the bytes. Handing a non-Smi double to any call V8
    // does not inline boxes it, on every message. The steady-state test in
    // test/protocol-codec.test.ts counts GCs to hold this.
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i];
      const rule = field.rule;
      const p = start + field.offset;
      switch (field.kindCode) {
        case KindCode.u8:
          if (!this.storeSmall(field, b[p])) return DecodeStep.Reject;
          break;
        case KindCode.u16:
          if (!this.storeSmall(field, b[p] | (b[p + 1] << 8))) return DecodeStep.Reject;
          break;
        case KindCode.u32: {
          const value = readU32(b, p);
          if (rule !== null && value < rule.min) return this.ruleReject(field);
          record[field.word] = value;
          break;
        }
        case KindCode.i64: {
          const value = readI64(b, p);
          if (!(value >= -MAX_SAFE && value <= MAX_SAFE)) return this.fieldReject('PROTO_OUT_OF_RANGE', field, 'is not a safe integer');
          if (rule !== null && value < rule.min) return this.ruleReject(field);
          record[field.word] = value;
          break;
        }
        case KindCode.ascii7: {
          const value = readAscii7(b, p);
          if (value < 0) return this.fieldReject('PROTO_OUT_OF_RANGE', field, 'is not NUL-padded 7-bit ASCII');
          record[field.word] = value;
          break;
        }
        default: // bytes64
          for (let j = 0; j < BLOB_BYTES; j++) this.blob[j] = b[p + j];
      }
    }
    return DecodeStep.Message;
  }

  /** u8/u16 (always Smis): checks any rule and stores; false after recording the reject. */
  private storeSmall(field: WireField, value: number): boolean {
    const rule = field.rule;
    if (rule !== null && ruleViolation(rule, value) !== 0) {
      this.ruleReject(field);
      return false;
    }
    this.record[field.word] = value;
    return true;
  }

  /** Cold path. Re-reads the value rather than taking it: a double handed to a call on the cold path still gets boxed on the hot one. */
  private ruleReject(field: WireField): DecodeStep {
    const rule = field.rule!;
    const p = this.messageStart + field.offset;
    const b = this.frame;
    const value = field.kindCode === KindCode.u8 ? b[p] : field.kindCode === KindCode.u16 ? b[p] | (b[p + 1] << 8) : field.kindCode === KindCode.u32 ? readU32(b, p) : readI64(b, p);
    const code = ruleViolation(rule, value) === 1 ? 'PROTO_BAD_ENUM' : 'PROTO_OUT_OF_RANGE';
    return this.fieldReject(code, field, `= ${value}, expected ${rule.text}`);
  }

  private fieldReject(code: ProtocolErrorCode, field: WireField, detail: string): DecodeStep {
    const template = this.template!;
    return this.reject(code, `${template.name}.${field.name} ${detail}`, template.id);
  }

  private reject(code: ProtocolErrorCode, detail: string, templateId: number): DecodeStep {
    this.state = State.Header;
    this.error = protocolError(code, detail, templateId, this.sequence);
    return DecodeStep.Reject;
  }
}

function readU32(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16)) + b[p + 3] * 16777216;
}

/**
 * A little-endian two's complement i64 as a number. Exact whenever the result is a
 * safe integer; otherwise its magnitude is >= 2^53, which the caller
 * refuses. No NaN sentinel: merging a NaN constant with the computed double makes
 * V8 box the result (one allocation per field).
 */
function readI64(b: Uint8Array, p: number): number {
  const high = b[p + 4] | (b[p + 5] << 8) | (b[p + 6] << 16) | (b[p + 7] << 24); // signed
  return high * 4294967296 + readU32(b, p);
}

/** The packAscii7 value of 7 NUL-padded ASCII bytes (8th byte 0), or -1 when malformed. */
function readAscii7(b: Uint8Array, p: number): number {
  if (b[p + 7] !== 0) return -1;
  let value = 0;
  let padding = false;
  for (let i = 0; i < 7; i++) {
    const code = b[p + i];
    if (code > 127) return -1;
    if (code === 0) padding = true;
    else if (padding) return -1;
    value = value * 128 + code;
  }
  return value;
}
