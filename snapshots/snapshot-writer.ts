/**
 * Snapshot writing off the matcher thread.
 *
 * The matcher thread only cuts the image (core/state-image.ts cutImage: a copy of the used
 * prefixes of its typed arrays) and calls requestSnapshot(); the image bytes are moved to a
 * dedicated worker thread through the postMessage transfer list (no copy: the caller's
 * image.bytes is detached afterwards), where snapshot-writer-worker.ts compresses,
 * checksums, stores atomically and prunes. One worker, one snapshot at a time, in request
 * order; at most `maxQueued` (DEFAULT_MAX_QUEUED_SNAPSHOTS) wait, beyond that a request is
 * refused with SNAPSHOT_BUSY instead of piling images up in memory.
 *
 * The worker is unref'd while idle, so a forgotten writer never keeps a process alive, and
 * ref'd while a snapshot is in flight, so a requested snapshot is never silently dropped.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { StateImage } from '../core/state-image';
import { CHAIN_HASH_BYTES, CompressionOptions, DEFAULT_COMPRESSION, validateCompression } from './snapshot-format';
import { DEFAULT_SNAPSHOTS_KEPT } from './snapshot-store';
import { SnapshotError, SnapshotErrorCode } from './snapshot-error';

/** Snapshots that may wait behind the one being written. */
export const DEFAULT_MAX_QUEUED_SNAPSHOTS = 2;

export interface SnapshotWriterOptions {
  /** The store directory (SnapshotStore.forJournal(path).directory, or snapshotDirectoryFor(path)). */
  directory: string;
  keep?: number;
  fsync?: boolean;
  compression?: CompressionOptions;
  maxQueued?: number;
}

/** What the worker reports once a snapshot is stored. */
export interface SnapshotInfo {
  sequence: number;
  chainHash: string;
  risk: boolean;
  path: string;
  storedBytes: number;
  imageBytes: number;
  compression: string;
  level: number;
  /** Compression + checksum, in the worker. */
  encodeMillis: number;
  /** Write + fsync + rename + prune, in the worker. */
  storeMillis: number;
  /** Sequences of the older snapshots deleted by this save. */
  pruned: number[];
  /** The thread that encoded and stored it (the writer's worker). */
  threadId: number;
}

/** @internal worker protocol */
export interface WriterWorkerData {
  directory: string;
  keep: number;
  fsync: boolean;
  compression: CompressionOptions;
}
/** @internal */
export type WriterMessage =
  | { type: 'image'; id: number; chainHash: Uint8Array | null; header: StateImage['header']; bytes: ArrayBuffer | SharedArrayBuffer; byteLength: number }
  | { type: 'hash'; id: number; chainHash: Uint8Array }
  | { type: 'cancel'; id: number };
/** @internal */
export type WriterResponse =
  | { id: number; ok: true; info: SnapshotInfo }
  | { id: number; ok: false; code: SnapshotErrorCode | undefined; message: string };

interface Waiting {
  resolve: (info: SnapshotInfo) => void;
  reject: (error: Error) => void;
}

export class SnapshotWriter {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Waiting>();
  private readonly maxQueued: number;
  private nextId = 1;
  private closed = false;
  private failure: SnapshotError | undefined;

  static start(options: SnapshotWriterOptions): SnapshotWriter {
    return new SnapshotWriter(options);
  }

  private constructor(options: SnapshotWriterOptions) {
    const keep = options.keep ?? DEFAULT_SNAPSHOTS_KEPT;
    if (!Number.isSafeInteger(keep) || keep < 1) throw new SnapshotError('SNAPSHOT_BAD_OPTION', `keep must be a positive integer, got ${keep}`);
    this.maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED_SNAPSHOTS;
    if (!Number.isSafeInteger(this.maxQueued) || this.maxQueued < 0) throw new SnapshotError('SNAPSHOT_BAD_OPTION', 'maxQueued must be a non-negative integer');
    const data: WriterWorkerData = {
      directory: options.directory,
      keep,
      fsync: options.fsync ?? true,
      compression: validateCompression(options.compression ?? DEFAULT_COMPRESSION),
    };
    this.worker = new Worker(path.join(__dirname, 'snapshot-writer-worker.js'), { workerData: data });
    this.worker.unref();
    this.worker.on('message', (response: WriterResponse) => this.settle(response));
    this.worker.on('error', (error) => this.fail(`worker failed: ${error.message}`));
    this.worker.on('exit', (code) => this.fail(`worker exited (code ${code})`));
  }

  /** Snapshots requested and not yet stored. */
  get pending(): number {
    return this.waiting.size;
  }

  /**
   * Hands a cut image to the worker; resolves once it is compressed, checksummed and stored.
   * `chainHash` is the journal hash of the record ending at `sequence` (genesis zeros at 0).
   * It may be a promise (e.g. chainHashAt(journal, sequence) once the journal has written S):
   * the worker compresses meanwhile and seals when it arrives; if it rejects, so does this.
   * The image's bytes are transferred: image.bytes is detached (empty) when this returns —
   * unless they live in a SharedArrayBuffer, which the worker reads in place: the caller
   * must not change them before the promise settles.
   */
  requestSnapshot(image: StateImage, sequence: number, chainHash: Uint8Array | PromiseLike<Uint8Array>): Promise<SnapshotInfo> {
    if (this.closed || this.failure !== undefined) {
      return Promise.reject(this.failure ?? new SnapshotError('SNAPSHOT_WRITER_CLOSED', 'the snapshot writer is closed', sequence));
    }
    if (this.waiting.size > this.maxQueued) {
      return Promise.reject(new SnapshotError('SNAPSHOT_BUSY', `${this.waiting.size} snapshots in flight (limit ${this.maxQueued + 1}); skipped`, sequence));
    }
    if (image.header.sequence !== sequence) {
      return Promise.reject(new SnapshotError('SNAPSHOT_BAD_OPTION', `image was cut at sequence ${image.header.sequence}, not ${sequence}`, sequence));
    }
    const known = chainHash instanceof Uint8Array ? chainHash : null;
    if (known !== null && known.length !== CHAIN_HASH_BYTES) {
      return Promise.reject(new SnapshotError('SNAPSHOT_BAD_OPTION', `chain hash must be ${CHAIN_HASH_BYTES} bytes`, sequence));
    }
    const view = image.bytes;
    // A shared image (the matcher's arena) is read in place until the promise settles; a whole
    // ArrayBuffer is transferred; a view into a larger ArrayBuffer is copied rather than
    // detaching its neighbours.
    const inPlace = view.byteOffset === 0 && (view.buffer instanceof SharedArrayBuffer || view.byteLength === view.buffer.byteLength);
    const buffer = inPlace ? view.buffer : view.slice().buffer;
    const transfer = buffer instanceof ArrayBuffer ? [buffer] : [];
    const id = this.nextId++;
    const message: WriterMessage = { type: 'image', id, chainHash: known === null ? null : new Uint8Array(known), header: image.header, bytes: buffer, byteLength: view.byteLength };
    const promise = new Promise<SnapshotInfo>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    if (this.waiting.size === 1) this.worker.ref();
    this.worker.postMessage(message, transfer);
    if (known === null) {
      Promise.resolve(chainHash).then(
        (hash) => {
          if (!this.waiting.has(id)) return;
          if (!(hash instanceof Uint8Array) || hash.length !== CHAIN_HASH_BYTES) {
            this.worker.postMessage({ type: 'cancel', id } satisfies WriterMessage);
            this.settle({ id, ok: false, code: 'SNAPSHOT_BAD_OPTION', message: `chain hash must be ${CHAIN_HASH_BYTES} bytes` });
          } else {
            this.worker.postMessage({ type: 'hash', id, chainHash: new Uint8Array(hash) } satisfies WriterMessage);
          }
        },
        (error: unknown) => {
          if (!this.waiting.has(id)) return;
          this.worker.postMessage({ type: 'cancel', id } satisfies WriterMessage);
          this.settle({ id, ok: false, code: 'SNAPSHOT_NO_CHAIN_HASH', message: `the chain hash for ${sequence} did not arrive: ${(error as Error).message}` });
        },
      );
    }
    return promise;
  }

  /** Waits for every requested snapshot, then stops the worker. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const outstanding = [...this.waiting.values()].map((w) => new Promise<void>((done) => {
      const { resolve, reject } = w;
      w.resolve = (info) => { resolve(info); done(); };
      w.reject = (error) => { reject(error); done(); };
    }));
    await Promise.all(outstanding);
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }

  private settle(response: WriterResponse): void {
    const waiter = this.waiting.get(response.id);
    if (waiter === undefined) return;
    this.waiting.delete(response.id);
    if (this.waiting.size === 0) this.worker.unref();
    if (response.ok) waiter.resolve(response.info);
    else waiter.reject(new SnapshotError(response.code ?? 'SNAPSHOT_WRITER_CLOSED', response.message));
  }

  private fail(message: string): void {
    this.failure ??= new SnapshotError('SNAPSHOT_WRITER_CLOSED', message);
    for (const waiter of this.waiting.values()) waiter.reject(this.failure);
    this.waiting.clear();
  }
}
