/**
 * The L2 book checksum (docs/market-data.md, "Checksum").
 *
 * CRC-32 (IEEE 802.3: reflected polynomial 0xEDB88320, initial value 0xFFFFFFFF,
 * final XOR 0xFFFFFFFF; the same as zlib's crc32) of the ASCII text
 *
 *     <bids> "|" <asks>
 *
 * where each side lists its best CHECKSUM_LEVELS (10) levels, best first, as
 * "<price>:<quantity>" joined by ",", integers in decimal without sign, leading
 * zeros or exponent. An empty side is empty text, so an empty book is "|".
 * Example: bids 1001×5, 1000×20 and ask 1002×7 → "1001:5,1000:20|1002:7".
 *
 * The publisher computes it without building the string (digit by digit).
 */
import type { L2Level } from './messages';

export const CHECKSUM_LEVELS = 10;

const TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

const COMMA = 0x2c;
const COLON = 0x3a;
const BAR = 0x7c;
const ZERO = 0x30;
const digits = new Uint8Array(24);

/** Feeds one byte into a running (pre-inverted) CRC. */
function crcByte(crc: number, byte: number): number {
  return TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
}

/** Feeds the decimal digits of a non-negative safe integer. */
function crcInteger(crc: number, value: number): number {
  let n = 0;
  let v = value;
  do {
    const q = Math.floor(v / 10);
    digits[n++] = ZERO + (v - q * 10);
    v = q;
  } while (v > 0);
  while (n > 0) crc = crcByte(crc, digits[--n]);
  return crc;
}

function crcSide(crc: number, prices: ArrayLike<number>, quantities: ArrayLike<number>, count: number): number {
  const n = Math.min(count, CHECKSUM_LEVELS);
  for (let i = 0; i < n; i++) {
    if (i > 0) crc = crcByte(crc, COMMA);
    crc = crcInteger(crc, prices[i]);
    crc = crcByte(crc, COLON);
    crc = crcInteger(crc, quantities[i]);
  }
  return crc;
}

/** The checksum of a book given as parallel arrays, best first (no allocation). Unsigned 32-bit. */
export function bookChecksumArrays(
  bidPrices: ArrayLike<number>, bidQuantities: ArrayLike<number>, bidCount: number,
  askPrices: ArrayLike<number>, askQuantities: ArrayLike<number>, askCount: number,
): number {
  let crc = -1;
  crc = crcSide(crc, bidPrices, bidQuantities, bidCount);
  crc = crcByte(crc, BAR);
  crc = crcSide(crc, askPrices, askQuantities, askCount);
  return (crc ^ -1) >>> 0;
}

/** The checksum of a book given as levels, best first. */
export function bookChecksum(bids: readonly L2Level[], asks: readonly L2Level[]): number {
  return bookChecksumArrays(
    bids.map((l) => l.price), bids.map((l) => l.quantity), bids.length,
    asks.map((l) => l.price), asks.map((l) => l.quantity), asks.length,
  );
}

/** The text the checksum is computed over (documentation, debugging, other-language clients' tests). */
export function checksumText(bids: readonly L2Level[], asks: readonly L2Level[]): string {
  const side = (levels: readonly L2Level[]) => levels.slice(0, CHECKSUM_LEVELS).map((l) => `${l.price}:${l.quantity}`).join(',');
  return `${side(bids)}|${side(asks)}`;
}

/** Plain CRC-32 of bytes (for tests and clients without zlib.crc32). */
export function crc32(bytes: Uint8Array): number {
  let crc = -1;
  for (let i = 0; i < bytes.length; i++) crc = crcByte(crc, bytes[i]);
  return (crc ^ -1) >>> 0;
}
