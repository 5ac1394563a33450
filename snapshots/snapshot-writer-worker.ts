/**
 * The snapshot writer's thread body (started by snapshot-writer.ts): compresses the images
 * the matcher thread cut as they arrive, seals each with its chain hash and checksum as soon
 * as that hash is known (it may follow the image: the journal thread computes it once the
 * record ending at S is written), stores atomically and prunes the store to its `keep`
 * newest. Everything slow about a snapshot happens here.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { CompressedImage, CompressionOptions, compressImage, sealSnapshot } from './snapshot-format';
import { SnapshotStore } from './snapshot-store';
import { SnapshotError } from './snapshot-error';
import type { SnapshotInfo, WriterMessage, WriterResponse, WriterWorkerData } from './snapshot-writer';

const data = workerData as WriterWorkerData;
const store = new SnapshotStore(data.directory, { keep: data.keep, fsync: data.fsync });
const compression: CompressionOptions = data.compression;
const port = parentPort!;

interface Compressed {
  compressed: CompressedImage;
  compressMillis: number;
}
/** Images compressed and waiting for their chain hash, by request id. */
const waitingForHash = new Map<number, Compressed>();
/** Chain hashes that arrived before their image was compressed (cannot happen with in-order delivery; kept for safety). */
const earlyHashes = new Map<number, Uint8Array>();

function failure(id: number, error: unknown): WriterResponse {
  const code = error instanceof SnapshotError ? error.code : undefined;
  const message = (error as Error).message;
  // SnapshotError prefixes its code; the main thread re-creates the error and adds it again.
  return { id, ok: false, code, message: code !== undefined && message.startsWith(`${code}: `) ? message.slice(code.length + 2) : message };
}

function seal(id: number, entry: Compressed, chainHash: Uint8Array): WriterResponse {
  try {
    const started = performance.now();
    const encoded = sealSnapshot(entry.compressed, chainHash);
    const sealed = performance.now();
    const sequence = entry.compressed.header.sequence;
    const saved = store.save(sequence, encoded);
    const pruned = store.prune();
    const info: SnapshotInfo = {
      sequence,
      chainHash: Buffer.from(chainHash).toString('hex'),
      risk: (entry.compressed.header.scalars as { risk?: unknown }).risk !== undefined,
      path: saved.path,
      storedBytes: saved.bytes,
      imageBytes: entry.compressed.imageBytes,
      compression: entry.compressed.compression,
      level: entry.compressed.level,
      encodeMillis: entry.compressMillis + (sealed - started),
      storeMillis: performance.now() - sealed,
      pruned,
      threadId,
    };
    return { id, ok: true, info };
  } catch (error) {
    return failure(id, error);
  }
}

port.on('message', (message: WriterMessage) => {
  switch (message.type) {
    case 'image': {
      let entry: Compressed;
      try {
        const started = performance.now();
        const compressed = compressImage({ header: message.header, bytes: new Uint8Array(message.bytes, 0, message.byteLength) }, compression);
        entry = { compressed, compressMillis: performance.now() - started };
      } catch (error) {
        port.postMessage(failure(message.id, error));
        return;
      }
      const hash = message.chainHash ?? earlyHashes.get(message.id);
      earlyHashes.delete(message.id);
      if (hash !== undefined) port.postMessage(seal(message.id, entry, hash));
      else waitingForHash.set(message.id, entry);
      return;
    }
    case 'hash': {
      const entry = waitingForHash.get(message.id);
      if (entry === undefined) {
        earlyHashes.set(message.id, message.chainHash);
        return;
      }
      waitingForHash.delete(message.id);
      port.postMessage(seal(message.id, entry, message.chainHash));
      return;
    }
    case 'cancel':
      waitingForHash.delete(message.id);
      earlyHashes.delete(message.id);
      return;
  }
});
