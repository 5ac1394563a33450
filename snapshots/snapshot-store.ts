/**
 * Where snapshots live: a directory beside the journal file, `<journal path>.snapshots/`,
 * one file per snapshot named by its sequence (zero-padded, so names sort like numbers):
 *
 *   exchange.db.snapshots/snapshot-0000000001000000.exsnap
 *
 * Files rather than a table: the writer worker streams one big blob per snapshot and never
 * contends with the journal's sqlite write lock or its WAL; a snapshot can be copied,
 * inspected or deleted with ordinary tools.
 *
 * save() is atomic and durable: write `<name>.tmp-<pid>`, fsync it, rename it over the
 * final name, fsync the directory. A crash leaves either the old set of snapshots or the
 * new one, plus at worst a temp file that the next prune() removes. The newest `keep`
 * snapshots (DEFAULT_SNAPSHOTS_KEPT) are kept; prune() deletes older ones.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeSnapshot, Snapshot } from './snapshot-format';
import { SnapshotError } from './snapshot-error';

/** Snapshots kept by prune(): the newest and two to fall back to. */
export const DEFAULT_SNAPSHOTS_KEPT = 3;
export const SNAPSHOT_DIRECTORY_SUFFIX = '.snapshots';
export const SNAPSHOT_FILE_EXTENSION = '.exsnap';
/** Digits in a file name: Number.MAX_SAFE_INTEGER has 16. */
const SEQUENCE_DIGITS = 16;
const FILE_PATTERN = /^snapshot-(\d{16})\.exsnap$/;
const TEMP_MARKER = '.tmp-';

export interface SnapshotEntry {
  sequence: number;
  path: string;
  bytes: number;
}

export interface SnapshotStoreOptions {
  /** Snapshots kept by prune() (>= 1). */
  keep?: number;
  /** fsync file and directory on save (default true; tests may turn it off). */
  fsync?: boolean;
}

export function snapshotDirectoryFor(journalPath: string): string {
  return journalPath + SNAPSHOT_DIRECTORY_SUFFIX;
}

export function snapshotFileName(sequence: number): string {
  return `snapshot-${String(sequence).padStart(SEQUENCE_DIGITS, '0')}${SNAPSHOT_FILE_EXTENSION}`;
}

export class SnapshotStore {
  readonly directory: string;
  readonly keep: number;
  readonly fsync: boolean;

  /** The store beside a journal file: `<journalPath>.snapshots/`. */
  static forJournal(journalPath: string, options: SnapshotStoreOptions = {}): SnapshotStore {
    return new SnapshotStore(snapshotDirectoryFor(journalPath), options);
  }

  constructor(directory: string, options: SnapshotStoreOptions = {}) {
    const keep = options.keep ?? DEFAULT_SNAPSHOTS_KEPT;
    if (!Number.isSafeInteger(keep) || keep < 1) throw new SnapshotError('SNAPSHOT_BAD_OPTION', `keep must be a positive integer, got ${keep}`);
    this.directory = directory;
    this.keep = keep;
    this.fsync = options.fsync ?? true;
    fs.mkdirSync(directory, { recursive: true });
  }

  /** Stored snapshots, newest (highest sequence) first. Temp files are not listed. */
  list(): SnapshotEntry[] {
    const entries: SnapshotEntry[] = [];
    for (const name of fs.readdirSync(this.directory)) {
      const match = FILE_PATTERN.exec(name);
      if (match === null) continue;
      const file = path.join(this.directory, name);
      let bytes: number;
      try {
        bytes = fs.statSync(file).size;
      } catch {
        continue; // pruned meanwhile
      }
      entries.push({ sequence: Number(match[1]), path: file, bytes });
    }
    return entries.sort((a, b) => b.sequence - a.sequence);
  }

  newest(): SnapshotEntry | undefined {
    return this.list()[0];
  }

  pathOf(sequence: number): string {
    return path.join(this.directory, snapshotFileName(sequence));
  }

  /** The stored bytes (unverified). */
  read(sequence: number): Buffer {
    try {
      return fs.readFileSync(this.pathOf(sequence));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new SnapshotError('SNAPSHOT_NOT_FOUND', `no snapshot at ${sequence} in ${this.directory}`, sequence);
      throw error;
    }
  }

  /** Reads, verifies and decodes; throws SNAPSHOT_CORRUPT naming the file if it is damaged. */
  load(sequence: number): Snapshot {
    const stored = this.read(sequence);
    let snapshot: Snapshot;
    try {
      snapshot = decodeSnapshot(stored);
    } catch (error) {
      if (error instanceof SnapshotError) {
        throw new SnapshotError(error.code, `${snapshotFileName(sequence)}: ${error.message}`, sequence, error);
      }
      throw error;
    }
    if (snapshot.sequence !== sequence) {
      throw new SnapshotError('SNAPSHOT_CORRUPT', `${snapshotFileName(sequence)} holds the snapshot of sequence ${snapshot.sequence}`, sequence);
    }
    return snapshot;
  }

  /** Stores encoded snapshot bytes atomically (temp file, fsync, rename, directory fsync). */
  save(sequence: number, encoded: Uint8Array): SnapshotEntry {
    if (!Number.isSafeInteger(sequence) || sequence < 0) throw new SnapshotError('SNAPSHOT_BAD_OPTION', `sequence ${sequence} is not a non-negative safe integer`);
    const final = this.pathOf(sequence);
    const temp = `${final}${TEMP_MARKER}${process.pid}`;
    const fd = fs.openSync(temp, 'w');
    try {
      let written = 0;
      while (written < encoded.length) written += fs.writeSync(fd, encoded, written, encoded.length - written);
      if (this.fsync) fs.fsyncSync(fd);
    } catch (error) {
      fs.closeSync(fd);
      fs.rmSync(temp, { force: true });
      throw error;
    }
    fs.closeSync(fd);
    fs.renameSync(temp, final);
    if (this.fsync) this.syncDirectory();
    return { sequence, path: final, bytes: encoded.length };
  }

  /** Deletes all but the newest `keep` snapshots, and leftover temp files. Returns the sequences deleted. */
  prune(): number[] {
    const removed: number[] = [];
    for (const entry of this.list().slice(this.keep)) {
      fs.rmSync(entry.path, { force: true });
      removed.push(entry.sequence);
    }
    for (const name of fs.readdirSync(this.directory)) {
      if (name.includes(TEMP_MARKER)) fs.rmSync(path.join(this.directory, name), { force: true });
    }
    if (removed.length > 0 && this.fsync) this.syncDirectory();
    return removed;
  }

  /** Deletes one snapshot (operators, tests). */
  remove(sequence: number): void {
    fs.rmSync(this.pathOf(sequence), { force: true });
  }

  private syncDirectory(): void {
    const fd = fs.openSync(this.directory, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}
