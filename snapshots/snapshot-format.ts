/**
 * The stored form of one snapshot: the engine's state image at sequence S, tied to
 * the journal by the chain hash of the record that ends at S, compressed, and
 * sealed by a SHA-256 checksum over every stored byte before it.
 *
 *   offset 0        "EXSN"                      magic (4 bytes)
 *   offset 4        u32 LE format version       SNAPSHOT_FORMAT_VERSION
 *   offset 8        u32 LE meta length M
 *   offset 12       meta: UTF-8 JSON (M bytes)  SnapshotMeta below
 *   offset 12 + M   payload: the image bytes, compressed as meta.compression says
 *   last 32 bytes   SHA-256 over bytes [0, length - 32)
 *
 * The checksum is checked before anything else is parsed, so a flipped bit anywhere
 * (magic, meta, payload or the checksum itself) is reported as SNAPSHOT_CORRUPT with
 * both digests, never as a confusing JSON or zlib error. Decompression is bounded by
 * meta.imageBytes, and the image header's own sequence must equal meta.sequence.
 *
 * Compression: brotli at quality 1 is the default. Measured on this machine (docs/snapshots.md,
 * `npm run bench:recovery`) on a 117 MiB image (1M resting orders): the same ratio as gzip
 * level 1 (about 4.5x) at a half to a third of its encoding CPU, decoding within ~25% of it.
 * Encoding recurs every snapshot on a 2-core machine shared with the matcher and the journal;
 * decoding happens once, at recovery. Higher levels cost 3-15x the CPU for 5-25% smaller files.
 */
import { createHash } from 'node:crypto';
import * as zlib from 'node:zlib';
import type { StateImage } from '../core/state-image';
import { SnapshotError } from './snapshot-error';

export const SNAPSHOT_FORMAT_VERSION = 1;
export const SNAPSHOT_MAGIC = 'EXSN';
/** Magic + version + meta length. */
export const SNAPSHOT_PREAMBLE_BYTES = 12;
export const SNAPSHOT_CHECKSUM_BYTES = 32;
export const CHAIN_HASH_BYTES = 32;
/** The meta JSON is small (the image header: scalars and part layout); a larger one is corrupt. */
export const MAX_SNAPSHOT_META_BYTES = 16 << 20;
/** Largest image a snapshot may hold (the largest Buffer on 64-bit Node 20 is 4 GiB). */
export const MAX_SNAPSHOT_IMAGE_BYTES = 2 ** 32 - 1;

export type SnapshotCompression = 'none' | 'gzip' | 'brotli';
export const SNAPSHOT_COMPRESSIONS: readonly SnapshotCompression[] = ['none', 'gzip', 'brotli'];

export interface CompressionOptions {
  compression: SnapshotCompression;
  /** gzip level 1..9, brotli quality 0..11; ignored for 'none'. */
  level: number;
}
/** Chosen by measurement (docs/snapshots.md): the cheapest to write at the ratio of gzip -1. */
export const DEFAULT_COMPRESSION: Readonly<CompressionOptions> = Object.freeze({ compression: 'brotli', level: 1 });

/** What a snapshot says about itself (stored as the meta JSON). */
export interface SnapshotMeta {
  /** matcher.out.sequence at the cut: the last event the image includes. */
  sequence: number;
  /** Hash of the journal record whose lastSequence == sequence (hex); 64 zeros when sequence == 0. */
  chainHash: string;
  /** Whether the image includes the risk layer (accounts, positions). */
  risk: boolean;
  compression: SnapshotCompression;
  level: number;
  /** Uncompressed image size. */
  imageBytes: number;
  /** Payload size as stored. */
  payloadBytes: number;
  /** Wall-clock time the snapshot was encoded (ms since epoch; informational, off the matcher thread). */
  createdAtMs: number;
  /** The state image header (version, sequence, limits, scalars, part layout). */
  image: StateImage['header'];
}

export interface Snapshot {
  formatVersion: number;
  sequence: number;
  chainHash: Uint8Array;
  risk: boolean;
  meta: SnapshotMeta;
  image: StateImage;
}

export interface SnapshotInput {
  image: StateImage;
  /** Must equal image.header.sequence. */
  sequence: number;
  chainHash: Uint8Array;
  createdAtMs?: number;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function compress(bytes: Uint8Array, options: CompressionOptions): Uint8Array {
  switch (options.compression) {
    case 'none': return bytes;
    case 'gzip': return zlib.gzipSync(bytes, { level: options.level });
    case 'brotli':
      return zlib.brotliCompressSync(bytes, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: options.level,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
        },
      });
  }
}

function decompress(payload: Uint8Array, meta: SnapshotMeta): Uint8Array {
  // zlib refuses maxOutputLength 0; an empty image still gets a bound of one byte.
  const maxOutputLength = Math.max(1, meta.imageBytes);
  switch (meta.compression) {
    case 'none': return payload;
    case 'gzip': return zlib.gunzipSync(payload, { maxOutputLength });
    case 'brotli': return zlib.brotliDecompressSync(payload, { maxOutputLength });
  }
}

export function validateCompression(options: CompressionOptions): CompressionOptions {
  const { compression, level } = options;
  if (!SNAPSHOT_COMPRESSIONS.includes(compression)) {
    throw new SnapshotError('SNAPSHOT_BAD_OPTION', `unknown compression ${String(compression)}`);
  }
  const [low, high] = compression === 'gzip' ? [1, 9] : compression === 'brotli' ? [0, 11] : [0, 0];
  if (compression !== 'none' && (!Number.isInteger(level) || level < low || level > high)) {
    throw new SnapshotError('SNAPSHOT_BAD_OPTION', `${compression} level must be an integer in ${low}..${high}, got ${level}`);
  }
  return { compression, level: compression === 'none' ? 0 : level };
}

/** A compressed image waiting for its chain hash (the writer compresses while the journal catches up). */
export interface CompressedImage {
  header: StateImage['header'];
  imageBytes: number;
  payload: Uint8Array;
  compression: SnapshotCompression;
  level: number;
}

/** Step 1 of encoding: compress the image bytes. */
export function compressImage(image: StateImage, options: CompressionOptions = DEFAULT_COMPRESSION): CompressedImage {
  const { compression, level } = validateCompression(options);
  const sequence = image.header.sequence;
  if (!Number.isSafeInteger(sequence) || sequence < 0) throw new SnapshotError('SNAPSHOT_BAD_OPTION', `sequence ${sequence} is not a non-negative safe integer`);
  return { header: image.header, imageBytes: image.bytes.length, payload: compress(image.bytes, { compression, level }), compression, level };
}

/** Step 2 of encoding: seal a compressed image with its chain hash and checksum; returns the bytes to store. */
export function sealSnapshot(compressed: CompressedImage, chainHash: Uint8Array, createdAtMs: number = Date.now()): Uint8Array {
  const sequence = compressed.header.sequence;
  if (!(chainHash instanceof Uint8Array) || chainHash.length !== CHAIN_HASH_BYTES) {
    throw new SnapshotError('SNAPSHOT_BAD_OPTION', `chain hash must be ${CHAIN_HASH_BYTES} bytes`, sequence);
  }
  if (sequence === 0 && chainHash.some((b) => b !== 0)) {
    throw new SnapshotError('SNAPSHOT_BAD_OPTION', 'a snapshot at sequence 0 must carry the genesis (all-zero) chain hash', sequence);
  }
  const { payload } = compressed;
  const meta: SnapshotMeta = {
    sequence,
    chainHash: toHex(chainHash),
    risk: (compressed.header.scalars as { risk?: unknown }).risk !== undefined,
    compression: compressed.compression,
    level: compressed.level,
    imageBytes: compressed.imageBytes,
    payloadBytes: payload.length,
    createdAtMs,
    image: compressed.header,
  };
  const metaBytes = Buffer.from(JSON.stringify(meta), 'utf8');
  const total = SNAPSHOT_PREAMBLE_BYTES + metaBytes.length + payload.length + SNAPSHOT_CHECKSUM_BYTES;
  const out = Buffer.allocUnsafe(total);
  out.write(SNAPSHOT_MAGIC, 0, 'latin1');
  out.writeUInt32LE(SNAPSHOT_FORMAT_VERSION, 4);
  out.writeUInt32LE(metaBytes.length, 8);
  metaBytes.copy(out, SNAPSHOT_PREAMBLE_BYTES);
  out.set(payload, SNAPSHOT_PREAMBLE_BYTES + metaBytes.length);
  const checksumAt = total - SNAPSHOT_CHECKSUM_BYTES;
  createHash('sha256').update(out.subarray(0, checksumAt)).digest().copy(out, checksumAt);
  return out;
}

/** Compresses the image and seals it; returns the bytes to store. */
export function encodeSnapshot(input: SnapshotInput, options: CompressionOptions = DEFAULT_COMPRESSION): Uint8Array {
  const { image, sequence, chainHash } = input;
  if (image.header.sequence !== sequence) {
    throw new SnapshotError('SNAPSHOT_BAD_OPTION', `image was cut at sequence ${image.header.sequence}, not ${sequence}`, sequence);
  }
  if (!(chainHash instanceof Uint8Array) || chainHash.length !== CHAIN_HASH_BYTES) {
    throw new SnapshotError('SNAPSHOT_BAD_OPTION', `chain hash must be ${CHAIN_HASH_BYTES} bytes`, sequence);
  }
  return sealSnapshot(compressImage(image, options), chainHash, input.createdAtMs);
}

function corrupt(message: string, sequence?: number): SnapshotError {
  return new SnapshotError('SNAPSHOT_CORRUPT', message, sequence);
}

/** Checks the checksum and preamble; returns the parsed meta and where the payload lies. */
export function readSnapshotMeta(stored: Uint8Array): { formatVersion: number; meta: SnapshotMeta; payload: Uint8Array } {
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  if (bytes.length < SNAPSHOT_PREAMBLE_BYTES + SNAPSHOT_CHECKSUM_BYTES) {
    throw corrupt(`${bytes.length} bytes is shorter than an empty snapshot (truncated file?)`);
  }
  const checksumAt = bytes.length - SNAPSHOT_CHECKSUM_BYTES;
  const computed = createHash('sha256').update(bytes.subarray(0, checksumAt)).digest();
  const stored32 = bytes.subarray(checksumAt);
  if (!computed.equals(stored32)) {
    throw corrupt(`checksum mismatch: stored ${stored32.toString('hex').slice(0, 16)}…, computed ${computed.toString('hex').slice(0, 16)}… over ${checksumAt} bytes`);
  }
  if (bytes.toString('latin1', 0, 4) !== SNAPSHOT_MAGIC) throw corrupt('not a snapshot (bad magic)');
  const formatVersion = bytes.readUInt32LE(4);
  if (formatVersion !== SNAPSHOT_FORMAT_VERSION) {
    throw new SnapshotError('SNAPSHOT_VERSION', `format version ${formatVersion} is not readable by this build (reads ${SNAPSHOT_FORMAT_VERSION})`);
  }
  const metaLength = bytes.readUInt32LE(8);
  if (metaLength > MAX_SNAPSHOT_META_BYTES || SNAPSHOT_PREAMBLE_BYTES + metaLength > checksumAt) throw corrupt(`meta length ${metaLength} overruns the file`);
  let meta: SnapshotMeta;
  try {
    meta = JSON.parse(bytes.toString('utf8', SNAPSHOT_PREAMBLE_BYTES, SNAPSHOT_PREAMBLE_BYTES + metaLength)) as SnapshotMeta;
  } catch (error) {
    throw corrupt(`meta is not JSON: ${(error as Error).message}`);
  }
  const fault = metaFault(meta);
  if (fault !== undefined) throw corrupt(`meta: ${fault}`, typeof meta?.sequence === 'number' ? meta.sequence : undefined);
  const payload = bytes.subarray(SNAPSHOT_PREAMBLE_BYTES + metaLength, checksumAt);
  if (payload.length !== meta.payloadBytes) throw corrupt(`payload is ${payload.length} bytes, meta says ${meta.payloadBytes}`, meta.sequence);
  return { formatVersion, meta, payload };
}

function metaFault(meta: SnapshotMeta): string | undefined {
  if (meta === null || typeof meta !== 'object') return 'not an object';
  if (!Number.isSafeInteger(meta.sequence) || meta.sequence < 0) return `sequence ${String(meta.sequence)} invalid`;
  if (typeof meta.chainHash !== 'string' || !/^[0-9a-f]{64}$/.test(meta.chainHash)) return 'chainHash is not 64 hex digits';
  if (typeof meta.risk !== 'boolean') return 'risk is not a boolean';
  if (!SNAPSHOT_COMPRESSIONS.includes(meta.compression)) return `unknown compression ${String(meta.compression)}`;
  if (!Number.isSafeInteger(meta.imageBytes) || meta.imageBytes < 0 || meta.imageBytes > MAX_SNAPSHOT_IMAGE_BYTES) return `imageBytes ${String(meta.imageBytes)} invalid`;
  if (!Number.isSafeInteger(meta.payloadBytes) || meta.payloadBytes < 0) return `payloadBytes ${String(meta.payloadBytes)} invalid`;
  const header = meta.image;
  if (header === null || typeof header !== 'object' || !Array.isArray(header.parts)) return 'image header missing';
  if (header.sequence !== meta.sequence) return `image header sequence ${String(header.sequence)} differs from ${meta.sequence}`;
  if (((header.scalars as { risk?: unknown } | undefined)?.risk !== undefined) !== meta.risk) return 'risk flag disagrees with the image';
  return undefined;
}

/** Verifies and decodes a stored snapshot. Throws SNAPSHOT_CORRUPT / SNAPSHOT_VERSION. */
export function decodeSnapshot(stored: Uint8Array): Snapshot {
  const { formatVersion, meta, payload } = readSnapshotMeta(stored);
  let bytes: Uint8Array;
  try {
    bytes = decompress(payload, meta);
  } catch (error) {
    throw corrupt(`payload does not decompress (${meta.compression}): ${(error as Error).message}`, meta.sequence);
  }
  if (bytes.length !== meta.imageBytes) throw corrupt(`image is ${bytes.length} bytes, meta says ${meta.imageBytes}`, meta.sequence);
  // 'none' returns a view into the stored buffer: copy so the image owns aligned bytes.
  if (meta.compression === 'none') bytes = new Uint8Array(bytes);
  return {
    formatVersion,
    sequence: meta.sequence,
    chainHash: new Uint8Array(Buffer.from(meta.chainHash, 'hex')),
    risk: meta.risk,
    meta,
    image: { header: meta.image, bytes },
  };
}
