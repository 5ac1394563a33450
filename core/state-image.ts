/**
 * The snapshot image: the engine's whole state cut into one byte buffer plus a
 * small JSON header, and restored from it.
 *
 * Only primary state is copied, and only the used prefix of each pool (up to its
 * high-water mark), so a cut is a handful of memcpys: typed arrays make it cheap.
 * Derived indexes (order id -> slot, the client-order-id hash set) are rebuilt on
 * restore instead of copied, which keeps big hash tables out of the image.
 *
 * The state hash is SHA-256 over the image, so "same state" means "same bytes":
 * two engines that processed the same commands, or one restored from the other's
 * image, hash equal.
 */
import { createHash } from 'node:crypto';
import { Matcher, EngineOptions } from './matcher';
import { NO_SLOT, OrderStatus } from './order-pool';

/**
 * Layout version of the image; bumped whenever a part is added, removed or changes meaning.
 * 2: client order ids as tagged 64-word rings (clientOrderIds.tags added, bits resized).
 * 3: margin floors (positions.maintenanceFloor / initialFloor, accounts.maintenanceFloor /
 *    initialFloor / evaluateEveryMove); triggers are integer marks.
 * 4: position rows interleaved: positions.rows (POSITION_STRIDE doubles per row, positions.ts)
 *    replaces the per-field positions.* arrays and the pending* bucket arrays.
 */
export const STATE_IMAGE_VERSION = 4;

type Typed = Float64Array | Int32Array | Uint8Array;

/** One array (prefix) of the image. */
export interface ImagePart {
  readonly name: string;
  readonly array: Typed;
  /** Elements to copy (the used prefix). */
  readonly length: number;
}

/** A component whose state goes into the image (the matcher and the risk layer). */
export interface ImageComponent {
  imageParts(): ImagePart[];
  imageScalars(): Record<string, unknown>;
  restoreScalars(scalars: Record<string, unknown>): void;
  /** Rebuild derived indexes after the arrays were copied back. */
  rebuildIndexes(): void;
}

export interface StateImage {
  readonly header: {
    version: number;
    sequence: number;
    limits: Matcher['limits'];
    scalars: Record<string, unknown>;
    parts: Array<{ name: string; type: string; offset: number; length: number }>;
  };
  readonly bytes: Uint8Array;
}

function partsOf(matcher: Matcher): { parts: ImagePart[]; scalars: Record<string, unknown> } {
  const parts = matcher.imageParts();
  const scalars: Record<string, unknown> = { matcher: matcher.imageScalars() };
  if (matcher.risk !== null) {
    parts.push(...matcher.risk.imageParts());
    scalars.risk = matcher.risk.imageScalars();
  }
  return { parts, scalars };
}

/**
 * Cuts the image between commands (flush first so no event is pending). `target` supplies
 * the bytes to cut into (core/runtime/image-arena.ts reuses one buffer); it may hold stale
 * data, so alignment padding is zeroed: the same state always gives the same bytes.
 */
export function cutImage(matcher: Matcher, target: (size: number) => Uint8Array = (size) => new Uint8Array(size)): StateImage {
  const { parts, scalars } = partsOf(matcher);
  let size = 0;
  const layout = parts.map((p) => {
    size = align8(size);
    const entry = { name: p.name, type: p.array.constructor.name, offset: size, length: p.length };
    size += p.length * p.array.BYTES_PER_ELEMENT;
    return entry;
  });
  const bytes = target(size);
  if (bytes.length !== size) throw new Error(`cutImage: target gave ${bytes.length} bytes for an image of ${size}`);
  let end = 0;
  parts.forEach((p, i) => {
    const start = layout[i].offset;
    if (start > end) bytes.fill(0, end, start);
    const length = p.length * p.array.BYTES_PER_ELEMENT;
    bytes.set(new Uint8Array(p.array.buffer, p.array.byteOffset, length), start);
    end = start + length;
  });
  return {
    header: { version: STATE_IMAGE_VERSION, sequence: matcher.out.sequence, limits: matcher.limits, scalars, parts: layout },
    bytes,
  };
}

/**
 * A new engine holding the image's state. `options` supplies what is not state
 * (the sink, a fresh risk layer of the same kind, echo); limits come from the image.
 */
export function restoreImage(image: StateImage, options: EngineOptions = {}): Matcher {
  if (image.header.version !== STATE_IMAGE_VERSION) {
    throw new Error(`state image version ${image.header.version} is not readable by this build (expects ${STATE_IMAGE_VERSION})`);
  }
  const matcher = new Matcher({ ...options, limits: image.header.limits });
  // Scalars first: they recreate the structures (instruments and their ladders)
  // whose arrays the image then fills.
  const scalars = image.header.scalars as { matcher: Record<string, unknown>; risk?: Record<string, unknown> };
  matcher.restoreScalars(scalars.matcher);
  if (matcher.risk !== null) {
    if (scalars.risk === undefined) throw new Error('state image has no risk layer state');
    matcher.risk.restoreScalars(scalars.risk);
  }
  const { parts } = partsOf(matcher);
  if (parts.length !== image.header.parts.length) throw new Error('state image: component layout differs from this engine (risk layer on/off?)');
  parts.forEach((p, i) => {
    const entry = image.header.parts[i];
    if (entry.name !== p.name || entry.type !== p.array.constructor.name || entry.length !== p.length) {
      throw new Error(`state image: part ${i} is ${entry.name}:${entry.type}[${entry.length}], engine expects ${p.name}:${p.array.constructor.name}[${p.length}]`);
    }
    const bytes = entry.length * p.array.BYTES_PER_ELEMENT;
    new Uint8Array(p.array.buffer, p.array.byteOffset, bytes).set(image.bytes.subarray(entry.offset, entry.offset + bytes));
  });
  matcher.rebuildIndexes();
  if (matcher.risk !== null) matcher.risk.rebuildIndexes();
  return matcher;
}

/** SHA-256 (hex) over the whole state: header scalars and every array prefix. */
export function stateHash(matcher: Matcher): string {
  const image = cutImage(matcher);
  return createHash('sha256').update(JSON.stringify(image.header)).update(image.bytes).digest('hex');
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Checks the invariants that tie the pools together (O(n): tests and verify mode only). */
export function verifyIntegrity(matcher: Matcher): void {
  const { orders, levels, orderIndex } = matcher;
  let live = 0;
  for (let slot = 0; slot < orders.highWater; slot++) {
    const status = orders.status[slot];
    if (status === OrderStatus.Free) continue;
    live++;
    if (orderIndex.get(orders.orderId[slot]) !== slot) throw new Error(`integrity: order ${orders.orderId[slot]} not indexed at slot ${slot}`);
    if (orders.leaves[slot] <= 0) throw new Error(`integrity: live order ${orders.orderId[slot]} has no open quantity`);
    const level = orders.level[slot];
    if (level === NO_SLOT) throw new Error(`integrity: live order ${orders.orderId[slot]} is on no level`);
  }
  if (live !== orders.used) throw new Error(`integrity: ${live} live slots but pool says ${orders.used}`);
  if (orderIndex.size !== live) throw new Error(`integrity: index holds ${orderIndex.size} ids for ${live} live orders`);
  let onLevels = 0;
  for (let l = 0; l < levels.highWater; l++) {
    if (levels.orderCount[l] === 0) continue;
    let count = 0;
    let quantity = 0;
    for (let s = levels.head[l]; s !== NO_SLOT; s = orders.next[s]) {
      count++;
      quantity += orders.status[s] === OrderStatus.PendingStop ? orders.quantity[s] : orders.leaves[s];
    }
    if (count !== levels.orderCount[l]) throw new Error(`integrity: level ${l} counts ${levels.orderCount[l]} but links ${count}`);
    if (quantity !== levels.quantity[l]) throw new Error(`integrity: level ${l} quantity ${levels.quantity[l]} != ${quantity}`);
    onLevels += count;
  }
  if (onLevels !== live) throw new Error(`integrity: ${onLevels} orders on levels, ${live} live`);
}
