/**
 * A direct reader of the sqlite journal file's B-tree pages (https://www.sqlite.org/fileformat.html),
 * for `verify` on large journals: better-sqlite3 costs 1-2 µs per row (a statement step, a JS
 * array and a fresh Buffer per row), about as much as hashing the record. Reading the table's
 * leaf pages straight from the file, in large sequential reads, and handing each record's body
 * to the checker as a view into the page costs a fraction of that, and splits cleanly across
 * workers: the main thread lists the leaf pages in key order (interior pages only), each
 * worker takes a contiguous run of leaves.
 *
 * Only used when the file alone holds the whole database: no write-ahead log content (the
 * -wal file absent or without frames). A live writer's WAL, an unexpected page layout or any
 * parse failure makes the caller fall back to better-sqlite3, which stays the reference.
 * A writer that commits mid-read is caught by the WAL having frames afterwards, or by the file's
 * change counter, size or modification time having moved (a checkpoint): the caller then
 * reads again through sqlite.
 */
import { RecordRow, RowCutter } from './row-records';
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';

/** The page layout is not what this reader understands: the caller falls back to sqlite. */
export class PageFormatError extends Error {
  constructor(message: string) {
    super(`${PAGE_READER_PREFIX}${message}`);
    this.name = 'PageFormatError';
  }
}
/** Errors cross worker threads as plain Errors: the message prefix identifies them. */
export const PAGE_READER_PREFIX = 'page reader: ';
export const isPageFormatError = (error: unknown) => error instanceof PageFormatError || (error instanceof Error && error.message.startsWith(PAGE_READER_PREFIX));

const TABLE_LEAF = 0x0d;
const TABLE_INTERIOR = 0x05;

export interface DatabaseGeometry {
  pageSize: number;
  usableSize: number;
  /** Change counter (header offset 24): bumped by every committed write to the file. */
  changeCounter: number;
  pageCount: number;
}

function readHeader(fd: number): DatabaseGeometry {
  const header = Buffer.alloc(100);
  if (readSync(fd, header, 0, 100, 0) !== 100 || header.toString('latin1', 0, 16) !== 'SQLite format 3\0') {
    throw new PageFormatError('not a sqlite database');
  }
  const raw = header.readUInt16BE(16);
  const pageSize = raw === 1 ? 65536 : raw;
  const reserved = header[20]!;
  const size = fstatSync(fd).size;
  return { pageSize, usableSize: pageSize - reserved, changeCounter: header.readUInt32BE(24), pageCount: Math.floor(size / pageSize) };
}

/** Whether the write-ahead log holds frames (then the file alone may be stale). */
export function walHasFrames(path: string): boolean {
  try {
    return statSync(`${path}-wal`).size > 32;
  } catch {
    return false;
  }
}

/** A sqlite varint at `at`: value and length. Values above 2^53 lose precision (rowids here are sequences). */
let varintLength = 0;
function varint(page: Buffer, at: number): number {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const byte = page[at + i]!;
    value = value * 128 + (byte & 0x7f);
    if (byte < 0x80) {
      varintLength = i + 1;
      return value;
    }
  }
  varintLength = 9;
  return value * 256 + page[at + 8]!;
}

/** Reads a big-endian signed integer of `bytes` bytes (serial types 1-6). */
function readInteger(data: Buffer, at: number, bytes: number): number {
  switch (bytes) {
    case 1: return data.readInt8(at);
    case 2: return data.readInt16BE(at);
    case 3: return data.readIntBE(at, 3);
    case 4: return data.readInt32BE(at);
    case 6: return data.readIntBE(at, 6);
    case 8: {
      const high = data.readInt32BE(at);
      const low = data.readUInt32BE(at + 4);
      // Exact below 2^53 (sequences, µs timestamps); larger values are not journal values anyway.
      return high * 4294967296 + low;
    }
    default: throw new PageFormatError(`bad integer width ${bytes}`);
  }
}

const INTEGER_BYTES = [0, 1, 2, 3, 4, 6, 8];

/** Bytes of a column value with the given serial type. */
function serialBytes(type: number): number {
  if (type >= 12) return Math.floor((type - 12) / 2);
  if (type <= 6) return INTEGER_BYTES[type]!;
  if (type === 7) return 8;
  if (type === 8 || type === 9) return 0;
  throw new PageFormatError(`reserved serial type ${type}`);
}

export type ColumnValue = number | Buffer | string | null;

/** Decodes a record (payload) into column values; blobs are views into `payload`. */
export function decodeRow(payload: Buffer): ColumnValue[] {
  const headerSize = varint(payload, 0);
  let h = varintLength;
  let d = headerSize;
  const values: ColumnValue[] = [];
  while (h < headerSize) {
    const type = varint(payload, h);
    h += varintLength;
    const bytes = serialBytes(type);
    if (d + bytes > payload.length) throw new PageFormatError('record overruns its payload');
    if (type === 0) values.push(null);
    else if (type <= 6) values.push(readInteger(payload, d, bytes));
    else if (type === 7) values.push(payload.readDoubleBE(d));
    else if (type === 8) values.push(0);
    else if (type === 9) values.push(1);
    else if (type % 2 === 0) values.push(payload.subarray(d, d + bytes));
    else values.push(payload.toString('utf8', d, d + bytes));
    d += bytes;
  }
  return values;
}

/** Reads pages of one database file; caches nothing but a read buffer. */
export class PageFile {
  readonly fd: number;
  readonly geometry: DatabaseGeometry;
  private readonly one: Buffer;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
    try {
      this.geometry = readHeader(this.fd);
    } catch (error) {
      closeSync(this.fd);
      throw error;
    }
    this.one = Buffer.alloc(this.geometry.pageSize);
  }

  close(): void {
    closeSync(this.fd);
  }

  /** Page `n` (1-based) into `target` at `offset` (a reused buffer by default). */
  page(n: number, target: Buffer = this.one, offset = 0): Buffer {
    const size = this.geometry.pageSize;
    if (n < 1 || n > this.geometry.pageCount) throw new PageFormatError(`page ${n} is outside the file`);
    if (readSync(this.fd, target, offset, size, (n - 1) * size) !== size) throw new PageFormatError(`short read of page ${n}`);
    return offset === 0 && target.length === size ? target : target.subarray(offset, offset + size);
  }

  /** Reads pages first..first+count-1 (contiguous in the file) in one call. */
  pages(first: number, count: number, target: Buffer): void {
    const size = this.geometry.pageSize;
    const bytes = count * size;
    if (readSync(this.fd, target, 0, bytes, (first - 1) * size) !== bytes) throw new PageFormatError(`short read of pages ${first}..${first + count - 1}`);
  }

  /** The local part and overflow of a table-leaf cell's payload, assembled (a view when it is all local). */
  payload(page: Buffer, cell: number): { rowid: number; payload: Buffer } {
    const total = varint(page, cell);
    let at = cell + varintLength;
    const rowid = varint(page, at);
    at += varintLength;
    const usable = this.geometry.usableSize;
    const maxLocal = usable - 35;
    if (total <= maxLocal) {
      if (at + total > page.length) throw new PageFormatError('cell overruns its page');
      return { rowid, payload: page.subarray(at, at + total) };
    }
    const minLocal = Math.floor(((usable - 12) * 32) / 255) - 23;
    let local = minLocal + ((total - minLocal) % (usable - 4));
    if (local > maxLocal) local = minLocal;
    const assembled = Buffer.allocUnsafe(total);
    page.copy(assembled, 0, at, at + local);
    let filled = local;
    let next = page.readUInt32BE(at + local);
    const overflow = Buffer.alloc(this.geometry.pageSize);
    while (filled < total) {
      if (next === 0) throw new PageFormatError('overflow chain ends early');
      this.page(next, overflow);
      const take = Math.min(usable - 4, total - filled);
      overflow.copy(assembled, filled, 4, 4 + take);
      filled += take;
      next = overflow.readUInt32BE(0);
    }
    return { rowid, payload: assembled };
  }
}

/** Offsets of the cells of a b-tree page, in key order. */
function cellOffsets(page: Buffer, headerOffset: number): { type: number; cells: number[]; rightMost: number } {
  const type = page[headerOffset]!;
  if (type !== TABLE_LEAF && type !== TABLE_INTERIOR) throw new PageFormatError(`page type ${type} is not a table b-tree page`);
  const count = page.readUInt16BE(headerOffset + 3);
  const pointers = headerOffset + (type === TABLE_LEAF ? 8 : 12);
  const cells: number[] = new Array(count);
  for (let i = 0; i < count; i++) cells[i] = page.readUInt16BE(pointers + 2 * i);
  return { type, cells, rightMost: type === TABLE_INTERIOR ? page.readUInt32BE(headerOffset + 8) : 0 };
}

/** Leaf pages of the table rooted at `root`, in key order (reads interior pages only). */
export function leafPages(file: PageFile, root: number): number[] {
  return leafPagesWithBounds(file, root).leaves;
}

/**
 * Leaf pages in key order and, for each, the largest key it may hold (an interior cell's key
 * bounds its left subtree; the rightmost leaf is unbounded: Infinity). A key k lives in the
 * first leaf whose bound is >= k.
 */
export function leafPagesWithBounds(file: PageFile, root: number): { leaves: number[]; upperKeys: number[] } {
  const leaves: number[] = [];
  const upperKeys: number[] = [];
  // A table b-tree keeps every leaf at the same depth: find it down the leftmost path, then
  // read interior pages only (reading each leaf here too read the whole file: ~0.5 s per 2 GB).
  // A page that is not the leaf it should be is caught where the rows are read (journalRows).
  let leafDepth = 0;
  for (let n = root; ; leafDepth++) {
    if (leafDepth > 64) throw new PageFormatError('b-tree deeper than 64 levels');
    const page = file.page(n);
    const { type, cells, rightMost } = cellOffsets(page, n === 1 ? 100 : 0);
    if (type === TABLE_LEAF) break;
    n = cells.length > 0 ? page.readUInt32BE(cells[0]!) : rightMost;
  }
  const visit = (n: number, depth: number, upper: number) => {
    if (depth === leafDepth) {
      leaves.push(n);
      upperKeys.push(upper);
      return;
    }
    const page = Buffer.from(file.page(n));
    const { type, cells, rightMost } = cellOffsets(page, n === 1 ? 100 : 0);
    if (type !== TABLE_INTERIOR) throw new PageFormatError(`page ${n} at depth ${depth} is a leaf; leaves are at depth ${leafDepth}`);
    for (const cell of cells) visit(page.readUInt32BE(cell), depth + 1, varint(page, cell + 4));
    visit(rightMost, depth + 1, upper);
  };
  visit(root, 0, Infinity);
  return { leaves, upperKeys };
}

/**
 * The leaf pages, read a run at a time: leaves appended in key order usually sit in
 * consecutive pages, so a run is one read call. Yields each page's number and where it
 * starts in `buffer`. Two buffers alternate: a run's pages stay valid while the next run is
 * read (a reader may defer work on a run until it sees the next one), then are reused.
 */
function* leafPageRuns(file: PageFile, leaves: readonly number[]): Generator<{ page: number; buffer: Buffer; base: number }> {
  const size = file.geometry.pageSize;
  const RUN = Math.max(1, Math.floor((1 << 20) / size));
  const buffers = [Buffer.alloc(RUN * size), Buffer.alloc(RUN * size)];
  const at = { page: 0, buffer: buffers[0]!, base: 0 };
  let i = 0;
  let runs = 0;
  while (i < leaves.length) {
    const buffer = buffers[runs++ & 1]!;
    at.buffer = buffer;
    let run = 1;
    while (run < RUN && i + run < leaves.length && leaves[i + run] === leaves[i]! + run) run++;
    file.pages(leaves[i]!, run, buffer);
    for (let r = 0; r < run; r++) {
      at.page = leaves[i + r]!;
      at.base = r * size;
      yield at;
    }
    i += run;
  }
}

/** Rows of the leaf pages (each a [rowid, payload] with payload valid until the next row). */
export function* leafRows(file: PageFile, leaves: readonly number[]): Generator<[number, Buffer]> {
  const size = file.geometry.pageSize;
  for (const { page: n, buffer, base } of leafPageRuns(file, leaves)) {
    const page = buffer.subarray(base, base + size);
    const { type, cells } = cellOffsets(page, n === 1 ? 100 : 0);
    if (type !== TABLE_LEAF) throw new PageFormatError(`page ${n} is not a leaf`);
    for (const cell of cells) {
      const { rowid, payload } = file.payload(page, cell);
      yield [rowid, payload];
    }
  }
}

/** Root page of a table, from the schema table (sqlite_master, rooted at page 1). */
export function tableRoot(file: PageFile, name: string): number {
  for (const [, payload] of leafRows(file, leafPages(file, 1))) {
    const [type, tableName, , rootpage] = decodeRow(payload);
    if (type === 'table' && tableName === name && typeof rootpage === 'number') return rootpage;
  }
  throw new PageFormatError(`no table ${name}`);
}

/** A journal row as the page reader sees it: `bytes` is the buffer the body lies in (a page run's, or an overflowing row's own). */
export type PageRow = RecordRow;

/**
 * Journal rows of the given leaves: journal(first_seq INTEGER PRIMARY KEY = rowid, last_seq,
 * ts, body). The row object is reused (valid until the next row); the body is a view that
 * stays valid through the next page run (leafPageRuns).
 */
export function* journalRows(file: PageFile, leaves: readonly number[]): Generator<PageRow> {
  const row: PageRow = { firstSequence: 0, lastSequence: 0, timestampMicros: 0, body: Buffer.alloc(0), bytes: Buffer.alloc(0), bodyStart: 0 };
  const size = file.geometry.pageSize;
  const maxLocal = file.geometry.usableSize - 35;
  for (const { page: n, buffer, base } of leafPageRuns(file, leaves)) {
    const headerOffset = base + (n === 1 ? 100 : 0);
    if (buffer[headerOffset] !== TABLE_LEAF) throw new PageFormatError(`page ${n} is not a table leaf`);
    const cells = buffer.readUInt16BE(headerOffset + 3);
    for (let c = 0; c < cells; c++) {
      const cell = base + buffer.readUInt16BE(headerOffset + 8 + 2 * c);
      const total = varint(buffer, cell);
      let at = cell + varintLength;
      const rowid = varint(buffer, at);
      at += varintLength;
      if (total > maxLocal) {
        // A payload spilling into overflow pages (a record of more than ~120 events): the general path.
        const page = Buffer.from(buffer.subarray(base, base + size));
        const { payload } = file.payload(page, cell - base);
        setRow(row, rowid, payload, 0, payload.length);
      } else {
        if (at + total > base + size) throw new PageFormatError(`cell of row ${rowid} overruns page ${n}`);
        setRow(row, rowid, buffer, at, at + total);
      }
      yield row;
    }
  }
}

/** Parses a journal record (first_seq alias NULL, last_seq, ts, body) in place: one allocation, the body view. */
function setRow(row: PageRow, rowid: number, data: Buffer, start: number, end: number): void {
  const headerSize = varint(data, start);
  let h = start + varintLength;
  const types = [0, 0, 0, 0];
  let columns = 0;
  while (h < start + headerSize) {
    if (columns === 4) throw new PageFormatError(`row ${rowid} has more than 4 columns`);
    types[columns++] = varint(data, h);
    h += varintLength;
  }
  const [firstType, lastType, tsType, bodyType] = types as [number, number, number, number];
  if (columns !== 4 || firstType !== 0 || lastType < 1 || lastType > 9 || lastType === 7 || tsType < 1 || tsType > 9 || tsType === 7 || bodyType < 12 || bodyType % 2 !== 0) {
    throw new PageFormatError(`row ${rowid} is not (first_seq, last_seq, ts, body)`);
  }
  let d = start + headerSize;
  const integer = (type: number): number => {
    if (type === 8) return 0;
    if (type === 9) return 1;
    const bytes = INTEGER_BYTES[type]!;
    const value = readInteger(data, d, bytes);
    d += bytes;
    return value;
  };
  row.firstSequence = rowid;
  row.lastSequence = integer(lastType);
  row.timestampMicros = integer(tsType);
  const bodyBytes = (bodyType - 12) / 2;
  if (d + bodyBytes !== end) throw new PageFormatError(`row ${rowid}: the body does not end the record`);
  row.body = data.subarray(d, end);
  row.bytes = data;
  row.bodyStart = d;
}

/**
 * The records of the given leaves' rows, one per item (a packed row holds several:
 * journal/row-records.ts), each shaped like a one-record row. Reused object, as journalRows.
 */
export function* journalRecordRows(file: PageFile, leaves: readonly number[]): Generator<PageRow> {
  const record: PageRow = { firstSequence: 0, lastSequence: 0, timestampMicros: 0, body: Buffer.alloc(0), bytes: Buffer.alloc(0), bodyStart: 0 };
  const cutter = new RowCutter();
  for (const row of journalRows(file, leaves)) {
    cutter.start(row.firstSequence, row.lastSequence, row.timestampMicros, row.bytes, row.bodyStart, row.bodyStart + row.body.length);
    while (cutter.next(record)) yield record;
  }
}

/** What the main thread needs to split a journal across workers. */
export interface JournalLayout {
  leaves: number[];
  /** Largest first_seq each leaf may hold (see leafPagesWithBounds). */
  upperKeys: number[];
  changeCounter: number;
  /** The file's size and modification time: any write to it (a checkpoint) changes them. */
  size: number;
  mtimeMs: number;
}

/** Lists the journal table's leaf pages, or undefined when the file alone is not authoritative. */
export function journalLayout(path: string): JournalLayout | undefined {
  if (walHasFrames(path)) return undefined;
  let file: PageFile | undefined;
  try {
    file = new PageFile(path);
    const stats = fstatSync(file.fd);
    const { leaves, upperKeys } = leafPagesWithBounds(file, tableRoot(file, 'journal'));
    return { leaves, upperKeys, changeCounter: file.geometry.changeCounter, size: stats.size, mtimeMs: stats.mtimeMs };
  } catch (error) {
    if (error instanceof PageFormatError) return undefined;
    throw error;
  } finally {
    file?.close();
  }
}

/** Whether the file is still the one that was laid out (no writer committed meanwhile). */
export function layoutStillValid(path: string, layout: JournalLayout): boolean {
  if (walHasFrames(path)) return false;
  const file = new PageFile(path);
  try {
    const stats = fstatSync(file.fd);
    return file.geometry.changeCounter === layout.changeCounter && stats.size === layout.size && stats.mtimeMs === layout.mtimeMs;
  } finally {
    file.close();
  }
}
