/**
 * Field kinds on the wire and their byte widths.
 *
 * The core's kinds (core/schema.ts FieldKind) cover every command and event field;
 * the wire adds one kind of its own, `bytes64`, for the one opaque field the core
 * never carries: the Logon signature. All integers are little-endian.
 *
 *   u8 1 byte · u16 2 · u32 4 · i64 8 (two's complement, value must be a safe integer)
 *   ascii7 8 (7 ASCII characters, first character first, NUL-padded, 8th byte 0)
 *   bytes64 64 (opaque; not a record word: decoded into the decoder's `blob`)
 */
import { FieldKind } from '../../core/schema';

export type WireKind = FieldKind | 'bytes64';

export const KIND_BYTES: Readonly<Record<WireKind, number>> = Object.freeze({
  u8: 1, u16: 2, u32: 4, i64: 8, ascii7: 8, bytes64: 64,
});

/** Small integer per kind, for the codec's switch (no string compares on the hot path). */
export const KindCode = { u8: 0, u16: 1, u32: 2, i64: 3, ascii7: 4, bytes64: 5 } as const satisfies Record<WireKind, number>;

/** Bytes of the one `bytes64` field a template may have. */
export const BLOB_BYTES = 64;

/** Which peer sends a template. Templates of both directions share the id space but live in separate tables. */
export type Direction = 'client-to-server' | 'server-to-client';
