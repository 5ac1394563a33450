/**
 * Logon authentication: an API key id plus a signature over (keyId, timestamp, nonce).
 *
 * The signed bytes (LOGON_SIGNING_BYTES = 28), all little-endian:
 *
 *   0..7    ASCII "EXLOGON1"   domain separation: these bytes mean nothing elsewhere
 *   8..11   u32 keyId
 *   12..19  i64 timestampMicros (client's wall clock, µs since the Unix epoch)
 *   20..27  i64 nonce          (random, a safe integer, never reused for the key)
 *
 * hmac-sha256: HMAC-SHA256(secret, bytes), 32 bytes, sent zero-padded to 64.
 * ed25519:     Ed25519 signature of the bytes (64 bytes), verified with the public key.
 *
 * Checks in order (the first failure names the code): LOGON_UNKNOWN_KEY,
 * LOGON_CLOCK_SKEW (|timestamp - now| > clockSkewMaxMicros), LOGON_BAD_SIGNATURE,
 * LOGON_NONCE_REUSED. The nonce is remembered only after everything passed, so
 * unauthenticated traffic cannot fill a key's nonce memory. Time is passed in; this
 * module never reads the clock.
 */
import { createHmac, KeyObject, sign as signEd25519, timingSafeEqual, verify as verifyEd25519 } from 'node:crypto';
import { protocolError, ProtocolError } from '../protocol/errors';
import { BLOB_BYTES } from '../protocol/wire-kinds';
import { ApiKey, KeyRegistry } from './key-registry';
import { NonceMemory } from './nonce-memory';

export const LOGON_SIGNING_PREFIX = 'EXLOGON1';
export const LOGON_SIGNING_BYTES = 28;
export const HMAC_SIGNATURE_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;
const TWO_POW_32 = 4294967296;

export interface AuthOptions {
  /** Largest accepted |logon timestamp - server time|. */
  readonly clockSkewMaxMicros: number;
  /** Nonces remembered per key (see nonce-memory.ts). */
  readonly noncesPerKeyMax: number;
}

export const DEFAULT_AUTH_OPTIONS: AuthOptions = Object.freeze({
  clockSkewMaxMicros: 5_000_000,
  noncesPerKeyMax: 256,
});

export function validateAuthOptions(partial: Partial<AuthOptions> = {}): AuthOptions {
  const options = { ...DEFAULT_AUTH_OPTIONS, ...partial };
  if (!Number.isSafeInteger(options.clockSkewMaxMicros) || options.clockSkewMaxMicros < 1_000 || options.clockSkewMaxMicros > 300_000_000) {
    throw new RangeError(`auth: clockSkewMaxMicros must be an integer in 1000..300000000, got ${options.clockSkewMaxMicros}`);
  }
  if (!Number.isSafeInteger(options.noncesPerKeyMax) || options.noncesPerKeyMax < 1 || options.noncesPerKeyMax > 65_536) {
    throw new RangeError(`auth: noncesPerKeyMax must be an integer in 1..65536, got ${options.noncesPerKeyMax}`);
  }
  return Object.freeze(options);
}

export interface LogonCredentials {
  readonly keyId: number;
  readonly timestampMicros: number;
  readonly nonce: number;
  /** 64 bytes as carried by Logon.signature (HMAC: 32 bytes then 32 zero bytes). */
  readonly signature: Uint8Array;
}

export type AuthResult = { readonly key: ApiKey; readonly error: null } | { readonly key: null; readonly error: ProtocolError };

/** The exact bytes a Logon signs (written into `target` when given). */
export function logonSigningBytes(keyId: number, timestampMicros: number, nonce: number, target = Buffer.alloc(LOGON_SIGNING_BYTES)): Buffer {
  if (!Number.isInteger(keyId) || keyId < 0 || keyId > 0xffffffff) throw new RangeError(`logon: keyId ${keyId} is not a u32`);
  if (!Number.isSafeInteger(timestampMicros) || !Number.isSafeInteger(nonce)) throw new RangeError('logon: timestamp and nonce must be safe integers');
  target.write(LOGON_SIGNING_PREFIX, 0, 'ascii');
  target.writeUInt32LE(keyId, 8);
  writeI64(target, 12, timestampMicros);
  writeI64(target, 20, nonce);
  return target;
}

function writeI64(target: Buffer, offset: number, value: number): void {
  target.writeUInt32LE(value >>> 0, offset);
  target.writeInt32LE(Math.floor(value / TWO_POW_32), offset + 4);
}

/** Client side: the 64-byte Logon.signature for an HMAC secret. */
export function signLogonHmac(secret: Uint8Array, keyId: number, timestampMicros: number, nonce: number): Uint8Array {
  const signature = new Uint8Array(BLOB_BYTES);
  signature.set(createHmac('sha256', secret).update(logonSigningBytes(keyId, timestampMicros, nonce)).digest());
  return signature;
}

/** Client side: the 64-byte Logon.signature for an Ed25519 private key. */
export function signLogonEd25519(privateKey: KeyObject, keyId: number, timestampMicros: number, nonce: number): Uint8Array {
  return new Uint8Array(signEd25519(null, logonSigningBytes(keyId, timestampMicros, nonce), privateKey));
}

export class LogonAuthenticator {
  readonly options: AuthOptions;
  private readonly nonces: NonceMemory;

  constructor(
    readonly registry: KeyRegistry,
    options: Partial<AuthOptions> = {},
  ) {
    this.options = validateAuthOptions(options);
    this.nonces = new NonceMemory(this.options.noncesPerKeyMax, this.options.clockSkewMaxMicros);
  }

  verify(credentials: LogonCredentials, nowMicros: number): AuthResult {
    const { keyId, timestampMicros, nonce, signature } = credentials;
    const key = this.registry.get(keyId);
    if (key === undefined) return failure('LOGON_UNKNOWN_KEY', `key ${keyId}`);
    if (!(Math.abs(timestampMicros - nowMicros) <= this.options.clockSkewMaxMicros)) {
      return failure('LOGON_CLOCK_SKEW', `key ${keyId}: timestamp ${timestampMicros} is ${timestampMicros - nowMicros} µs from server time`);
    }
    if (!signatureValid(key, logonSigningBytes(keyId, timestampMicros, nonce), signature)) {
      return failure('LOGON_BAD_SIGNATURE', `key ${keyId}`);
    }
    if (this.nonces.isReplay(keyId, nonce, timestampMicros)) return failure('LOGON_NONCE_REUSED', `key ${keyId}: nonce ${nonce}`);
    this.nonces.remember(keyId, nonce, timestampMicros, nowMicros);
    return { key, error: null };
  }

  /** Nonces currently remembered for a key (tests, metrics). */
  noncesHeld(keyId: number): number {
    return this.nonces.count(keyId);
  }
}

function failure(code: 'LOGON_UNKNOWN_KEY' | 'LOGON_CLOCK_SKEW' | 'LOGON_BAD_SIGNATURE' | 'LOGON_NONCE_REUSED', detail: string): AuthResult {
  return { key: null, error: protocolError(code, detail) };
}

function signatureValid(key: ApiKey, message: Buffer, signature: Uint8Array): boolean {
  if (signature.length !== BLOB_BYTES) return false;
  if (key.type === 'hmac-sha256') {
    for (let i = HMAC_SIGNATURE_BYTES; i < BLOB_BYTES; i++) if (signature[i] !== 0) return false;
    const expected = createHmac('sha256', key.secret!).update(message).digest();
    return timingSafeEqual(expected, signature.subarray(0, HMAC_SIGNATURE_BYTES));
  }
  try {
    return verifyEd25519(null, message, key.publicKey!, signature);
  } catch {
    return false;
  }
}
