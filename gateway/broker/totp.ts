/**
 * One-time passwords with node:crypto only: HOTP (RFC 4226) and TOTP (RFC 6238),
 * base32 secrets (RFC 4648) and the `otpauth://` URI that authenticator apps read.
 * Proof: test/totp.test.ts checks the test vectors of both RFCs.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type TotpAlgorithm = 'sha1' | 'sha256' | 'sha512';

export interface TotpOptions {
  /** Time step in seconds (X in RFC 6238); 30 by default. */
  stepSeconds?: number;
  digits?: number;
  algorithm?: TotpAlgorithm;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** 160-bit secrets: the HMAC-SHA1 key length RFC 4226 recommends. */
export const TOTP_SECRET_BYTES = 20;

export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

export function base32Decode(text: string): Buffer {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of clean) {
    const digit = BASE32.indexOf(ch);
    if (digit < 0) throw new RangeError(`not a base32 character: ${JSON.stringify(ch)}`);
    value = ((value << 5) | digit) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export function newTotpSecret(): string {
  return base32Encode(randomBytes(TOTP_SECRET_BYTES));
}

/** HOTP(K, C) = Truncate(HMAC(K, C)) mod 10^digits, as a zero-padded string (RFC 4226 §5.3). */
export function hotp(key: Uint8Array, counter: number, digits = 6, algorithm: TotpAlgorithm = 'sha1'): string {
  if (!Number.isSafeInteger(counter) || counter < 0) throw new RangeError(`HOTP counter must be a non-negative safe integer, got ${counter}`);
  if (!Number.isInteger(digits) || digits < 6 || digits > 10) throw new RangeError(`HOTP digits must be 6-10, got ${digits}`);
  const message = Buffer.alloc(8);
  message.writeUInt32BE(Math.floor(counter / 2 ** 32), 0);
  message.writeUInt32BE(counter % 2 ** 32, 4);
  const mac = createHmac(algorithm, key).update(message).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = ((mac[offset] & 0x7f) * 2 ** 24) + (mac[offset + 1] << 16) + (mac[offset + 2] << 8) + mac[offset + 3];
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** The time step of `timeMs` (T in RFC 6238: floor((unix time − T0) / X), T0 = 0). */
export function totpStep(timeMs: number, stepSeconds = 30): number {
  return Math.floor(timeMs / 1000 / stepSeconds);
}

export function totp(key: Uint8Array, timeMs: number, options: TotpOptions = {}): string {
  return hotp(key, totpStep(timeMs, options.stepSeconds), options.digits, options.algorithm);
}

/**
 * The step whose code `code` is, within `window` steps either side of `timeMs`
 * (clock drift and the time to type), or undefined. Each candidate is compared in
 * constant time.
 */
export function matchTotp(key: Uint8Array, code: string, timeMs: number, window = 1, options: TotpOptions = {}): number | undefined {
  const now = totpStep(timeMs, options.stepSeconds);
  const given = Buffer.from(code);
  let found: number | undefined;
  for (let step = now - window; step <= now + window; step++) {
    if (step < 0) continue;
    const expected = Buffer.from(hotp(key, step, options.digits, options.algorithm));
    if (expected.length === given.length && timingSafeEqual(expected, given)) found ??= step;
  }
  return found;
}

/** The key URI authenticator apps import (as text or a QR code): otpauth://totp/Issuer:account?secret=... */
export function otpauthUri(issuer: string, account: string, secret: string, options: TotpOptions = {}): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const query = new URLSearchParams({
    secret, issuer, algorithm: (options.algorithm ?? 'sha1').toUpperCase(), digits: String(options.digits ?? 6), period: String(options.stepSeconds ?? 30),
  });
  return `otpauth://totp/${label}?${query}`;
}
