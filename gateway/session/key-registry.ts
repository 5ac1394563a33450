/**
 * API keys: keyId -> key material, account and permissions.
 *
 * Two key types, both verified with node:crypto:
 *   hmac-sha256  a shared secret of at least HMAC_SECRET_BYTES_MIN bytes
 *   ed25519      the client's public key (raw 32 bytes, PEM/DER SPKI, or a KeyObject);
 *                the server never holds the private key
 * The registry is bounded (maxKeys) and validates every key when it is added.
 */
import { createPublicKey, KeyObject } from 'node:crypto';
import { PermissionName, permissionMask } from './permissions';

export const HMAC_SECRET_BYTES_MIN = 32;
export const ED25519_PUBLIC_KEY_BYTES = 32;
const U32_MAX = 0xffffffff;

export type KeyType = 'hmac-sha256' | 'ed25519';

interface KeySpecBase {
  /** 1..2^32-1; the Logon's keyId. */
  readonly keyId: number;
  /** The account the key trades for (0 for a key without one: admin/back-office only). */
  readonly account: number;
  readonly permissions: readonly PermissionName[];
}
export interface HmacKeySpec extends KeySpecBase { readonly type: 'hmac-sha256'; readonly secret: Uint8Array }
export interface Ed25519KeySpec extends KeySpecBase { readonly type: 'ed25519'; readonly publicKey: Uint8Array | string | KeyObject }
export type ApiKeySpec = HmacKeySpec | Ed25519KeySpec;

export interface ApiKey {
  readonly keyId: number;
  readonly account: number;
  readonly permissions: readonly PermissionName[];
  readonly permissionMask: number;
  readonly type: KeyType;
  /** hmac-sha256 only (a private copy). */
  readonly secret: Buffer | null;
  /** ed25519 only. */
  readonly publicKey: KeyObject | null;
}

export interface KeyRegistryOptions {
  readonly maxKeys: number;
}
export const DEFAULT_KEY_REGISTRY_OPTIONS: KeyRegistryOptions = Object.freeze({ maxKeys: 65_536 });

export class KeyRegistry {
  readonly options: KeyRegistryOptions;
  private readonly keys = new Map<number, ApiKey>();

  constructor(options: Partial<KeyRegistryOptions> = {}) {
    const merged = { ...DEFAULT_KEY_REGISTRY_OPTIONS, ...options };
    if (!Number.isSafeInteger(merged.maxKeys) || merged.maxKeys < 1 || merged.maxKeys > 1 << 24) {
      throw new RangeError(`KeyRegistry: maxKeys must be an integer in 1..${1 << 24}, got ${merged.maxKeys}`);
    }
    this.options = Object.freeze(merged);
  }

  get size(): number {
    return this.keys.size;
  }

  /** Adds (or replaces) a key after validating it; returns the stored form. */
  add(spec: ApiKeySpec): ApiKey {
    const key = buildKey(spec);
    if (!this.keys.has(key.keyId) && this.keys.size >= this.options.maxKeys) {
      throw new RangeError(`KeyRegistry: maxKeys ${this.options.maxKeys} reached`);
    }
    this.keys.set(key.keyId, key);
    return key;
  }

  get(keyId: number): ApiKey | undefined {
    return this.keys.get(keyId);
  }

  remove(keyId: number): boolean {
    return this.keys.delete(keyId);
  }
}

function buildKey(spec: ApiKeySpec): ApiKey {
  const { keyId, account, permissions } = spec;
  if (!Number.isInteger(keyId) || keyId < 1 || keyId > U32_MAX) throw new RangeError(`api key: keyId must be an integer in 1..${U32_MAX}, got ${keyId}`);
  if (!Number.isInteger(account) || account < 0 || account > U32_MAX) throw new RangeError(`api key ${keyId}: account must be an integer in 0..${U32_MAX}, got ${account}`);
  if (!Array.isArray(permissions) || permissions.length === 0) throw new RangeError(`api key ${keyId}: permissions must be a non-empty list`);
  const mask = permissionMask(permissions);
  if (permissions.includes('trade') && account === 0) throw new RangeError(`api key ${keyId}: a trade key needs an account`);
  const base = { keyId, account, permissions: Object.freeze([...permissions]), permissionMask: mask };
  if (spec.type === 'hmac-sha256') {
    if (!(spec.secret instanceof Uint8Array) || spec.secret.length < HMAC_SECRET_BYTES_MIN) {
      throw new RangeError(`api key ${keyId}: an hmac-sha256 secret needs at least ${HMAC_SECRET_BYTES_MIN} bytes`);
    }
    return Object.freeze({ ...base, type: 'hmac-sha256', secret: Buffer.from(spec.secret), publicKey: null });
  }
  if (spec.type === 'ed25519') {
    return Object.freeze({ ...base, type: 'ed25519', secret: null, publicKey: ed25519PublicKey(keyId, spec.publicKey) });
  }
  throw new RangeError(`api key ${keyId}: unknown key type ${(spec as { type: unknown }).type}`);
}

function ed25519PublicKey(keyId: number, material: Uint8Array | string | KeyObject): KeyObject {
  let key: KeyObject;
  if (material instanceof KeyObject) key = material;
  else if (typeof material === 'string') key = createPublicKey(material);
  else if (material instanceof Uint8Array && material.length === ED25519_PUBLIC_KEY_BYTES) {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(material).toString('base64url') }, format: 'jwk' });
  } else if (material instanceof Uint8Array) key = createPublicKey({ key: Buffer.from(material), format: 'der', type: 'spki' });
  else throw new RangeError(`api key ${keyId}: ed25519 public key must be raw bytes, PEM, DER or a KeyObject`);
  if (key.type !== 'public' || key.asymmetricKeyType !== 'ed25519') {
    throw new RangeError(`api key ${keyId}: expected an ed25519 public key, got ${key.type} ${key.asymmetricKeyType ?? ''}`);
  }
  return key;
}
