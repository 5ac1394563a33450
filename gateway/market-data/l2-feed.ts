/**
 * The L2 (price level) feed: per instrument, the top `depth` levels per side.
 *
 * Updates are per command: after all events of a command are applied to the view,
 * the top `depth` levels of every instrument the command touched are compared with
 * what was last published, and one `update` message lists every difference — a
 * level's new quantity and order count, or its deletion (which also covers a level
 * pushed below `depth`; a level rising into the top `depth` arrives as a `set`).
 * Clients therefore never see an intermediate state of a command, and a client
 * book is exactly the published top `depth`. Each update carries the next
 * per-instrument L2 sequence number and the checksum of the resulting book.
 *
 * The published book is kept as arrays per instrument, so `snapshot()` is always
 * consistent with the sequence it reports, even when called in the middle of a command.
 * An instrument nobody watches keeps the same books and sequences, but no change lists
 * or messages are built for it, and its checksum is computed only when asked for.
 */
import { Side } from '../../core/codes';
import { CHECKSUM_LEVELS, bookChecksumArrays } from './checksum';
import { ALWAYS_WATCHED, L2Change, L2Level, L2Snapshot, L2Update, MessageSink, Watching } from './messages';
import type { OrderBookView } from './order-book-view';

export const L2_DEPTH_DEFAULT = 50;

class PublishedSide {
  readonly prices: Float64Array;
  readonly quantities: Float64Array;
  readonly counts: Float64Array;
  count = 0;
  constructor(depth: number) {
    this.prices = new Float64Array(depth);
    this.quantities = new Float64Array(depth);
    this.counts = new Float64Array(depth);
  }
  /** Same levels as `other` (both best first)? */
  equals(other: PublishedSide): boolean {
    if (this.count !== other.count) return false;
    for (let i = 0; i < this.count; i++) {
      if (this.prices[i] !== other.prices[i] || this.quantities[i] !== other.quantities[i] || this.counts[i] !== other.counts[i]) return false;
    }
    return true;
  }
  levels(): L2Level[] {
    const out: L2Level[] = [];
    for (let i = 0; i < this.count; i++) out.push({ price: this.prices[i], quantity: this.quantities[i], count: this.counts[i] });
    return out;
  }
}

class PublishedBook {
  bids: PublishedSide;
  asks: PublishedSide;
  sequence = 0;
  timestamp = 0;
  /** Of the published levels, unless checksumStale. */
  private checksumValue: number;
  private checksumStale = false;
  constructor(depth: number) {
    this.bids = new PublishedSide(depth);
    this.asks = new PublishedSide(depth);
    this.checksumValue = bookChecksumArrays([], [], 0, [], [], 0);
  }
  get checksum(): number {
    if (this.checksumStale) {
      this.checksumValue = bookChecksumArrays(
        this.bids.prices, this.bids.quantities, this.bids.count, this.asks.prices, this.asks.quantities, this.asks.count,
      );
      this.checksumStale = false;
    }
    return this.checksumValue;
  }
  /** The levels changed: the checksum is computed when next read. */
  levelsChanged(): void {
    this.checksumStale = true;
  }
}

export class L2Feed {
  readonly depth: number;
  private readonly books: (PublishedBook | undefined)[] = [];
  /** The side levels are read into; swapped with the published side it is compared with. */
  private scratch: PublishedSide;

  constructor(
    private readonly view: OrderBookView,
    private readonly emit: MessageSink,
    options: { depth?: number } = {},
    private readonly watching: Watching = ALWAYS_WATCHED,
  ) {
    const depth = options.depth ?? L2_DEPTH_DEFAULT;
    if (!Number.isInteger(depth) || depth < CHECKSUM_LEVELS) {
      throw new RangeError(`l2 depth must be an integer >= ${CHECKSUM_LEVELS} (the checksum covers ${CHECKSUM_LEVELS} levels), got ${depth}`);
    }
    this.depth = depth;
    this.scratch = new PublishedSide(depth);
  }

  /** Publishes one coalesced update for every instrument the view marked dirty whose top levels changed. */
  endCommand(timestamp: number): void {
    const view = this.view;
    for (let i = 0; i < view.dirtyCount; i++) this.diff(view.dirty[i], timestamp);
  }

  /** Last published L2 sequence of an instrument (0: nothing yet). */
  sequence(instrument: number): number {
    return this.books[instrument]?.sequence ?? 0;
  }

  /** The published book (top `depth` levels per side) and the sequence it is valid at. */
  snapshot(instrument: number): L2Snapshot {
    const book = this.book(instrument);
    return {
      channel: 'l2', type: 'snapshot', instrument, sequence: book.sequence, timestamp: book.timestamp, depth: this.depth,
      bids: book.bids.levels(), asks: book.asks.levels(), checksum: book.checksum,
    };
  }

  private book(instrument: number): PublishedBook {
    let book = this.books[instrument];
    if (book === undefined) {
      book = new PublishedBook(this.depth);
      while (this.books.length < instrument) this.books.push(undefined);
      this.books[instrument] = book;
    }
    return book;
  }

  private diff(instrument: number, timestamp: number): void {
    const book = this.book(instrument);
    const watched = this.watching(instrument);
    let changes: L2Change[] | null = null;
    let changed = false;
    for (let side: number = Side.Buy; side <= Side.Sell; side++) {
      const published = side === Side.Buy ? book.bids : book.asks;
      const now = this.scratch;
      now.count = this.view.readLevels(instrument, side, this.depth, now.prices, now.quantities, now.counts);
      if (watched) changes = diffSide(side, published, now, changes);
      else changed = changed || !published.equals(now);
      // The levels just read become the published side; the old one is the next scratch (no copy).
      if (side === Side.Buy) book.bids = now;
      else book.asks = now;
      this.scratch = published;
    }
    if (changes === null && !changed) return;
    book.sequence++;
    book.timestamp = timestamp;
    book.levelsChanged();
    if (changes === null) return; // nobody watches: no message
    const update: L2Update = { channel: 'l2', type: 'update', instrument, sequence: book.sequence, timestamp, changes, checksum: book.checksum };
    this.emit(update);
  }
}

/** Merges two best-first level lists; appends the differences (allocating only when there are some). */
function diffSide(side: number, before: PublishedSide, after: PublishedSide, changes: L2Change[] | null): L2Change[] | null {
  const buy = side === Side.Buy;
  let i = 0;
  let j = 0;
  while (i < before.count || j < after.count) {
    const p = i < before.count ? before.prices[i] : NaN;
    const q = j < after.count ? after.prices[j] : NaN;
    if (j >= after.count || (i < before.count && (buy ? p > q : p < q))) {
      (changes ??= []).push({ action: 'delete', side, price: p, quantity: 0, count: 0 });
      i++;
    } else if (i >= before.count || (buy ? q > p : q < p)) {
      (changes ??= []).push({ action: 'set', side, price: q, quantity: after.quantities[j], count: after.counts[j] });
      j++;
    } else {
      if (before.quantities[i] !== after.quantities[j] || before.counts[i] !== after.counts[j]) {
        (changes ??= []).push({ action: 'set', side, price: q, quantity: after.quantities[j], count: after.counts[j] });
      }
      i++;
      j++;
    }
  }
  return changes;
}
