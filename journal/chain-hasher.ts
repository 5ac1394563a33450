/**
 * SHA-256 for the hash chain, through the native addon journal/native/chain-hash.c when it is
 * built (npm install builds it with node-gyp) and through node:crypto otherwise.
 *
 * Why native: crypto.hash('sha256', bytes) costs ~0.73 µs per call on this machine, of which
 * ~0.1 µs is hashing a 200-byte record (SHA-NI); the rest is a Buffer for the digest, the
 * algorithm lookup and a fresh context. The journal hashes once per command, so that overhead
 * bounded every writer and verifier. The addon hashes into caller-owned memory with the SHA256
 * of the OpenSSL that Node.js links (the same function): ~0.17–0.2 µs per record, and ~0.19 µs
 * per record sealing a whole transaction in one call.
 *
 * EXCHANGE_NATIVE_HASH=0 forces the node:crypto path (benchmarks compare the two in one run;
 * test/chain-hasher.test.ts holds both to the same digests).
 */
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { HASH_BYTES } from './journal-record';
import { HASH_FIELD_BYTES } from './record-codec';

interface NativeChainHash {
  sha256Into(src: Uint8Array, start: number, end: number, dst: Uint8Array, dstAt: number): void;
  chainDigest(state: Uint8Array, body: Uint8Array, start: number, end: number): void;
  chainSeal(bytes: Uint8Array, bounds: Uint32Array, count: number, head: Uint8Array): void;
  chainVerify(bytes: Uint8Array, bounds: Uint32Array, count: number, head: Uint8Array): number;
}

/** Where node-gyp leaves the addon (repository root/journal/native/build), from dist/journal or journal/. */
const ADDON_CANDIDATES = [
  path.resolve(__dirname, '../../journal/native/build/Release/chain_hash.node'),
  path.resolve(__dirname, 'native/build/Release/chain_hash.node'),
];

function loadNative(): { addon: NativeChainHash | undefined; why: string } {
  if (process.env.EXCHANGE_NATIVE_HASH === '0') return { addon: undefined, why: 'EXCHANGE_NATIVE_HASH=0' };
  const reasons: string[] = [];
  for (const candidate of ADDON_CANDIDATES) {
    try {
      return { addon: require(candidate) as NativeChainHash, why: candidate };
    } catch (error) {
      reasons.push(`${candidate}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  return { addon: undefined, why: `not built (npm install runs node-gyp in journal/native): ${reasons.join('; ')}` };
}

const loaded = loadNative();
const native = loaded.addon;

/** Which implementation hashes the chain, and why (for start-up logs and benchmark headers). */
export const chainHashImplementation: { native: boolean; detail: string } = Object.freeze({ native: native !== undefined, detail: loaded.why });

// crypto.hash (one call, no Hash object) where it exists (Node >= 20.12); createHash otherwise.
const oneShotHash = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer }).hash;

/** SHA-256 of bytes into a fresh array (cold paths). */
export function sha256(data: Uint8Array): Uint8Array {
  if (native !== undefined) {
    const out = new Uint8Array(HASH_BYTES);
    native.sha256Into(data, 0, data.length, out, 0);
    return out;
  }
  return oneShotHash !== undefined ? oneShotHash('sha256', data, 'buffer') : crypto.createHash('sha256').update(data).digest();
}

/**
 * One link of the chain in reused memory: digest() returns SHA-256(head || body[start..end)),
 * valid until the next call. The head is whatever was last set with setHead.
 */
export class ChainLinkHasher {
  /** [0, 32) the head, [32, 64) the last digest. */
  private readonly state = new Uint8Array(2 * HASH_BYTES);
  private readonly digestView = this.state.subarray(HASH_BYTES);
  private scratch = new Uint8Array(0);

  setHead(head: Uint8Array, at = 0): void {
    for (let i = 0; i < HASH_BYTES; i++) this.state[i] = head[at + i]!;
  }

  digest(body: Uint8Array, start: number, end: number): Uint8Array {
    if (native !== undefined) {
      native.chainDigest(this.state, body, start, end);
      return this.digestView;
    }
    const length = HASH_BYTES + end - start;
    if (this.scratch.length < length) this.scratch = new Uint8Array(Math.max(length, 2 * this.scratch.length));
    this.scratch.set(this.state.subarray(0, HASH_BYTES), 0);
    this.scratch.set(body.subarray(start, end), HASH_BYTES);
    const hashed = this.scratch.subarray(0, length);
    this.digestView.set(oneShotHash !== undefined ? oneShotHash('sha256', hashed, 'buffer') : crypto.createHash('sha256').update(hashed).digest());
    return this.digestView;
  }
}

/** A v1 record ends with two bin8 fields of 32 bytes, previousHash then hash: previousHash's payload starts here from the end. */
const PREVIOUS_HASH_FROM_END = HASH_FIELD_BYTES + HASH_BYTES;

/**
 * Seals `count` encoded v1 records in place (bounds: start, end per record): each record's
 * previousHash field := head, head := SHA-256(head || record without its hash field), hash
 * field := head. `head` is updated to the last record's hash.
 */
export function sealEncodedRecords(bytes: Uint8Array, bounds: Uint32Array, count: number, head: Uint8Array, link: ChainLinkHasher): void {
  if (native !== undefined) {
    native.chainSeal(bytes, bounds, count, head);
    return;
  }
  for (let i = 0; i < count; i++) {
    const start = bounds[2 * i]!;
    const end = bounds[2 * i + 1]!;
    bytes.set(head, end - PREVIOUS_HASH_FROM_END);
    link.setHead(head);
    const digest = link.digest(bytes, start, end - HASH_FIELD_BYTES);
    head.set(digest);
    bytes.set(digest, end - HASH_BYTES);
  }
}

/**
 * Verifies `count` stored records (bounds: start, end per record; any version, the hash being
 * the last field): SHA-256(head || record without its hash field) must equal the stored hash.
 * Returns the index of the first record that fails (head = the hash before it), or count (head =
 * the last record's hash). Sequence, previousHash and content checks are the caller's.
 */
export function verifyEncodedRecords(bytes: Uint8Array, bounds: Uint32Array, count: number, head: Uint8Array, link: ChainLinkHasher): number {
  if (native !== undefined) return native.chainVerify(bytes, bounds, count, head);
  for (let i = 0; i < count; i++) {
    const start = bounds[2 * i]!;
    const end = bounds[2 * i + 1]!;
    link.setHead(head);
    const digest = link.digest(bytes, start, end - HASH_FIELD_BYTES);
    for (let b = 0; b < HASH_BYTES; b++) if (digest[b] !== bytes[end - HASH_BYTES + b]) return i;
    head.set(digest);
  }
  return count;
}
