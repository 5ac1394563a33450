/**
 * The sender side: writes messages from 16-word records into a caller-provided,
 * reusable buffer, one frame at a time. Nothing is allocated per message.
 *
 *   const encoder = new FrameEncoder(new Uint8Array(16_384));
 *   encoder.reset();
 *   encoder.appendEvent(events, offset, session.takeServerSequence());   // server
 *   encoder.appendCommand(command, 0, nextClientSequence++);             // client
 *   socket.send(encoder.view());   // see "buffer ownership" below
 *
 * `append*` returns false when the message does not fit the frame (buffer, maxFrameBytes
 * or maxMessagesPerFrame): send the frame, reset, append again. A value its field kind
 * cannot carry throws PROTO_ENCODE_INVALID (a caller bug) and leaves the frame as it was.
 *
 * The encoder checks kinds only, not the decoder's value rules (field-rules.ts), so a
 * client can send — and tests can provoke — every server-side rejection.
 *
 * Buffer ownership: ws does not copy the data passed to send() before it is written
 * (and a ws client masks it in place), so the bytes must not be overwritten until
 * send's callback runs: rotate between encoders/buffers, or send a copy.
 */
import { EventHeader } from '../../core/schema';
import { protocolError, ProtocolError } from './errors';
import { FrameLimits, FRAME_BYTES_FLOOR, validateFrameLimits } from './frame-limits';
import { BLOB_BYTES, KindCode } from './wire-kinds';
import {
  ClientTemplates, MessageHeader, SCHEMA_VERSION, SEQUENCE_OFFSET, ServerTemplates, WireField, WireTemplate,
} from './wire-schema';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const ASCII7_LIMIT = 2 ** 49;

export class FrameEncoder {
  readonly limits: FrameLimits;
  /** Bytes of the frame written so far. */
  length = 0;
  /** Messages in the frame so far. */
  messageCount = 0;
  private readonly buffer: Uint8Array;
  private readonly capacity: number;

  constructor(buffer: Uint8Array, options: Partial<FrameLimits> = {}) {
    this.limits = validateFrameLimits(options);
    if (!(buffer instanceof Uint8Array) || buffer.length < FRAME_BYTES_FLOOR) {
      throw new RangeError(`FrameEncoder: buffer must be a Uint8Array of at least ${FRAME_BYTES_FLOOR} bytes`);
    }
    this.buffer = buffer;
    this.capacity = Math.min(buffer.length, this.limits.maxFrameBytes);
  }

  /** Starts a new, empty frame. */
  reset(): void {
    this.length = 0;
    this.messageCount = 0;
  }

  /** The frame so far, as a view of the caller's buffer (valid until the next reset). */
  view(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  /** Room for one more message of `template`? */
  fits(template: WireTemplate): boolean {
    return this.messageCount < this.limits.maxMessagesPerFrame && this.length + template.blockLength <= this.capacity;
  }

  /**
   * Appends one message of `template` whose field values sit in `record` at the
   * template's words (relative to `recordOffset`). `sequence` is required (>= 1) for
   * sequenced templates and ignored otherwise; `blob` fills a bytes64 field (zero-padded).
   */
  append(template: WireTemplate, record: Float64Array, recordOffset: number, sequence: number, blob?: Uint8Array): boolean {
    if (!this.fits(template)) return false;
    const b = this.buffer;
    const start = this.length;
    writeFields(b, start, template, record, recordOffset, blob);
    if (template.sequenced && !(Number.isSafeInteger(sequence) && sequence >= 1)) {
      throw protocolError('PROTO_ENCODE_INVALID', `${template.name}: sequence must be a safe integer >= 1, got ${sequence}`, template.id);
    }
    if (template.sequenced) writeI64(b, start + SEQUENCE_OFFSET, sequence);
    const length = template.blockLength;
    b[start + MessageHeader.length] = length & 0xff;
    b[start + MessageHeader.length + 1] = length >>> 8;
    b[start + MessageHeader.templateId] = template.id;
    b[start + MessageHeader.schemaVersion] = SCHEMA_VERSION;
    this.length = start + length;
    this.messageCount++;
    return true;
  }

  /** Appends a core event record (server side): the template is the event's code. */
  appendEvent(record: Float64Array, recordOffset: number, sessionSequence: number): boolean {
    const code = record[recordOffset + EventHeader.type];
    const template = ServerTemplates.byCoreCode[code];
    if (template === undefined) throw protocolError('PROTO_ENCODE_INVALID', `no server template for event code ${code}`);
    return this.append(template, record, recordOffset, sessionSequence);
  }

  /** Appends a core command record (client side): the template is the command's code. */
  appendCommand(record: Float64Array, recordOffset: number, clientSequence: number): boolean {
    const code = record[recordOffset];
    const template = ClientTemplates.byCoreCode[code];
    if (template === undefined) throw protocolError('PROTO_ENCODE_INVALID', `no client template for command code ${code}`);
    return this.append(template, record, recordOffset, clientSequence);
  }
}

/** Writes every field of one message (header excluded); throws PROTO_ENCODE_INVALID for a value its kind cannot carry. */
function writeFields(b: Uint8Array, start: number, template: WireTemplate, record: Float64Array, recordOffset: number, blob: Uint8Array | undefined): void {
  const fields = template.fields;
  // Values are checked and written inline, per kind: handing a non-Smi double to a
  // call V8 does not inline boxes it (an allocation per field). The steady-state
  // test in test/protocol-codec.test.ts counts GCs to hold this.
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i];
    const p = start + field.offset;
    const kind = field.kindCode;
    if (kind === KindCode.bytes64) {
      writeBlob(b, p, blob, template);
      continue;
    }
    const value = record[recordOffset + field.word];
    switch (kind) {
      case KindCode.u8:
        if ((value & 0xff) !== value) throw invalid(template, field, record, recordOffset);
        b[p] = value;
        break;
      case KindCode.u16:
        if ((value & 0xffff) !== value) throw invalid(template, field, record, recordOffset);
        b[p] = value & 0xff;
        b[p + 1] = value >>> 8;
        break;
      case KindCode.u32: {
        const word = value >>> 0;
        if (word !== value) throw invalid(template, field, record, recordOffset);
        b[p] = word & 0xff;
        b[p + 1] = (word >>> 8) & 0xff;
        b[p + 2] = (word >>> 16) & 0xff;
        b[p + 3] = word >>> 24;
        break;
      }
      case KindCode.i64: {
        if (!(Math.floor(value) === value && value >= -MAX_SAFE && value <= MAX_SAFE)) throw invalid(template, field, record, recordOffset);
        const low = value >>> 0; // ToUint32 is exact modulo 2^32 for any safe integer
        const high = Math.floor(value / 4294967296) | 0;
        b[p] = low & 0xff;
        b[p + 1] = (low >>> 8) & 0xff;
        b[p + 2] = (low >>> 16) & 0xff;
        b[p + 3] = low >>> 24;
        b[p + 4] = high & 0xff;
        b[p + 5] = (high >> 8) & 0xff;
        b[p + 6] = (high >> 16) & 0xff;
        b[p + 7] = (high >> 24) & 0xff;
        break;
      }
      default: // ascii7 (admin templates only; not a hot path)
        if (!writeAscii7(b, p, record, recordOffset + field.word)) throw invalid(template, field, record, recordOffset);
    }
  }
}

/** The error for a value a field cannot carry. Takes the record, not the value: a double handed to a call on the cold path still gets boxed on the hot one. */
function invalid(template: WireTemplate, field: WireField, record: Float64Array, recordOffset: number): ProtocolError {
  const value = record[recordOffset + field.word];
  return protocolError('PROTO_ENCODE_INVALID', `${template.name}.${field.name} (${field.kind}) cannot carry ${value}`, template.id);
}

/** The sequence: two's complement little-endian; `value` is a safe integer (checked by the caller). Same bytes as the i64 field branch. */
function writeI64(b: Uint8Array, p: number, value: number): void {
  const low = value >>> 0; // ToUint32 is exact modulo 2^32 for any safe integer
  const high = Math.floor(value / 4294967296) | 0;
  b[p] = low & 0xff;
  b[p + 1] = (low >>> 8) & 0xff;
  b[p + 2] = (low >>> 16) & 0xff;
  b[p + 3] = low >>> 24;
  b[p + 4] = high & 0xff;
  b[p + 5] = (high >> 8) & 0xff;
  b[p + 6] = (high >> 16) & 0xff;
  b[p + 7] = (high >> 24) & 0xff;
}

/** 7 ASCII characters, first character first, NUL padding only at the end, 8th byte 0. Reads record[index] itself (no double argument). */
function writeAscii7(b: Uint8Array, p: number, record: Float64Array, index: number): boolean {
  const value = record[index];
  if (!Number.isSafeInteger(value) || value < 0 || value >= ASCII7_LIMIT) return false;
  let rest = value;
  for (let i = 6; i >= 0; i--) {
    b[p + i] = rest % 128;
    rest = Math.floor(rest / 128);
  }
  b[p + 7] = 0;
  let padding = false;
  for (let i = 0; i < 7; i++) {
    if (b[p + i] === 0) padding = true;
    else if (padding) return false; // a character after NUL padding: not a packAscii7 value
  }
  return true;
}

function writeBlob(b: Uint8Array, p: number, blob: Uint8Array | undefined, template: WireTemplate): void {
  const length = blob === undefined ? 0 : blob.length;
  if (length > BLOB_BYTES) throw protocolError('PROTO_ENCODE_INVALID', `${template.name}: blob of ${length} bytes exceeds ${BLOB_BYTES}`, template.id);
  for (let i = 0; i < length; i++) b[p + i] = blob![i];
  b.fill(0, p + length, p + BLOB_BYTES);
}
