/**
 * Snapshot format, store, writer and policy: a round trip restores the same state hash under
 * every compression; any damaged byte is caught by the checksum with a clear error; the store
 * keeps the newest K and writes atomically; the writer compresses and stores in a worker
 * thread (the image bytes are transferred, not copied) and what it stored restores to the
 * same state hash; the policy cuts on events, time, demand and shutdown.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { Matcher } from '../core/matcher';
import { RiskEngine } from '../core/risk-engine';
import { encodeCommand } from '../core/record-objects';
import { cutImage, restoreImage, stateHash, StateImage } from '../core/state-image';
import {
  decodeSnapshot, encodeSnapshot, SNAPSHOT_CHECKSUM_BYTES, SNAPSHOT_COMPRESSIONS, SnapshotCompression,
} from '../snapshots/snapshot-format';
import { DEFAULT_SNAPSHOTS_KEPT, SnapshotStore, snapshotDirectoryFor } from '../snapshots/snapshot-store';
import { SnapshotWriter } from '../snapshots/snapshot-writer';
import { SnapshotPolicy, DEFAULT_SNAPSHOT_EVERY_EVENTS, DEFAULT_SNAPSHOT_EVERY_MILLIS } from '../snapshots/snapshot-policy';
import { isSnapshotError } from '../snapshots/snapshot-error';
import { riskFlow } from './helpers/risk-flow';
import { ControlBlock } from '../core/runtime/control-block';
import { ImageArena } from '../core/runtime/image-arena';

const limits = {
  maxOrders: 8192, maxPriceLevels: 4096, maxLevelsPerSide: 1024, maxInstruments: 4, maxAccounts: 64,
  clientOrderIdWindow: 8192, maxPositions: 1024, cashReferenceWindow: 8192,
};

function engineAfter(commands: number, seed = 7): Matcher {
  const matcher = new Matcher({ limits, risk: new RiskEngine() });
  const words = new Float64Array(16);
  for (const c of riskFlow(seed, commands)) {
    encodeCommand(c.name, c.fields as never, c.timestamp, 0, words);
    matcher.process(words, 0);
    matcher.flush();
  }
  return matcher;
}

const chainHash = (n: number) => createHash('sha256').update(`record ${n}`).digest();

function restoredHash(image: StateImage): string {
  return stateHash(restoreImage(image, { risk: new RiskEngine() }));
}

function rejectsCorrupt(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(() => decodeSnapshot(bytes), (error: unknown) => {
    assert.ok(isSnapshotError(error, 'SNAPSHOT_CORRUPT'), String(error));
    assert.match(error.message, pattern);
    return true;
  });
}

describe('snapshot format', () => {
  const matcher = engineAfter(1500);
  const image = cutImage(matcher);
  const expected = stateHash(matcher);
  const sequence = matcher.out.sequence;

  it('round trips under every compression and restores the same state hash', () => {
    for (const compression of SNAPSHOT_COMPRESSIONS) {
      const level = compression === 'gzip' ? 1 : compression === 'brotli' ? 3 : 0;
      const stored = encodeSnapshot({ image, sequence, chainHash: chainHash(sequence), createdAtMs: 1 }, { compression, level });
      const snapshot = decodeSnapshot(stored);
      assert.equal(snapshot.sequence, sequence);
      assert.equal(snapshot.risk, true);
      assert.equal(snapshot.meta.compression, compression);
      assert.deepEqual(Buffer.from(snapshot.chainHash), chainHash(sequence));
      assert.deepEqual(snapshot.image.header, JSON.parse(JSON.stringify(image.header)));
      assert.ok(Buffer.from(snapshot.image.bytes).equals(Buffer.from(image.bytes)), `${compression}: image bytes identical`);
      assert.equal(restoredHash(snapshot.image), expected, `${compression}: restored state hash`);
      if (compression !== 'none') assert.ok(stored.length < image.bytes.length, `${compression} compresses (${stored.length} of ${image.bytes.length})`);
    }
  });

  it('a flipped byte anywhere, or a truncated file, is detected by the checksum', () => {
    const stored = encodeSnapshot({ image, sequence, chainHash: chainHash(sequence) });
    const positions = [0, 5, 9, 40, stored.length >> 1, stored.length - SNAPSHOT_CHECKSUM_BYTES - 1, stored.length - 1];
    for (const at of positions) {
      const damaged = Buffer.from(stored);
      damaged[at] ^= 0x10;
      rejectsCorrupt(damaged, /checksum mismatch/);
    }
    rejectsCorrupt(stored.subarray(0, stored.length - 100), /checksum mismatch/);
    rejectsCorrupt(stored.subarray(0, 20), /shorter than an empty snapshot/);
  });

  it('an unknown format version is refused by name, even with a valid checksum', () => {
    const stored = Buffer.from(encodeSnapshot({ image, sequence, chainHash: chainHash(sequence) }));
    stored.writeUInt32LE(2, 4);
    const at = stored.length - SNAPSHOT_CHECKSUM_BYTES;
    createHash('sha256').update(stored.subarray(0, at)).digest().copy(stored, at);
    assert.throws(() => decodeSnapshot(stored), (e: unknown) => isSnapshotError(e, 'SNAPSHOT_VERSION') && /version 2/.test(e.message));
  });

  it('refuses inconsistent input', () => {
    assert.throws(() => encodeSnapshot({ image, sequence: sequence + 1, chainHash: chainHash(1) }), /cut at sequence/);
    assert.throws(() => encodeSnapshot({ image, sequence, chainHash: new Uint8Array(5) }), /32 bytes/);
    assert.throws(() => encodeSnapshot({ image, sequence, chainHash: chainHash(1) }, { compression: 'lz4' as SnapshotCompression, level: 1 }), /unknown compression/);
  });
});

describe('snapshot store', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'snapshot-store-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('lives beside the journal, keeps the newest K and leaves no temp file', () => {
    const journalPath = join(dir, 'exchange.db');
    const store = SnapshotStore.forJournal(journalPath);
    assert.equal(store.directory, snapshotDirectoryFor(journalPath));
    assert.equal(store.keep, DEFAULT_SNAPSHOTS_KEPT);
    assert.equal(store.newest(), undefined);
    const matcher = engineAfter(200);
    const image = cutImage(matcher);
    const sequences = [100, 2_000, 30_000, 400_000, 5_000_000];
    for (const s of sequences) {
      const stored = encodeSnapshot({ image: { header: { ...image.header, sequence: s }, bytes: image.bytes }, sequence: s, chainHash: chainHash(s) });
      store.save(s, stored);
    }
    assert.deepEqual(store.list().map((e) => e.sequence), [...sequences].reverse(), 'newest first, sorted as numbers');
    assert.deepEqual(store.prune(), [2_000, 100]);
    assert.deepEqual(store.list().map((e) => e.sequence), [5_000_000, 400_000, 30_000]);
    assert.equal(store.newest()!.sequence, 5_000_000);
    assert.equal(readdirSync(store.directory).length, 3, 'only the kept snapshots remain');
    const loaded = store.load(400_000);
    assert.equal(loaded.sequence, 400_000);
    assert.deepEqual(Buffer.from(loaded.chainHash), chainHash(400_000));
    assert.throws(() => store.load(100), (e: unknown) => isSnapshotError(e, 'SNAPSHOT_NOT_FOUND'));
    assert.throws(() => new SnapshotStore(join(dir, 'x'), { keep: 0 }), /keep/);
  });

  it('a file holding another sequence than its name is refused', () => {
    const store = new SnapshotStore(join(dir, 'renamed'));
    const matcher = engineAfter(100);
    const s = matcher.out.sequence;
    store.save(s + 1, encodeSnapshot({ image: cutImage(matcher), sequence: s, chainHash: chainHash(s) }));
    assert.throws(() => store.load(s + 1), /holds the snapshot of sequence/);
  });
});

describe('image arena (the matcher cuts into one reused shared buffer)', () => {
  it('a cut into a stale arena gives the same bytes as a fresh cut; busy falls back to a fresh buffer; a larger image grows it', () => {
    const control = ControlBlock.create();
    const arena = new ImageArena(control);
    const small = engineAfter(300);
    const first = cutImage(small, (size) => arena.take(size));
    assert.ok(first.bytes.buffer instanceof SharedArrayBuffer, 'cut into the shared arena');
    assert.equal(control.imageArenaBusy, true, 'the arena is marked busy while the image is read');
    const fallback = cutImage(small, (size) => arena.take(size));
    assert.ok(fallback.bytes.buffer instanceof ArrayBuffer, 'busy: a fresh transferable buffer instead');
    assert.deepEqual(Buffer.from(fallback.bytes), Buffer.from(first.bytes));
    control.imageArenaBusy = false;

    // Scribble over the whole arena: padding between parts must not leak into the next cut.
    new Uint8Array(first.bytes.buffer).fill(0xa5);
    const other = engineAfter(200, 11);
    const reused = cutImage(other, (size) => arena.take(size));
    assert.equal(reused.bytes.buffer, first.bytes.buffer, 'same arena reused');
    assert.deepEqual(Buffer.from(reused.bytes), Buffer.from(cutImage(other).bytes), 'identical to a cut into zeroed memory');
    assert.equal(restoredHash(reused), stateHash(other));
    control.imageArenaBusy = false;

    const large = engineAfter(3000, 5);
    const grown = cutImage(large, (size) => arena.take(size));
    assert.ok(grown.bytes.byteLength >= first.bytes.byteLength);
    assert.ok(grown.bytes.buffer.byteLength >= grown.bytes.byteLength);
    assert.equal(restoredHash(grown), stateHash(large));
  });
});

describe('snapshot writer', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'snapshot-writer-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('compresses and stores in a worker; the stored snapshot restores to the same state hash', async () => {
    const writer = SnapshotWriter.start({ directory: join(dir, 'a'), keep: 2 });
    try {
      const hashes = new Map<number, string>();
      const infos = [];
      for (const commands of [500, 1000, 1500]) {
        const matcher = engineAfter(commands);
        const image = cutImage(matcher);
        const imageBytes = image.bytes.length;
        const sequence = matcher.out.sequence;
        hashes.set(sequence, stateHash(matcher));
        const info = await writer.requestSnapshot(image, sequence, chainHash(sequence));
        assert.equal(image.bytes.byteLength, 0, 'the image bytes were transferred to the worker, not copied');
        assert.notEqual(info.threadId, threadId, 'encoded off this thread');
        assert.equal(info.imageBytes, imageBytes);
        assert.equal(info.risk, true);
        assert.ok(info.storedBytes > 0 && info.storedBytes < imageBytes);
        infos.push(info);
      }
      assert.deepEqual(infos[2]!.pruned, [infos[0]!.sequence], 'keep 2: the oldest was pruned');
      const store = new SnapshotStore(join(dir, 'a'));
      assert.deepEqual(store.list().map((e) => e.sequence), [infos[2]!.sequence, infos[1]!.sequence]);
      for (const { sequence } of store.list()) {
        const snapshot = store.load(sequence);
        assert.deepEqual(Buffer.from(snapshot.chainHash), chainHash(sequence));
        assert.equal(restoredHash(snapshot.image), hashes.get(sequence));
      }
    } finally {
      await writer.close();
    }
  });

  it('reads an image in a shared arena in place (no transfer, no copy) and stores it restorable', async () => {
    const writer = SnapshotWriter.start({ directory: join(dir, 'shared'), fsync: false });
    try {
      const control = ControlBlock.create();
      const arena = new ImageArena(control);
      const matcher = engineAfter(800);
      const image = cutImage(matcher, (size) => arena.take(size));
      const sequence = matcher.out.sequence;
      const info = await writer.requestSnapshot(image, sequence, chainHash(sequence));
      assert.equal(image.bytes.byteLength, info.imageBytes, 'a shared image is not detached');
      assert.ok(image.bytes.byteLength < image.bytes.buffer.byteLength, 'the arena has headroom beyond the image');
      assert.equal(restoredHash(new SnapshotStore(join(dir, 'shared')).load(sequence).image), stateHash(matcher));
    } finally {
      await writer.close();
    }
  });

  it('takes the chain hash as a promise: compresses meanwhile, seals when it arrives, fails if it never does', async () => {
    const writer = SnapshotWriter.start({ directory: join(dir, 'c'), fsync: false });
    try {
      const matcher = engineAfter(400);
      const s = matcher.out.sequence;
      let deliver!: (hash: Uint8Array) => void;
      const later = new Promise<Uint8Array>((resolve) => (deliver = resolve));
      const stored = writer.requestSnapshot(cutImage(matcher), s, later);
      setTimeout(() => deliver(chainHash(s)), 20);
      const info = await stored;
      assert.equal(info.chainHash, chainHash(s).toString('hex'));
      assert.equal(restoredHash(new SnapshotStore(join(dir, 'c')).load(s).image), stateHash(matcher));
      await assert.rejects(writer.requestSnapshot(cutImage(matcher), s, Promise.reject(new Error('journal failed'))),
        (e: unknown) => isSnapshotError(e, 'SNAPSHOT_NO_CHAIN_HASH') && /journal failed/.test(e.message));
      assert.equal(writer.pending, 0);
    } finally {
      await writer.close();
    }
  });

  it('bounds the queue: a request beyond it is refused with SNAPSHOT_BUSY; close waits for the rest', async () => {
    const writer = SnapshotWriter.start({ directory: join(dir, 'b'), maxQueued: 0, fsync: false });
    const matcher = engineAfter(300);
    const s = matcher.out.sequence;
    const first = writer.requestSnapshot(cutImage(matcher), s, chainHash(s));
    await assert.rejects(writer.requestSnapshot(cutImage(matcher), s, chainHash(s)), (e: unknown) => isSnapshotError(e, 'SNAPSHOT_BUSY'));
    await writer.close();
    assert.equal((await first).sequence, s, 'the accepted request completed before close returned');
    await assert.rejects(writer.requestSnapshot(cutImage(matcher), s, chainHash(s)), (e: unknown) => isSnapshotError(e, 'SNAPSHOT_WRITER_CLOSED'));
  });
});

describe('snapshot policy', () => {
  it('cuts every N events, every T ms, on demand and at shutdown, never when idle', () => {
    const policy = new SnapshotPolicy({ everyEvents: 1000, everyMillis: 60_000, startSequence: 500, startMillis: 0 });
    assert.equal(policy.due(1499, 59_999), null);
    assert.equal(policy.due(1500, 10), 'events');
    policy.cutTaken(1500, 10);
    assert.equal(policy.due(1501, 60_009), null);
    assert.equal(policy.due(1501, 60_010), 'time');
    policy.cutTaken(1501, 60_010);
    assert.equal(policy.due(1501, 999_999), null, 'no event since the last cut: nothing to snapshot');
    policy.requestNow();
    assert.equal(policy.due(1501, 60_011), 'demand');
    policy.cutTaken(1501, 60_011);
    assert.equal(policy.dueAtShutdown(1501), null);
    assert.equal(policy.dueAtShutdown(1502), 'shutdown');
  });

  it('has named defaults, a clock that starts at the first check, and cadences that can be turned off', () => {
    const policy = new SnapshotPolicy();
    assert.equal(policy.everyEvents, DEFAULT_SNAPSHOT_EVERY_EVENTS);
    assert.equal(policy.everyMillis, DEFAULT_SNAPSHOT_EVERY_MILLIS);
    assert.equal(policy.due(1, 1_700_000_000_000), null, 'the first check starts the clock');
    assert.equal(policy.due(2, 1_700_000_000_000 + DEFAULT_SNAPSHOT_EVERY_MILLIS), 'time');
    const eventsOnly = new SnapshotPolicy({ everyMillis: 0, everyEvents: 10 });
    assert.equal(eventsOnly.due(9, 1e15), null);
    assert.equal(eventsOnly.due(10, 0), 'events');
    assert.throws(() => new SnapshotPolicy({ everyEvents: -1 }), /everyEvents/);
  });
});
