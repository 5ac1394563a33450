/**
 * The native hash-chain addon (journal/native/chain-hash.c) against node:crypto: the same
 * digests for every function, the same chain as hash-chain.ts's recordHash, refusal of bad
 * arguments, and that `npm install` actually built it (unless EXCHANGE_NATIVE_HASH=0 asks
 * for the node:crypto path).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { chainHashImplementation, ChainLinkHasher, sealEncodedRecords, sha256, verifyEncodedRecords } from '../journal/chain-hasher';
import { chainRecords, GENESIS_HASH, recordHash, verifyChain } from '../journal/hash-chain';
import { createRecord, HASH_BYTES, WORDS_PER_COMMAND, WORDS_PER_EVENT } from '../journal/journal-record';
import { decodeRecord, encodeRecord } from '../journal/record-codec';

const reference = (bytes: Uint8Array) => crypto.createHash('sha256').update(bytes).digest();

function records(count: number, seed: number) {
  const out = [];
  let sequence = 1;
  for (let i = 0; i < count; i++) {
    const events = 1 + ((seed + i * 7) % 5);
    const command = new Float64Array(WORDS_PER_COMMAND).map((_, w) => (w === 0 ? 1 : seed * 31 + i * 17 + w));
    const payload = new Float64Array(events * WORDS_PER_EVENT).map((_, w) => seed + i + w * 3);
    out.push(createRecord(sequence, 1_000 + i, command, payload));
    sequence += events;
  }
  return out;
}

/** The encoded records back to back after `pad` bytes, and each one's [start, end). */
function packed(encoded: Uint8Array[], pad = 0): { bytes: Buffer; bounds: Uint32Array } {
  const bytes = Buffer.concat([Buffer.alloc(pad), ...encoded]);
  const bounds = new Uint32Array(2 * encoded.length);
  let at = pad;
  encoded.forEach((e, i) => {
    bounds[2 * i] = at;
    at += e.length;
    bounds[2 * i + 1] = at;
  });
  return { bytes, bounds };
}

describe('chain hasher (native addon with a node:crypto fallback)', () => {
  it('was built by npm install and loaded (EXCHANGE_NATIVE_HASH=0 is the only way to run without it)', () => {
    if (process.env.EXCHANGE_NATIVE_HASH === '0') {
      assert.equal(chainHashImplementation.native, false);
      return;
    }
    assert.equal(chainHashImplementation.native, true, chainHashImplementation.detail);
  });

  it('sha256 equals node:crypto on any bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
      assert.deepEqual(Buffer.from(sha256(bytes)), reference(bytes));
    }), { numRuns: 300 });
  });

  it('one link is SHA-256(head || body[start..end)) for any head, body and bounds', () => {
    const link = new ChainLinkHasher();
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 2000 }), fc.nat(), fc.nat(), (head, body, a, b) => {
      const start = body.length === 0 ? 0 : a % (body.length + 1);
      const end = start + (body.length === 0 ? 0 : b % (body.length - start + 1));
      link.setHead(head);
      const digest = link.digest(body, start, end);
      assert.deepEqual(Buffer.from(digest), reference(Buffer.concat([head, body.subarray(start, end)])));
    }), { numRuns: 300 });
  });

  it('sealing encoded records in one call gives the chain recordHash gives, and the journal verifier accepts it', () => {
    const expected = records(40, 3);
    const expectedHead = chainRecords(expected);
    const sealed = records(40, 3);
    const encoded = sealed.map((r) => encodeRecord(r)); // placeholder hashes (zeros)
    const { bytes, bounds } = packed(encoded, 5);
    const head = new Uint8Array(GENESIS_HASH);
    sealEncodedRecords(bytes, bounds, encoded.length, head, new ChainLinkHasher());
    assert.deepEqual(Buffer.from(head), Buffer.from(expectedHead));
    const decoded = encoded.map((_, i) => decodeRecord(bytes.subarray(bounds[2 * i]!, bounds[2 * i + 1]!)));
    decoded.forEach((r, i) => {
      assert.deepEqual(Buffer.from(r.hash), Buffer.from(expected[i]!.hash));
      assert.deepEqual(Buffer.from(r.previousHash), Buffer.from(expected[i]!.previousHash));
      assert.deepEqual(Buffer.from(recordHash(r.previousHash, encodeRecord(r))), Buffer.from(r.hash));
    });
    const verdict = verifyChain(decoded);
    assert.equal(verdict.ok, true);
  });

  it('verifying a run of stored records names the first whose hash differs, and leaves the head before it', () => {
    const sealed = records(30, 9);
    const head = chainRecords(sealed);
    const encoded = sealed.map((r) => encodeRecord(r));
    const { bytes, bounds } = packed(encoded);
    const link = new ChainLinkHasher();
    const all = new Uint8Array(GENESIS_HASH);
    assert.equal(verifyEncodedRecords(bytes, bounds, encoded.length, all, link), encoded.length);
    assert.deepEqual(Buffer.from(all), Buffer.from(head), 'the head is the last record\'s hash');
    bytes[bounds[2 * 17]! + 12]! ^= 0x40; // a payload byte of record 17
    const partial = new Uint8Array(GENESIS_HASH);
    assert.equal(verifyEncodedRecords(bytes, bounds, encoded.length, partial, link), 17);
    assert.deepEqual(Buffer.from(partial), Buffer.from(sealed[16]!.hash), 'the head stops at the last good record');
  });

  it('the node:crypto fallback passes the same checks (EXCHANGE_NATIVE_HASH=0 in a child process)', { skip: process.env.EXCHANGE_NATIVE_HASH === '0' && 'this is the child' }, () => {
    const env: NodeJS.ProcessEnv = { ...process.env, EXCHANGE_NATIVE_HASH: '0' };
    delete env.NODE_TEST_CONTEXT; // a test run of its own, reporting TAP on stdout
    const child = spawnSync(process.execPath, ['--test', '--test-reporter=tap', __filename], { env, encoding: 'utf8' });
    assert.equal(child.status, 0, child.stdout + child.stderr);
    assert.match(child.stdout, /# fail 0/);
  });

  it('refuses bounds outside the bytes and wrong argument types without touching memory', { skip: !chainHashImplementation.native && 'the addon is not loaded' }, () => {
    const addon = require(path.resolve(__dirname, '../../journal/native/build/Release/chain_hash.node'));
    const bytes = new Uint8Array(200);
    const head = new Uint8Array(HASH_BYTES);
    assert.throws(() => addon.chainSeal(bytes, new Uint32Array([0, 201]), 1, head), RangeError);
    assert.throws(() => addon.chainSeal(bytes, new Uint32Array([0, 60]), 1, head), RangeError, 'shorter than its two hash fields');
    assert.throws(() => addon.chainSeal(bytes, new Uint32Array([0, 100]), 2, head), RangeError, 'count beyond the bounds');
    assert.throws(() => addon.chainSeal(bytes, new Uint32Array([0, 100]), 1, new Uint8Array(31)), RangeError);
    assert.throws(() => addon.chainSeal(bytes, [0, 100], 1, head), TypeError);
    assert.throws(() => addon.chainDigest(new Uint8Array(64), bytes, 10, 201), RangeError);
    assert.throws(() => addon.chainDigest(new Uint8Array(63), bytes, 0, 10), RangeError);
    assert.throws(() => addon.chainDigest(new Uint8Array(64), 'bytes', 0, 1), TypeError);
    assert.throws(() => addon.sha256Into(bytes, 0, 10, new Uint8Array(40), 9), RangeError);
    assert.throws(() => addon.sha256Into(bytes, 0, -1, new Uint8Array(40), 0), RangeError, '-1 reads as 2^32 - 1: out of range');
    assert.throws(() => addon.sha256Into(bytes, 0, '10', new Uint8Array(40), 0), TypeError);
    assert.deepEqual(bytes, new Uint8Array(200), 'nothing was written');
  });
});
