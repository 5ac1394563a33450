/**
 * A client's L2 book: a snapshot, then incremental updates in sequence, each
 * verified with its checksum (the reference for client SDKs; docs/market-data.md,
 * "Resync").
 */
import { Side } from '../../core/codes';
import { bookChecksum } from './checksum';
import type { L2Level, L2Snapshot, L2Update } from './messages';

/**
 * applied: the update is in the book and the checksum matched.
 * stale: sequence ≤ the book's (already included in the snapshot): ignored.
 * gap: sequence > the book's + 1: an update was missed; not applied — resync.
 * checksum-mismatch: applied, but the book differs from the publisher's — resync.
 * no-snapshot: no snapshot yet: ignored (buffer it, or resync).
 */
export type ApplyResult = 'applied' | 'stale' | 'gap' | 'checksum-mismatch' | 'no-snapshot';

export class L2ClientBook {
  /** Sequence of the last update included; −1 before the first snapshot. */
  sequence = -1;
  private readonly bidLevels = new Map<number, L2Level>();
  private readonly askLevels = new Map<number, L2Level>();

  constructor(readonly instrument: number) {}

  applySnapshot(snapshot: L2Snapshot): void {
    this.bidLevels.clear();
    this.askLevels.clear();
    for (const l of snapshot.bids) this.bidLevels.set(l.price, l);
    for (const l of snapshot.asks) this.askLevels.set(l.price, l);
    this.sequence = snapshot.sequence;
  }

  apply(update: L2Update): ApplyResult {
    if (this.sequence < 0) return 'no-snapshot';
    if (update.sequence <= this.sequence) return 'stale';
    if (update.sequence !== this.sequence + 1) return 'gap';
    for (const c of update.changes) {
      const levels = c.side === Side.Buy ? this.bidLevels : this.askLevels;
      if (c.action === 'delete') levels.delete(c.price);
      else levels.set(c.price, { price: c.price, quantity: c.quantity, count: c.count });
    }
    this.sequence = update.sequence;
    return this.checksum() === update.checksum ? 'applied' : 'checksum-mismatch';
  }

  /** Levels of a side, best first. */
  levels(side: number): L2Level[] {
    const levels = [...(side === Side.Buy ? this.bidLevels : this.askLevels).values()];
    return levels.sort((a, b) => (side === Side.Buy ? b.price - a.price : a.price - b.price));
  }

  checksum(): number {
    return bookChecksum(this.levels(Side.Buy), this.levels(Side.Sell));
  }
}
